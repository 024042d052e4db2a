"""The rules on a model of the live account, built from hand-made LiveState values (no AWS)."""

from __future__ import annotations

from typing import Any

from rules_support import ACCOUNT, hits, seed_aws_policies

from reconciler.aws.live import LiveState
from reconciler.aws.policies import AwsPolicy
from reconciler.facts.model import AccountFacts, Drift
from reconciler.kinds.bucket import LiveBucket
from reconciler.kinds.group import LiveGroup
from reconciler.kinds.group.guard import GROUP_GUARD_POLICY
from reconciler.kinds.notebook import LiveNotebook
from reconciler.kinds.role import LiveRole
from reconciler.kinds.user import LiveUser
from reconciler.rules import Report, Severity, evaluate_model
from reconciler.rules.fromlive import from_live

OWNED = {"managed-by": "reconciler"}
ADMIN = "arn:aws:iam::aws:policy/AdministratorAccess"
PAB_ON = {"BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True, "RestrictPublicBuckets": True}
GUARD = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Deny",
            "NotAction": ["iam:CreateVirtualMFADevice", "iam:EnableMFADevice", "iam:ListMFADevices"],
            "Resource": "*",
            "Condition": {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}},
        }
    ],
}
TLS = {
    "Sid": "DenyInsecureTransport",
    "Effect": "Deny",
    "Principal": "*",
    "Action": "s3:*",
    "Resource": ["arn:aws:s3:::b", "arn:aws:s3:::b/*"],
    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
}
SAGEMAKER_TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "sagemaker.amazonaws.com"},
            "Action": "sts:AssumeRole",
            "Condition": {"StringEquals": {"aws:SourceAccount": ACCOUNT}},
        }
    ],
}


def _role(name: str, *, owned: bool = True, attached: tuple[str, ...] = (), path: str = "/") -> LiveRole:
    return LiveRole(
        name,
        f"arn:aws:iam::{ACCOUNT}:role{path}{name}",
        path,
        SAGEMAKER_TRUST,
        attached=attached,
        tags=OWNED if owned else {},
    )


def _user(
    name: str,
    *groups: str,
    owned: bool = True,
    attached: tuple[str, ...] = (),
    inline: dict[str, Any] | None = None,
    console: bool = False,
) -> LiveUser:
    return LiveUser(
        name,
        f"arn:aws:iam::{ACCOUNT}:user/{name}",
        "/",
        groups=groups,
        attached=attached,
        inline=inline or {},
        tags=OWNED if owned else {},
        console_access=console,
    )


def _bucket(
    name: str,
    *,
    owned: bool = True,
    pab: dict[str, bool] | None = None,
    encryption: bool = True,
    versioning: str | None = "Enabled",
    statements: list[dict[str, Any]] | None = None,
) -> LiveBucket:
    policy = {"Version": "2012-10-17", "Statement": statements} if statements else None
    return LiveBucket(
        name,
        OWNED if owned else {},
        detailed=True,
        versioning=versioning,
        encryption={"type": "SSE-S3"} if encryption else None,
        public_access_block=pab,
        policy=policy,
    )


def _evaluate(account: AccountFacts | None = None, public_acl: frozenset[str] = frozenset(), **kinds: Any) -> Report:
    kind_names = {
        "roles": "Role",
        "groups": "Group",
        "users": "User",
        "buckets": "Bucket",
        "notebooks": "NotebookInstance",
    }
    live = LiveState(ACCOUNT, "ap-northeast-1", {kind_names[k]: v for k, v in kinds.items()})
    aws = {ADMIN: AwsPolicy("AdministratorAccess", ADMIN, "/", seed_aws_policies()[ADMIN], "v1")}
    return evaluate_model(from_live(live, aws_policies=aws, account=account, public_acl_buckets=public_acl))


def test_mfa003_user_with_own_policies() -> None:
    groups = {"G": LiveGroup("G", f"arn:aws:iam::{ACCOUNT}:group/G", "/", inline={GROUP_GUARD_POLICY: GUARD})}
    inline = {
        "mine": {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"}],
        }
    }
    report = _evaluate(
        groups=groups,
        users={
            "direct": _user("direct", "G", attached=(ADMIN,)),
            "inline": _user("inline", "G", inline=inline),
            "clean": _user("clean", "G"),
        },
    )
    assert hits(report, "MFA003") == ["User/direct", "User/inline"]
    assert hits(report, "MFA001") == []
    assert hits(report, "LP001") == ["User/direct"]


def test_bucket_rules_on_deployed_buckets() -> None:
    report = _evaluate(
        buckets={
            "good": _bucket("good", pab=PAB_ON, statements=[TLS]),
            "open": _bucket("open", pab={**PAB_ON, "BlockPublicPolicy": False}, statements=[TLS]),
            "plain": _bucket("plain", pab=PAB_ON, encryption=False, versioning=None),
            "other": _bucket("other", owned=False, pab=PAB_ON),
        }
    )
    assert hits(report, "BKT001") == ["Bucket/open"]
    assert "BlockPublicPolicy" in report.of("BKT001")[0].message
    assert hits(report, "BKT002") == ["Bucket/plain"]
    assert hits(report, "BKT003") == ["Bucket/plain"]
    assert hits(report, "BKT006") == ["Bucket/plain"]
    assert all(f.location is None for f in report.findings)


def test_protected_bucket_writers_are_read_back_from_its_policy() -> None:
    writers = {
        "Sid": "DenyObjectWritesExceptDeclaredWriters",
        "Effect": "Deny",
        "Principal": "*",
        "Action": ["s3:PutObject", "s3:DeleteObject"],
        "Resource": "arn:aws:s3:::raw/*",
        "Condition": {"ArnNotEquals": {"aws:PrincipalArn": [f"arn:aws:iam::{ACCOUNT}:role/writer"]}},
    }
    report = _evaluate(
        roles={"writer": _role("writer", attached=(ADMIN,)), "other": _role("other", attached=(ADMIN,))},
        buckets={"raw": _bucket("raw", pab=PAB_ON, statements=[TLS, writers])},
    )
    assert hits(report, "DATA001") == ["Role/other"]
    assert hits(report, "BKT005") == []


def test_nb004_notebook_role_not_managed() -> None:
    report = _evaluate(
        roles={"owned": _role("owned"), "foreign": _role("foreign", owned=False)},
        notebooks={
            n: LiveNotebook(
                n,
                f"arn:aws:sagemaker:ap-northeast-1:{ACCOUNT}:notebook-instance/{n}",
                OWNED,
                detailed=True,
                root_access="Disabled",
                direct_internet_access="Disabled",
                subnet_id="subnet-1",
                kms_key_id="k",
                role_arn=f"arn:aws:iam::{ACCOUNT}:role/{role}",
            )
            for n, role in (("a", "owned"), ("b", "foreign"), ("c", "gone"))
        },
    )
    assert hits(report, "NB004") == ["NotebookInstance/b", "NotebookInstance/c"]
    assert hits(report, "NB001") == hits(report, "NB002") == hits(report, "NB005") == []


def test_service_linked_roles_are_aws_s() -> None:
    linked = LiveRole(
        "AWSServiceRoleForX",
        f"arn:aws:iam::{ACCOUNT}:role/aws-service-role/x/AWSServiceRoleForX",
        "/aws-service-role/x/",
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": {"Service": "x.amazonaws.com"}, "Action": "sts:AssumeRole"}],
        },
    )
    assert _evaluate(roles={"AWSServiceRoleForX": linked}).findings == ()


def test_audit_rules() -> None:
    facts = AccountFacts(
        root_mfa=False, mfa_devices={"ann": 0, "ben": 1}, drift=(Drift("Group", "G", ("policies",)),), manifests=True
    )
    public = {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::pub/*"}
    report = _evaluate(
        account=facts,
        public_acl=frozenset({"acl"}),
        users={
            "ann": _user("ann", console=True, owned=False),
            "ben": _user("ben", console=True, owned=False),
            "root-like": _user("root-like", owned=False, attached=(ADMIN,)),
            "managed-admin": _user("managed-admin", attached=(ADMIN,)),
        },
        roles={"OrgAccess": _role("OrgAccess", owned=False, attached=(ADMIN,))},
        buckets={
            "pub": _bucket("pub", owned=False, statements=[public]),
            "acl": _bucket("acl", owned=False, pab={**PAB_ON, "IgnorePublicAcls": False}),
            "shut": _bucket("shut", owned=False, pab=PAB_ON, statements=[public]),
            "loose": _bucket("loose", owned=False),
        },
    )
    assert hits(report, "AUD001") == ["User/ann"]
    assert hits(report, "AUD002") == [f"Account/{ACCOUNT}"]
    assert hits(report, "AUD003") == ["Role/OrgAccess", "User/root-like"]
    aud004 = {f.resource: f.severity for f in report.of("AUD004")}
    assert aud004 == {"Bucket/pub": Severity.ERROR, "Bucket/acl": Severity.ERROR, "Bucket/loose": Severity.WARNING}
    assert hits(report, "AUD005") == ["Group/G"]
    assert report.exit_code == 3


def test_audit_rules_do_not_run_on_manifests_and_vice_versa() -> None:
    report = _evaluate(account=AccountFacts(root_mfa=True))
    assert report.findings == ()
    assert report.subject == "account"
