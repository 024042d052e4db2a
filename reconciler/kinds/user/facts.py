"""What the rules see of a user: its groups, console access and access keys; in the account, any policy of its
own too (a manifest gives users none)."""

from __future__ import annotations

from reconciler.facts.builder import Facts
from reconciler.facts.model import Principal, where
from reconciler.kinds.context import Context
from reconciler.kinds.iamfacts import live_attachments, live_inline
from reconciler.kinds.user import LiveUser, User


def desired(user: User, facts: Facts, ctx: Context) -> None:
    facts.users[user.name] = Principal(
        "User",
        user.name,
        ctx.user_arn(user.name),
        True,
        where(user.source),
        user.source,
        groups=tuple(user.groups),
        console_access=user.console_access,
        path=user.path,
        expires=user.expires,
        group_expiry=user.group_expiry,
    )


def live(user: LiveUser, facts: Facts) -> None:
    ref = f"User/{user.name}"
    facts.users[user.name] = Principal(
        "User",
        user.name,
        user.arn,
        facts.owns(user.tags),
        None,
        None,
        attachments=live_attachments(ref, user.attached, facts),
        inline=live_inline(ref, user.inline, facts),
        groups=user.groups,
        console_access=user.console_access,
        path=user.path,
        access_keys=user.access_keys or (),
    )
