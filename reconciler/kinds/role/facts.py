"""What the rules see of a role: its policies and its trust policy (the generated one for ``trustedServices``).
Service-linked roles belong to AWS: the rules leave them out."""

from __future__ import annotations

from reconciler.facts.builder import Facts
from reconciler.facts.model import DocKind, Principal, fixed_locator, statement_locator, where
from reconciler.kinds.context import Context
from reconciler.kinds.iamfacts import desired_attachments, desired_inline, live_attachments, live_inline
from reconciler.kinds.role import LiveRole, Role, trust_document, trust_inputs

SERVICE_LINKED_PATH = "/aws-service-role/"


def desired(role: Role, facts: Facts, ctx: Context) -> None:
    if role.assume_role_policy is not None:
        trust = facts.docs.build(
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
        trust = facts.docs.build(
            DocKind.TRUST,
            "trust",
            f"trust policy of {role.ref} (from trustedServices)",
            role.ref,
            location,
            trust_document(role, ctx),
            fixed_locator(location),
            generated=True,
            same=("generated trust policy", *inputs) if (inputs := trust_inputs(role, ctx)) is not None else None,
        )
    facts.roles[role.name] = Principal(
        "Role",
        role.name,
        ctx.role_arn(role.name),
        True,
        where(role.source),
        role.source,
        attachments=desired_attachments(
            role.ref, role.source, role.policies, facts, ctx, indexes=role.policy_index, ends=role.policy_expiry
        ),
        inline=tuple(desired_inline(role.ref, role.source, role.inline_policies, facts)),
        trust=trust,
        path=role.path,
    )


def live(role: LiveRole, facts: Facts) -> None:
    if role.path.startswith(SERVICE_LINKED_PATH):
        return
    ref = f"Role/{role.name}"
    trust = facts.docs.build(
        DocKind.TRUST, "trust", f"trust policy of {ref}", ref, None, role.trust, fixed_locator(None)
    )
    facts.roles[role.name] = Principal(
        "Role",
        role.name,
        role.arn,
        facts.owns(role.tags),
        None,
        None,
        attachments=live_attachments(ref, role.attached, facts),
        inline=live_inline(ref, role.inline, facts),
        trust=trust,
        path=role.path,
    )
