"""What one account's reconcile reports of its plan and of the changes it makes: logs (the invariants' findings
once per cycle, access about to expire, observed resources that differ, a refusal, the drift found) and metrics
(findings, expiring access, the plan's changes by kind, drift repaired, every change's outcome), and the
controller's hooks (``on_plan``, ``on_outcome``)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

import structlog

from reconciler import clock
from reconciler.controller.metrics import Metrics
from reconciler.controller.schedule import warn_expiring
from reconciler.engine.converge import Planned
from reconciler.engine.executor import ApplyResult, Outcome, Status
from reconciler.engine.plan import Plan
from reconciler.kinds import KIND_ORDER

__all__ = ["AccountReport"]

log = structlog.get_logger(__name__)


@dataclass
class AccountReport:
    """The reports of one account's reconcile (``label``: the account as metrics and logs name it)."""

    metrics: Metrics
    label: str
    # Findings and expiring access already logged in this cycle (once per cycle, even when the plan is made again).
    logged: set[tuple[str, str, str | None, str]]
    on_plan: Callable[[Plan], None] | None = None
    on_outcome: Callable[[Outcome], None] | None = None

    def observe(self, planned: Planned) -> None:
        saved, report = planned.saved, planned.preview.report
        plan = saved.plan
        if report is not None:
            self.metrics.set_account_findings(self.label, len(report.errors), len(report.warnings))
            for finding in report.findings:
                key = (finding.rule, finding.resource, finding.location, finding.message)
                if key in self.logged:
                    continue  # once per cycle, even when the plan is made again
                self.logged.add(key)
                emit = log.error if finding.severity.value == "error" else log.warning
                emit(
                    "invariant finding",
                    rule=finding.rule,
                    severity=finding.severity.value,
                    resource=finding.resource,
                    location=finding.location,
                    message=finding.message,
                )
        now = clock.now()
        warn_expiring(plan.expiring, now, self.logged)
        self.metrics.schedule.set_expiring(self.label, plan.expiring, now)
        self.metrics.observe_account_plan(self.label, Counter(c.kind for c in plan), KIND_ORDER)
        self.metrics.set_account_observed(self.label, plan.observed_in_sync, len(plan.observed))
        if plan.observed:
            log.warning(
                "observed resources differ from git (management: observe: reported, not written)",
                resources=[f"{c.action.value} {c.ref}" for c in plan.observed][:50],
                count=len(plan.observed),
            )
        if saved.verdict.refused:
            log.error("plan refused", reason=saved.verdict.headline(), refusals=saved.verdict.lines())
        if not plan.empty:
            log.info(
                "drift or changes found",
                summary=plan.summary(),
                digest=saved.digest,
                resources=[f"{c.action.value} {c.ref}" for c in plan][:50],
            )
        if self.on_plan is not None:
            self.on_plan(plan)

    def observe_outcome(self, outcome: Outcome) -> None:
        change = outcome.change
        self.metrics.count_change(self.label, change.kind, change.action.value, outcome.status.value)
        self.metrics.beat()
        if self.on_outcome is not None:
            self.on_outcome(outcome)

    def count_repairs(self, result: ApplyResult | None) -> None:
        """Changes made while git did not change: someone changed the account by hand."""
        if result is None:
            return
        for kind, count in Counter(o.change.kind for o in result.of(Status.DONE)).items():
            self.metrics.drift_repaired(kind, count, account=self.label)
