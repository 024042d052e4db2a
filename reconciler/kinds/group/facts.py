"""What the rules see of a group: its policies and its MFA guard (the generated one, or the one in the account).
A live group is managed when it carries the guard, or is at the reserved pending path."""

from __future__ import annotations

from reconciler.facts.builder import Facts
from reconciler.facts.model import DocKind, Principal, fixed_locator, where
from reconciler.kinds.context import Context
from reconciler.kinds.group import LiveGroup
from reconciler.kinds.group.guard import GROUP_GUARD_POLICY, GROUP_PENDING_PATH, Group, group_guard_document
from reconciler.kinds.iamfacts import desired_attachments, desired_inline, live_attachments, live_inline


def desired(group: Group, facts: Facts, ctx: Context) -> None:
    own = desired_inline(group.ref, group.source, group.inline_policies, facts)
    guard_location = where(group.source, "spec", "requireMFA")
    guard = facts.docs.build(
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
    facts.groups[group.name] = Principal(
        "Group",
        group.name,
        f"arn:aws:iam::{ctx.account_id}:group{group.path}{group.name}",
        True,
        where(group.source),
        group.source,
        attachments=desired_attachments(
            group.ref, group.source, group.policies, facts, ctx, indexes=group.policy_index, ends=group.policy_expiry
        ),
        inline=tuple(own),
        path=group.path,
    )


def live(group: LiveGroup, facts: Facts) -> None:
    ref = f"Group/{group.name}"
    facts.groups[group.name] = Principal(
        "Group",
        group.name,
        group.arn,
        GROUP_GUARD_POLICY in group.inline or group.path == GROUP_PENDING_PATH,
        None,
        None,
        attachments=live_attachments(ref, group.attached, facts),
        inline=live_inline(ref, group.inline, facts, guard_name=GROUP_GUARD_POLICY),
        path=group.path,
    )
