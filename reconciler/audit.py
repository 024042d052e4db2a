"""``reconciler audit``: read the whole account (read-only) and evaluate the security rules on it.

Reads, all through a read-only ``ClientFactory`` (its guard refuses anything that writes):

- everything the plan reads, for every principal, bucket and notebook (not only the named or owned
  ones): the kinds' reads with a scope that names everything;
- the documents of the AWS managed policies attached anywhere (``GetPolicy`` + ``GetPolicyVersion``);
- ``iam:GetAccountSummary`` (``AccountMFAEnabled``: the root user's MFA);
- whether each user with a console password has MFA: the credential report's ``mfa_active`` (the report the
  plan's read of users asks for, two calls for the account, up to 4 hours old), ``iam:ListMFADevices`` for each
  such user the report does not list or lists without MFA (a finding is always confirmed), or for each when there
  are fewer than three;
- ``s3:GetBucketAcl`` for each bucket (public ACL grants).

With manifests, the account must be ``Settings.accountId`` (checked first), the ownership tag is the
manifests', ``Settings.exceptions`` apply, and drift of security-relevant fields of owned resources is
reported (from the plan's UPDATE changes).
"""

from __future__ import annotations

from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from botocore.exceptions import ClientError

from reconciler import clock
from reconciler.aws.account import READS as account_reads
from reconciler.aws.account import check_account
from reconciler.aws.answers import error_code
from reconciler.aws.clients import ClientFactory
from reconciler.aws.failures import translate_errors
from reconciler.aws.live import LiveState
from reconciler.aws.policies import READS as aws_policy_reads
from reconciler.aws.policies import AwsPolicy, attached_aws_policies, read_aws_policy
from reconciler.aws.scope import ReadScope
from reconciler.engine.differ import aws_policy_references
from reconciler.facts.model import AccountFacts, Drift
from reconciler.kinds import REGISTRY
from reconciler.kinds.bucket import live_buckets
from reconciler.kinds.read import read_account
from reconciler.kinds.user import live_users
from reconciler.kinds.user.read import REPORT_FROM_USERS, ReportRow, credential_report
from reconciler.manifests.model import DEFAULT_OWNERSHIP_TAG, DesiredState
from reconciler.rules import evaluate_model
from reconciler.rules.findings import Report
from reconciler.rules.fromlive import from_live

__all__ = ["AUDIT_READS", "audit", "read_audit_facts"]

PUBLIC_GRANTEES = (
    "http://acs.amazonaws.com/groups/global/AllUsers",
    "http://acs.amazonaws.com/groups/global/AuthenticatedUsers",
)

#: The IAM actions the audit needs (all reads): the guard's, the plan's read of every kind, the AWS managed
#: policies', the account summary (the root user's MFA), and what the kinds' audit reads add.
AUDIT_READS: tuple[str, ...] = tuple(
    dict.fromkeys(
        [
            *account_reads,
            *(action for kind in REGISTRY.values() for action in kind.reads),
            *aws_policy_reads,
            "iam:GetAccountSummary",
            *(action for kind in REGISTRY.values() for action in kind.audit_reads),
        ]
    )
)


@dataclass(frozen=True)
class _EverythingScope(ReadScope):
    """A read scope that names every resource: the audit looks at all of them in detail."""

    def named(self, kind: str, name: str) -> bool:
        return True


@dataclass(frozen=True)
class AuditFacts:
    """What the audit reads beyond the ``LiveState``."""

    root_mfa: bool | None
    mfa_devices: dict[str, int]
    public_acl_buckets: frozenset[str]
    aws_policies: dict[str, AwsPolicy]


def _root_mfa(factory: ClientFactory) -> bool | None:
    with translate_errors("reading IAM (GetAccountSummary)"):
        summary = factory.client("iam").get_account_summary()["SummaryMap"]
    value = summary.get("AccountMFAEnabled")
    return None if value is None else bool(value)


def _mfa_devices(factory: ClientFactory, user: str) -> int:
    with translate_errors("reading IAM (ListMFADevices)"):
        pages = factory.client("iam").get_paginator("list_mfa_devices").paginate(UserName=user)
        return sum(len(page.get("MFADevices", [])) for page in pages)


def _mfa(factory: ClientFactory, user: str, report: Mapping[str, ReportRow] | None) -> int:
    """The user's MFA devices: at least one when the credential report says MFA is active, else counted."""
    row = report.get(user) if report is not None else None
    return 1 if row is not None and row.mfa_active else _mfa_devices(factory, user)


def _public_acl(factory: ClientFactory, bucket: str) -> bool:
    try:
        with translate_errors("reading S3 (GetBucketAcl)"):
            grants = factory.client("s3").get_bucket_acl(Bucket=bucket).get("Grants", [])
    except ClientError as exc:
        if error_code(exc) == "NoSuchBucket":
            return False
        raise
    return any(g.get("Grantee", {}).get("URI") in PUBLIC_GRANTEES for g in grants)


def read_audit_facts(factory: ClientFactory, live: LiveState, *, max_workers: int = 16) -> AuditFacts:
    """The reads the audit needs beyond the ``LiveState``, fanned out over a thread pool."""
    console_users = sorted(n for n, u in live_users(live).items() if u.console_access)
    buckets = sorted(n for n, b in live_buckets(live).items() if b.detailed)
    report = credential_report(factory) if len(console_users) >= REPORT_FROM_USERS else None
    with ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="audit") as pool:
        root = pool.submit(_root_mfa, factory)
        policies = {arn: pool.submit(read_aws_policy, factory, arn) for arn in attached_aws_policies(live)}
        devices = {user: pool.submit(_mfa, factory, user, report) for user in console_users}
        acls = {name: pool.submit(_public_acl, factory, name) for name in buckets}
        fetched = {arn: p for arn, f in policies.items() if (p := f.result()) is not None}
        return AuditFacts(
            root_mfa=root.result(),
            mfa_devices={user: f.result() for user, f in devices.items()},
            public_acl_buckets=frozenset(name for name, f in acls.items() if f.result()),
            aws_policies=fetched,
        )


def drift(desired: DesiredState, live: LiveState) -> tuple[Drift, ...]:
    """Security-relevant differences of owned resources (UPDATE changes), and of observed resources that exist
    (their differences, which apply does not make), from the plan (of the manifests as in force now: access
    whose expiresAt passed is not drift once removed)."""
    from reconciler.engine.differ import build_plan  # noqa: PLC0415 - the differ is needed only with manifests
    from reconciler.engine.expiry import effective  # noqa: PLC0415
    from reconciler.engine.plan import Action  # noqa: PLC0415

    desired = effective(desired, clock.now()).desired
    out = []
    plan = build_plan(desired, live)
    for change in (*plan.changes, *plan.observed):
        if change.action not in (Action.UPDATE, Action.ADOPT) or (
            change.action is Action.ADOPT and change.ref not in desired.observed
        ):
            continue
        relevant = REGISTRY[change.kind].security_fields
        fields = tuple(f.field for f in change.fields if f.name in relevant)
        if fields:
            resource = desired.get(change.kind, change.name)
            location = resource.source.where() if resource is not None and resource.source else change.source
            out.append(Drift(change.kind, change.name, fields, location, change.ref in desired.observed))
    return tuple(out)


def _scope(account_id: str, region: str, desired: DesiredState | None) -> ReadScope:
    key, value = DEFAULT_OWNERSHIP_TAG.key, DEFAULT_OWNERSHIP_TAG.value
    arns: frozenset[str] = frozenset()
    if desired is not None:
        key, value = desired.settings.ownership_tag.key, desired.settings.ownership_tag.value
        arns = aws_policy_references(desired)
    return _EverythingScope(
        account_id=account_id, region=region, ownership_key=key, ownership_value=value, aws_policy_arns=arns
    )


def audit(factory: ClientFactory, desired: DesiredState | None, region: str, *, max_workers: int = 16) -> Report:
    """Evaluate the security rules on the live account; ``desired`` (optional) adds drift and exceptions.

    ``factory`` should be read-only (``ClientFactory(config, read_only=True)``); the audit only reads.
    Raises ``AccountMismatchError`` when ``desired`` names another account, ``AwsAccessError`` when a read
    is refused.
    """
    if desired is not None:
        account_id = check_account(factory, desired.settings.account_id)
    else:
        with translate_errors("checking the account (sts:GetCallerIdentity)"):
            account_id = str(factory.client("sts").get_caller_identity()["Account"])
    scope = _scope(account_id, region, desired)
    live = read_account(factory, scope, max_workers=max_workers, check=False)
    facts = read_audit_facts(factory, live, max_workers=max_workers)
    model = from_live(
        live,
        ownership=(scope.ownership_key, scope.ownership_value),
        aws_policies=facts.aws_policies,
        account=AccountFacts(
            root_mfa=facts.root_mfa,
            mfa_devices=facts.mfa_devices,
            drift=drift(desired, live) if desired is not None else (),
            manifests=desired is not None,
        ),
        public_acl_buckets=facts.public_acl_buckets,
    )
    if desired is None:
        return evaluate_model(model)
    return evaluate_model(model, desired.settings, observed=desired.observed)
