"""Security invariants: rules over the desired state (plan/apply) and over the live account (audit).

Entry points:

* :func:`evaluate` -- the rules on the manifests, with the documents of the AWS managed policies they
  attach (fetched from IAM by the reader). ``report.refuses`` means: plan exits 3, apply writes nothing.
* :func:`evaluate_model` -- the rules on any evaluation model (the audit builds one from the account).
* ``reconciler.audit.audit`` -- reads the account (read-only) and evaluates it.

Rules read models only; nothing here calls AWS.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from reconciler.facts.model import Model
from reconciler.manifests.model import DesiredState, Settings
from reconciler.rules.credentials import managed_user_keys
from reconciler.rules.exceptions import apply_exceptions
from reconciler.rules.findings import (
    ExceptedFinding,
    ExceptionUse,
    Finding,
    Report,
    Severity,
    findings_lines,
    findings_to_dict,
    render_findings_json,
    render_findings_text,
)
from reconciler.rules.fromdesired import from_desired
from reconciler.rules.registry import BY_ID, RULES, run

__all__ = [
    "BY_ID",
    "RULES",
    "ExceptedFinding",
    "ExceptionUse",
    "Finding",
    "Report",
    "Severity",
    "desired_findings",
    "evaluate",
    "evaluate_model",
    "findings_lines",
    "findings_to_dict",
    "finish",
    "render_findings_json",
    "render_findings_text",
]


def evaluate_model(model: Model, settings: Settings | None = None, *, observed: frozenset[str] = frozenset()) -> Report:
    """Run every rule that applies to the model's origin and apply ``settings.exceptions``; the findings on
    ``observed`` resources (``Kind/name``) do not refuse."""
    subject = "manifests" if model.origin == "desired" else "account"
    return apply_exceptions(run(model), settings, origin=model.origin, subject=subject, observed=observed)


def evaluate(
    desired: DesiredState,
    aws_policies: Mapping[str, Any] | None = None,
    *,
    region: str | None = None,
    user_keys: Mapping[str, tuple[str, ...]] | None = None,
) -> Report:
    """The rules on the manifests.

    ``aws_policies``: AWS managed policy ARN -> its document (a mapping, or an ``AwsPolicy``), e.g.
    ``preview.live.aws_policies``. An attached ARN missing from it is reported (LP008) and not checked.
    ``user_keys``: the access keys of the users the manifests name, as read from the account (KEY001).
    """
    return finish(desired, desired_findings(desired, aws_policies, region=region), user_keys or {})


def desired_findings(
    desired: DesiredState, aws_policies: Mapping[str, Any] | None = None, *, region: str | None = None
) -> list[Finding]:
    """Every finding of the rules on the manifests, before exceptions (the part of :func:`evaluate` that
    needs only the AWS managed policies, so plan runs it while the rest of the account is read)."""
    return run(from_desired(desired, aws_policies, region))


def finish(desired: DesiredState, findings: list[Finding], user_keys: Mapping[str, tuple[str, ...]]) -> Report:
    """The plan's report: ``findings``, what the account adds about managed users (KEY001), exceptions applied."""
    locations = {name: user.source.where() if user.source else None for name, user in desired.of("User").items()}
    found = [*findings, *managed_user_keys(user_keys, locations)]
    return apply_exceptions(found, desired.settings, origin="desired", subject="manifests", observed=desired.observed)
