"""What the rules see of a notebook instance: root access, direct internet access, its network and key, and
its role (by name when the role is one the rules see)."""

from __future__ import annotations

from reconciler.facts.builder import Facts
from reconciler.facts.model import NotebookView, where
from reconciler.kinds.context import Context
from reconciler.kinds.notebook import LiveNotebook, NotebookInstance


def desired(nb: NotebookInstance, facts: Facts, ctx: Context) -> None:
    facts.notebooks[nb.name] = NotebookView(
        nb.name,
        True,
        where(nb.source),
        nb.source,
        root_access=nb.root_access,
        direct_internet_access=nb.direct_internet_access,
        subnet_id=nb.subnet_id,
        kms_key_id=nb.kms_key_id,
        role_name=nb.role if nb.role in facts.roles else None,
        role_arn=ctx.role_arn(nb.role),
    )


def live(nb: LiveNotebook, facts: Facts) -> None:
    facts.notebooks[nb.name] = NotebookView(
        nb.name,
        facts.owns(nb.tags),
        None,
        None,
        detailed=nb.detailed,
        root_access=nb.root_access,
        direct_internet_access=nb.direct_internet_access,
        subnet_id=nb.subnet_id,
        kms_key_id=nb.kms_key_id,
        role_name=facts.role_named(nb.role_arn),
        role_arn=nb.role_arn,
    )
