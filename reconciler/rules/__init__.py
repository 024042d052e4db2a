"""Security invariants: rules over the desired state (plan/apply) and over the live account (audit).

Entry points:

* :func:`evaluate` -- the rules on the manifests, with the documents of the AWS managed policies they
  attach (fetched from IAM by the reader). ``report.refuses`` means: plan exits 3, apply writes nothing.
* :func:`evaluate_model` -- the rules on any evaluation model (the audit builds one from the account).
* ``reconciler.aws.audit.audit`` -- reads the account (read-only) and evaluates it.

Rules read models only; nothing here calls AWS.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from reconciler.manifests.model import DesiredState, Settings
from reconciler.rules.exceptions import apply_exceptions
from reconciler.rules.findings import (
    ExceptedFinding,
    ExceptionUse,
    Finding,
    Report,
    Severity,
    findings_to_dict,
    render_findings_json,
    render_findings_text,
)
from reconciler.rules.fromdesired import from_desired
from reconciler.rules.model import Model
from reconciler.rules.registry import BY_ID, RULES, run

__all__ = [
    "BY_ID",
    "RULES",
    "ExceptedFinding",
    "ExceptionUse",
    "Finding",
    "Report",
    "Severity",
    "evaluate",
    "evaluate_model",
    "findings_to_dict",
    "render_findings_json",
    "render_findings_text",
]


def evaluate_model(model: Model, settings: Settings | None = None) -> Report:
    """Run every rule that applies to the model's origin and apply ``settings.exceptions``."""
    subject = "manifests" if model.origin == "desired" else "account"
    return apply_exceptions(run(model), settings, origin=model.origin, subject=subject)


def evaluate(desired: DesiredState, aws_policies: Mapping[str, Any] | None = None, *,
             region: str | None = None) -> Report:
    """The rules on the manifests.

    ``aws_policies``: AWS managed policy ARN -> its document (a mapping, or a ``LivePolicy``), e.g.
    ``preview.live.aws_policies``. An attached ARN missing from it is reported (LP008) and not checked.
    """
    return evaluate_model(from_desired(desired, aws_policies, region), desired.settings)
