"""What the rules see of a Studio user profile: its domain and the execution role it runs as."""

from __future__ import annotations

from reconciler.facts.builder import Facts
from reconciler.facts.model import StudioProfileView, where
from reconciler.kinds.context import Context
from reconciler.kinds.studioprofile import LiveProfile, StudioUserProfile


def desired(profile: StudioUserProfile, facts: Facts, ctx: Context) -> None:
    role = profile.execution_role
    facts.profiles[profile.name] = StudioProfileView(
        profile.name,
        True,
        where(profile.source),
        profile.source,
        domain=profile.domain,
        role_name=role if role in facts.roles else None,
        role_arn=ctx.role_arn(role),
    )


def live(profile: LiveProfile, facts: Facts) -> None:
    facts.profiles[profile.name] = StudioProfileView(
        profile.name,
        facts.owns(profile.tags),
        None,
        None,
        detailed=profile.detailed,
        domain=profile.domain,
        role_name=facts.role_named(profile.execution_role),
        role_arn=profile.execution_role,
    )
