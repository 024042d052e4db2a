"""The evaluation model of a ``DesiredState``: what ``plan`` and ``apply`` are about to make true.

Every kind adds what the rules see of its manifests (its ``facts.py``), in the kinds' order. Documents are the
ones the reconciler writes: the Policy manifests, inline policies, the generated trust policy, the group guard
and the generated bucket policy, made by the kinds themselves, so that the rules judge exactly what is applied.
AWS managed policies are resolved from the documents passed in (fetched from IAM by the reader).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from reconciler.facts.builder import Facts
from reconciler.facts.model import Model, document_of
from reconciler.kinds import KIND_ORDER, REGISTRY
from reconciler.kinds.context import Context
from reconciler.manifests.model import DesiredState

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
    facts = Facts(
        "desired",
        ctx.account_id,
        ctx.region,
        aws_documents={arn: document_of(value) for arn, value in (aws_policies or {}).items()},
        max_human_write_days=desired.settings.max_human_write_days,
    )
    for kind in KIND_ORDER:
        for _, resource in sorted(desired.of(kind).items()):
            REGISTRY[kind].desired_facts(resource, facts, ctx)
    return facts.model()
