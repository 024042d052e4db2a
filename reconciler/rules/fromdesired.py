"""The evaluation model of a ``DesiredState``: what ``plan`` and ``apply`` are about to make true.

Documents are the ones the reconciler writes: the Policy manifests, inline policies, the generated
trust policy, the group guard (``group_guard_document``) and the generated bucket policy
(``bucket_policy``), reused from the kinds so that the rules judge exactly what is applied. AWS managed
policies are resolved from the documents passed in (fetched from IAM by the reader).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from reconciler.kinds.base import Context
from reconciler.kinds.bucket import PUBLIC_ACCESS_BLOCK_ON, Bucket, bucket_policy, writer_arns
from reconciler.kinds.bucket import buckets as desired_buckets
from reconciler.kinds.group import groups as desired_groups
from reconciler.kinds.group.guard import GROUP_GUARD_POLICY, Group, group_guard_document
from reconciler.kinds.notebook import NotebookInstance
from reconciler.kinds.notebook import notebooks as desired_notebooks
from reconciler.kinds.policy import Policy
from reconciler.kinds.policy import policies as desired_policies
from reconciler.kinds.role import Role, trust_document
from reconciler.kinds.role import roles as desired_roles
from reconciler.kinds.user import User
from reconciler.kinds.user import users as desired_users
from reconciler.manifests.model import DesiredState
from reconciler.rules.model import (
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
    statement_locator,
    where,
)

DEFAULT_REGION = "us-east-1"


def context_for(desired: DesiredState, region: str | None = None) -> Context:
    tag = desired.settings.ownership_tag
    return Context(
        desired.settings.account_id, region or desired.settings.region or DEFAULT_REGION, tag.key, tag.value, desired
    )


def from_desired(
    desired: DesiredState, aws_policies: Mapping[str, Any] | None = None, region: str | None = None
) -> Model:
    """The model of ``desired``; ``aws_policies`` maps AWS managed policy ARNs to their documents."""
    ctx = context_for(desired, region)
    docs = DocBuilder()
    aws_docs = {arn: document_of(value) for arn, value in (aws_policies or {}).items()}

    policies: dict[str, PolicyDoc] = {}
    by_arn: dict[str, str] = {}
    for name in sorted(desired_policies(desired)):
        policy: Policy = desired_policies(desired)[name]
        doc = docs.build(
            DocKind.MANAGED,
            name,
            f"Policy/{name}",
            f"Policy/{name}",
            where(policy.source, "spec", "document"),
            policy.document,
            statement_locator(policy.source, "spec", "document"),
            arn=ctx.policy_arn(name),
        )
        if doc is not None:
            policies[name] = doc
        by_arn[ctx.policy_arn(name)] = name

    def attachments(res: Role | Group) -> tuple[Attachment, ...]:
        out = []
        for index, ref in enumerate(res.policies):
            arn = ctx.policy_arn(ref)
            location = where(res.source, "spec", "policies", index)
            document: PolicyDoc | None = None
            if arn in by_arn:
                document = policies.get(by_arn[arn])
            elif arn in aws_docs:
                short = policy_name_from_arn(arn)
                document = docs.build(
                    DocKind.AWS_MANAGED,
                    arn,
                    f"AWS managed policy {short}",
                    res.ref,
                    location,
                    aws_docs[arn],
                    fixed_locator(location),
                    arn=arn,
                )
            out.append(Attachment(ref, arn, location, document))
        return tuple(out)

    def inline(res: Role | Group) -> list[PolicyDoc]:
        out = []
        for pname in sorted(res.inline_policies):
            doc = docs.build(
                DocKind.INLINE,
                pname,
                f"inline policy {pname!r} of {res.ref}",
                res.ref,
                where(res.source, "spec", "inlinePolicies", pname),
                res.inline_policies[pname],
                statement_locator(res.source, "spec", "inlinePolicies", pname),
            )
            if doc is not None:
                out.append(doc)
        return out

    roles: dict[str, Principal] = {}
    for name in sorted(desired_roles(desired)):
        role: Role = desired_roles(desired)[name]
        if role.assume_role_policy is not None:
            trust = docs.build(
                DocKind.TRUST,
                "trust",
                f"trust policy of {role.ref}",
                role.ref,
                where(role.source, "spec", "assumeRolePolicy"),
                role.assume_role_policy,
                statement_locator(role.source, "spec", "assumeRolePolicy"),
            )
        else:
            location = where(role.source, "spec", "trustedServices")
            trust = docs.build(
                DocKind.TRUST,
                "trust",
                f"trust policy of {role.ref} (from trustedServices)",
                role.ref,
                location,
                trust_document(role, ctx),
                fixed_locator(location),
                generated=True,
            )
        roles[name] = Principal(
            "Role",
            name,
            ctx.role_arn(name),
            True,
            where(role.source),
            role.source,
            attachments=attachments(role),
            inline=tuple(inline(role)),
            trust=trust,
            path=role.path,
        )

    groups: dict[str, Principal] = {}
    for name in sorted(desired_groups(desired)):
        group: Group = desired_groups(desired)[name]
        own = inline(group)
        guard_location = where(group.source, "spec", "requireMFA")
        guard = docs.build(
            DocKind.GUARD,
            GROUP_GUARD_POLICY,
            f"MFA guard of {group.ref} (generated)",
            group.ref,
            guard_location,
            group_guard_document(group, ctx),
            fixed_locator(guard_location),
            generated=True,
        )
        if guard is not None:
            own.append(guard)
        groups[name] = Principal(
            "Group",
            name,
            f"arn:aws:iam::{ctx.account_id}:group{group.path}{name}",
            True,
            where(group.source),
            group.source,
            attachments=attachments(group),
            inline=tuple(own),
            path=group.path,
        )

    users: dict[str, Principal] = {}
    for name in sorted(desired_users(desired)):
        user: User = desired_users(desired)[name]
        users[name] = Principal(
            "User",
            name,
            ctx.user_arn(name),
            True,
            where(user.source),
            user.source,
            groups=tuple(user.groups),
            console_access=user.console_access,
            path=user.path,
        )

    buckets: dict[str, BucketView] = {}
    for name in sorted(desired_buckets(desired)):
        bucket: Bucket = desired_buckets(desired)[name]
        buckets[name] = _bucket(bucket, ctx, docs)

    notebooks: dict[str, NotebookView] = {}
    for name in sorted(desired_notebooks(desired)):
        nb: NotebookInstance = desired_notebooks(desired)[name]
        notebooks[name] = NotebookView(
            name,
            True,
            where(nb.source),
            nb.source,
            root_access=nb.root_access,
            direct_internet_access=nb.direct_internet_access,
            subnet_id=nb.subnet_id,
            kms_key_id=nb.kms_key_id,
            role_name=nb.role if nb.role in desired_roles(desired) else None,
            role_arn=ctx.role_arn(nb.role),
        )

    return Model(
        "desired",
        ctx.account_id,
        policies,
        roles,
        groups,
        users,
        buckets,
        notebooks,
        tuple(docs.unreadable),
        region=ctx.region,
    )


def _bucket(bucket: Bucket, ctx: Context, docs: DocBuilder) -> BucketView:
    generated = 2 if bucket.access.write else 1
    access_location = where(bucket.source, "spec", "access", "write") if bucket.access.write else where(bucket.source)

    def locate(index: int) -> str | None:
        if index < generated:
            return access_location
        return where(bucket.source, "spec", "policy", index - generated)

    document = bucket_policy(bucket, ctx)
    policy = docs.build(
        DocKind.BUCKET,
        "policy",
        f"bucket policy of {bucket.ref}",
        bucket.ref,
        where(bucket.source, "spec", "policy"),
        document,
        locate,
    )
    if policy is not None:
        # The statements the product generates are marked as such (they are not the user's to fix).
        policy = PolicyDoc(
            policy.kind,
            policy.name,
            policy.label,
            policy.owner,
            policy.location,
            tuple(s if s.index >= generated else replace(s, generated=True) for s in policy.statements),
            policy.arn,
        )
    return BucketView(
        bucket.name,
        True,
        where(bucket.source),
        bucket.source,
        versioning=bucket.versioning,
        encryption=bucket.encryption.type,
        public_access_block=dict(PUBLIC_ACCESS_BLOCK_ON),
        policy=policy,
        writers=tuple(writer_arns(bucket, ctx)) if bucket.access.write else None,
        writer_refs=tuple(bucket.access.write),
    )
