"""The invariant gate: every plan and apply evaluates the security rules on the desired state; an
error finding refuses the change before anything is written."""

from __future__ import annotations

from collections.abc import Callable

from reconciler.engine.converge import Gate
from reconciler.engine.executor import RefusedError
from reconciler.engine.preview import Preview
from reconciler.manifests.model import DesiredState
from reconciler.rules import Report, evaluate


class InvariantsRefused(RefusedError):
    """Error findings: the change would weaken the environment. Exit status 3."""

    invariants = True

    def __init__(self, report: Report) -> None:
        self.report = report
        super().__init__(f"refused by the security invariants: {report.summary()}")


def evaluate_preview(desired: DesiredState, current: Preview) -> Report:
    """The rules on ``desired``: computed alongside the read when the preview was asked for them."""
    if current.report is not None:
        return current.report
    return evaluate(desired, current.live.aws_policies, region=current.plan.region)


def invariant_gate(on_report: Callable[[Report], None] | None = None) -> Gate:
    """A gate for ``converge``: reports the findings, raises InvariantsRefused on errors."""

    def gate(desired: DesiredState, current: Preview) -> None:
        report = evaluate_preview(desired, current)
        if on_report is not None:
            on_report(report)
        if report.refuses:
            raise InvariantsRefused(report)

    return gate
