"""The evaluation model of a ``LiveState``: what is deployed, for ``reconciler audit``.

The deployed documents replace the manifests' (locations are None). A resource is *managed* when it
carries the ownership mark (the ownership tag; for groups, the guard inline policy). Service-linked
roles (path ``/aws-service-role/``) belong to AWS and are left out. Writers of a protected bucket are
read back from the statement the product writes into its policy.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from reconciler.aws.live import LiveState
from reconciler.kinds.bucket import LiveBucket, live_buckets
from reconciler.kinds.group import live_groups
from reconciler.kinds.group.guard import GROUP_GUARD_POLICY, GROUP_PENDING_PATH
from reconciler.kinds.notebook import LiveNotebook, live_notebooks
from reconciler.kinds.policy import live_policies
from reconciler.kinds.role import live_roles
from reconciler.kinds.user import live_users
from reconciler.rules.model import (
    AccountFacts,
    Attachment,
    BucketView,
    DocBuilder,
    DocKind,
    Model,
    NotebookView,
    PolicyDoc,
    Principal,
    document_of,
    fixed_locator,
    policy_name_from_arn,
)

SERVICE_LINKED_PATH = "/aws-service-role/"
WRITERS_SID = "DenyObjectWritesExceptDeclaredWriters"


def from_live(
    live: LiveState,
    *,
    ownership: tuple[str, str] = ("managed-by", "reconciler"),
    aws_policies: Mapping[str, Any] | None = None,
    account: AccountFacts | None = None,
    public_acl_buckets: frozenset[str] = frozenset(),
) -> Model:
    """The model of the account. ``aws_policies`` adds AWS managed documents to ``live.aws_policies``."""
    key, value = ownership
    docs = DocBuilder()
    aws_docs: dict[str, Any] = {arn: p.document for arn, p in live.aws_policies.items()}
    aws_docs.update({arn: document_of(v) for arn, v in (aws_policies or {}).items()})

    def owns(tags: Mapping[str, str]) -> bool:
        return tags.get(key) == value

    policies: dict[str, PolicyDoc] = {}
    by_arn: dict[str, PolicyDoc] = {}
    for name, policy in sorted(live_policies(live).items()):
        doc = docs.build(
            DocKind.MANAGED,
            name,
            f"Policy/{name}",
            f"Policy/{name}",
            None,
            policy.document,
            fixed_locator(None),
            arn=policy.arn,
        )
        if doc is not None:
            policies[name] = doc
            by_arn[policy.arn] = doc

    def attachments(ref: str, arns: tuple[str, ...]) -> tuple[Attachment, ...]:
        out = []
        for arn in arns:
            document = by_arn.get(arn)
            if document is None and arn in aws_docs:
                document = docs.build(
                    DocKind.AWS_MANAGED,
                    arn,
                    f"AWS managed policy {policy_name_from_arn(arn)}",
                    ref,
                    None,
                    aws_docs[arn],
                    fixed_locator(None),
                    arn=arn,
                )
            out.append(Attachment(arn, arn, None, document))
        return tuple(out)

    def inline(ref: str, documents: Mapping[str, Mapping[str, Any]]) -> tuple[PolicyDoc, ...]:
        out = []
        for pname in sorted(documents):
            guard = pname == GROUP_GUARD_POLICY and ref.startswith("Group/")
            label = f"MFA guard of {ref}" if guard else f"inline policy {pname!r} of {ref}"
            doc = docs.build(
                DocKind.GUARD if guard else DocKind.INLINE,
                pname,
                label,
                ref,
                None,
                documents[pname],
                fixed_locator(None),
                generated=guard,
            )
            if doc is not None:
                out.append(doc)
        return tuple(out)

    roles: dict[str, Principal] = {}
    for name, role in sorted(live_roles(live).items()):
        if role.path.startswith(SERVICE_LINKED_PATH):
            continue
        ref = f"Role/{name}"
        trust = docs.build(DocKind.TRUST, "trust", f"trust policy of {ref}", ref, None, role.trust, fixed_locator(None))
        roles[name] = Principal(
            "Role",
            name,
            role.arn,
            owns(role.tags),
            None,
            None,
            attachments=attachments(ref, role.attached),
            inline=inline(ref, role.inline),
            trust=trust,
            path=role.path,
        )
    groups: dict[str, Principal] = {}
    for name, group in sorted(live_groups(live).items()):
        ref = f"Group/{name}"
        owned = GROUP_GUARD_POLICY in group.inline or group.path == GROUP_PENDING_PATH
        groups[name] = Principal(
            "Group",
            name,
            group.arn,
            owned,
            None,
            None,
            attachments=attachments(ref, group.attached),
            inline=inline(ref, group.inline),
            path=group.path,
        )
    users: dict[str, Principal] = {}
    for name, user in sorted(live_users(live).items()):
        ref = f"User/{name}"
        users[name] = Principal(
            "User",
            name,
            user.arn,
            owns(user.tags),
            None,
            None,
            attachments=attachments(ref, user.attached),
            inline=inline(ref, user.inline),
            groups=user.groups,
            console_access=user.console_access,
            path=user.path,
            access_keys=user.access_keys or (),
        )
    buckets = {
        name: _bucket(bucket, owns(bucket.tags), docs, name in public_acl_buckets)
        for name, bucket in sorted(live_buckets(live).items())
    }
    notebooks = {name: _notebook(nb, owns(nb.tags), roles) for name, nb in sorted(live_notebooks(live).items())}
    return Model(
        "live",
        live.account_id,
        policies,
        roles,
        groups,
        users,
        buckets,
        notebooks,
        tuple(docs.unreadable),
        account,
        region=live.region,
    )


def _bucket(bucket: LiveBucket, managed: bool, docs: DocBuilder, public_acl: bool) -> BucketView:
    ref = f"Bucket/{bucket.name}"
    policy = None
    if bucket.policy:
        policy = docs.build(
            DocKind.BUCKET, "policy", f"bucket policy of {ref}", ref, None, bucket.policy, fixed_locator(None)
        )
    writers: tuple[str, ...] | None = None
    if policy is not None:
        for s in policy.statements:
            if s.sid == WRITERS_SID and s.deny:
                values = s.condition_values("ArnNotEquals", "aws:PrincipalArn")
                writers = tuple(values or ())
    encryption = str(bucket.encryption["type"]) if bucket.encryption else None
    return BucketView(
        bucket.name,
        managed,
        None,
        None,
        detailed=bucket.detailed,
        versioning=(bucket.versioning == "Enabled") if bucket.detailed else None,
        encryption=encryption,
        public_access_block=dict(bucket.public_access_block) if bucket.public_access_block else None,
        policy=policy,
        writers=writers,
        public_acl=public_acl if bucket.detailed else None,
    )


def _notebook(nb: LiveNotebook, managed: bool, roles: Mapping[str, Principal]) -> NotebookView:
    role_name = next((r.name for r in roles.values() if r.arn == nb.role_arn), None)
    return NotebookView(
        nb.name,
        managed,
        None,
        None,
        detailed=nb.detailed,
        root_access=nb.root_access,
        direct_internet_access=nb.direct_internet_access,
        subnet_id=nb.subnet_id,
        kms_key_id=nb.kms_key_id,
        role_name=role_name,
        role_arn=nb.role_arn,
    )
