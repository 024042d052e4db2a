"""Every rule, in report order, and how they run over a model."""

from __future__ import annotations

from collections.abc import Iterator

from reconciler.facts.model import Model
from reconciler.rules import (
    auditrules,
    awsmanaged,
    buckets,
    credentials,
    data,
    keys,
    language,
    mfa,
    notebooks,
    privesc,
    privilege,
    quotas,
    studio,
    trust,
)
from reconciler.rules.base import BOTH, Hit, Rule, end_sharing, sharing
from reconciler.rules.findings import Finding, Severity


def _exc001(_model: Model) -> Iterator[Hit]:
    return iter(())  # EXC001 and EXC002 are evaluated by reconciler.rules.exceptions, which knows the findings


EXC001 = Rule(
    "EXC001",
    Severity.WARNING,
    "Exception that matches nothing",
    "An exception that no longer matches a finding hides nothing today but would hide a future one; remove it.",
    _exc001,
    BOTH,
)

EXC002 = Rule(
    "EXC002",
    Severity.WARNING,
    "Exception that expired",
    "An exception past its expiresAt excuses nothing: the finding it excused stands again until someone reviews "
    "the exception and renews it, or fixes what it excused.",
    _exc001,
    BOTH,
)

RULES: tuple[Rule, ...] = (
    *mfa.RULES,
    *language.RULES,
    *privilege.RULES,
    *privesc.RULES,
    *quotas.RULES,
    *trust.RULES,
    *data.RULES,
    *buckets.RULES,
    *notebooks.RULES,
    *studio.RULES,
    *keys.RULES,
    *credentials.RULES,
    *auditrules.RULES,
    *awsmanaged.RULES,
    EXC001,
    EXC002,
)

BY_ID: dict[str, Rule] = {rule.id: rule for rule in RULES}


def run(model: Model) -> list[Finding]:
    """Every finding of every rule that applies to the model's origin (what several rules derive from the model,
    such as who can write which bucket, is made once: :func:`reconciler.rules.base.shared`)."""
    out: list[Finding] = []
    token = sharing()
    try:
        for rule in RULES:
            out.extend(rule(model))
    finally:
        end_sharing(token)
    return out
