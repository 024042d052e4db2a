"""What the rules see of a Studio domain: its network mode, its storage key and its default execution role."""

from __future__ import annotations

from reconciler.facts.builder import Facts
from reconciler.facts.model import StudioDomainView, where
from reconciler.kinds.context import Context
from reconciler.kinds.studiodomain import LiveDomain, StudioDomain


def desired(domain: StudioDomain, facts: Facts, ctx: Context) -> None:
    role = domain.default_execution_role
    facts.domains[domain.name] = StudioDomainView(
        domain.name,
        True,
        where(domain.source),
        domain.source,
        app_network_access_type=domain.app_network_access_type,
        kms_key_id=ctx.kms_key_arn(domain.kms_key) if domain.kms_key else None,
        role_name=role if role in facts.roles else None,
        role_arn=ctx.role_arn(role),
    )


def live(domain: LiveDomain, facts: Facts) -> None:
    facts.domains[domain.name] = StudioDomainView(
        domain.name,
        facts.owns(domain.tags),
        None,
        None,
        detailed=domain.detailed,
        app_network_access_type=domain.app_network_access_type,
        kms_key_id=domain.kms_key_id,
        role_name=facts.role_named(domain.default_execution_role),
        role_arn=domain.default_execution_role,
    )
