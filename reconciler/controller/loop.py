"""The reconcile loop: pull git, check the commit, plan, gate, apply under the lease, report.

Exit statuses of one reconcile follow plan/apply: 0 in sync or converged, 2 changes found (plan
mode), 1 error (git, AWS, bad manifests, rewind refused, a change failed), 3 refused by invariants.
"""

from __future__ import annotations

import random
import re
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import structlog

from reconciler.aws.clients import AwsConfig, ClientFactory
from reconciler.controller.gitsource import GitSource
from reconciler.controller.lease import DEFAULT_TABLE, Lease, StateTable
from reconciler.controller.metrics import Metrics
from reconciler.engine.converge import Gate, converge
from reconciler.engine.executor import ApplyOptions, Outcome, RefusedError, Status
from reconciler.engine.gate import invariant_gate
from reconciler.engine.plan import KIND_ORDER, Plan
from reconciler.engine.preview import preview
from reconciler.errors import ManifestError, ReconcilerError
from reconciler.manifests import DesiredState, load_directory
from reconciler.rules import Report

log = structlog.get_logger(__name__)

OK, ERROR, CHANGES, REFUSED = 0, 1, 2, 3


def parse_interval(text: str) -> float:
    """``90``, ``30s``, ``5m``, ``1h``, ``1h30m`` -> seconds."""
    parts = re.fullmatch(r"\s*(?:(\d+)h)?\s*(?:(\d+)m)?\s*(?:(\d+)s?)?\s*", text)
    if not parts or not any(parts.groups()):
        raise ValueError(f"not an interval: {text!r} (use e.g. 30s, 5m, 1h)")
    hours, minutes, seconds = (int(g) if g else 0 for g in parts.groups())
    total = hours * 3600 + minutes * 60 + seconds
    if total <= 0:
        raise ValueError(f"interval must be positive: {text!r}")
    return float(total)


class RewindRefused(ReconcilerError):
    """The fetched commit is not a descendant of the last applied one."""


@dataclass
class ControllerConfig:
    source: str
    branch: str = "main"
    path: str = "desired-state"
    cache_dir: Path = field(default_factory=lambda: Path("/tmp/reconciler-cache"))  # noqa: S108
    interval: float = 300.0
    jitter: float = 0.1
    mode: str = "apply"
    allow_rewind: bool = False
    state_table: str = DEFAULT_TABLE
    lease_ttl: float = 60.0
    lease_timeout: float = 600.0
    max_backoff: float = 600.0
    region: str | None = None
    options: ApplyOptions = field(default_factory=ApplyOptions)


class Controller:
    def __init__(
        self,
        config: ControllerConfig,
        aws: AwsConfig,
        *,
        metrics: Metrics | None = None,
        stop: threading.Event | None = None,
        gate: Gate | None = None,
        on_plan: Callable[[Plan], None] | None = None,
        on_outcome: Callable[[Outcome], None] | None = None,
    ) -> None:
        self.config = config
        self.aws = aws
        self.metrics = metrics or Metrics()
        self.stop = stop or threading.Event()
        self.gate = gate if gate is not None else invariant_gate(self._observe_findings)
        self.on_plan = on_plan
        self.on_outcome = on_outcome
        self.git = GitSource(config.source, branch=config.branch, path=config.path, cache_dir=config.cache_dir)
        self.last_retryable = False

    def _region(self, desired: DesiredState) -> str:
        region = desired.settings.region or self.config.region or self.aws.region
        if not region:
            raise ReconcilerError("no region: set Settings.region or --region")
        return region

    def reconcile_once(self) -> int:
        """One reconcile of the newest commit. Never raises for expected failures."""
        run_id = uuid.uuid4().hex[:12]
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(run_id=run_id)
        started = time.monotonic()
        self.last_retryable = False
        try:
            return self._reconcile()
        except ManifestError as exc:
            for problem in exc.problems:
                log.error("invalid manifest", problem=str(problem))
            log.error("bad commit: nothing applied", problems=len(exc.problems))
            self.metrics.failures.labels("manifests").inc()
            return ERROR
        except RewindRefused as exc:
            log.error("rewind refused", reason=str(exc))
            self.metrics.failures.labels("rewind").inc()
            return ERROR
        except RefusedError as exc:
            log.error("refused", reason=str(exc))
            self.metrics.failures.labels("refused").inc()
            return REFUSED if exc.invariants else ERROR
        except ReconcilerError as exc:
            self.last_retryable = exc.retryable
            log.error("reconcile failed", error=str(exc), retryable=exc.retryable)
            self.metrics.failures.labels(type(exc).__name__).inc()
            return ERROR
        finally:
            self.metrics.duration.labels(self.config.mode).observe(time.monotonic() - started)
            self.metrics.beat()
            structlog.contextvars.unbind_contextvars("commit")

    def _reconcile(self) -> int:
        checkout = self.git.fetch()
        structlog.contextvars.bind_contextvars(commit=checkout.sha)
        desired = load_directory(checkout.root, display_root=self.config.path)
        region = self._region(desired)
        aws = AwsConfig(
            endpoint_url=self.aws.endpoint_url,
            region=region,
            profile=self.aws.profile,
            max_attempts=self.aws.max_attempts,
            retry_mode=self.aws.retry_mode,
        )
        reader = ClientFactory(aws, read_only=True)
        if self.config.mode == "plan":
            return self._plan_only(desired, reader, region, checkout.sha)
        writer = ClientFactory(aws, read_only=False)
        table = StateTable(writer, self.config.state_table, account_id=desired.settings.account_id)
        last = table.last_applied()
        if last and not self.config.allow_rewind and not self.git.is_ancestor(last, checkout.sha):
            raise RewindRefused(
                f"commit {checkout.sha[:12]} is not a descendant of the last applied commit "
                f"{last[:12]} (a force push or a rollback?); rerun with --allow-rewind to apply it"
            )
        lease = Lease(table, ttl=self.config.lease_ttl)
        result = converge(
            desired,
            reader=reader,
            writer=writer,
            region=region,
            options=self.config.options,
            gate=self.gate,
            lease=lambda: lease.held(timeout=self.config.lease_timeout, stop=self.stop),
            on_plan=self._observe_plan,
            on_outcome=self._observe_outcome,
            stop=lambda: self.stop.is_set() or lease.lost.is_set(),
        )
        if result.result is not None and not result.result.ok:
            log.error("reconcile incomplete", summary=result.result.summary())
            self.metrics.failures.labels("changes").inc()
            self.last_retryable = True
            return ERROR
        if last != checkout.sha:
            table.record_applied(checkout.sha, owner=lease.owner)
        self.metrics.commit.info({"sha": checkout.sha})
        self._succeeded()
        log.info("reconciled", summary=result.result.summary() if result.result else "in sync")
        return OK

    def _plan_only(self, desired: DesiredState, reader: ClientFactory, region: str, sha: str) -> int:
        current = preview(desired, reader, region, invariants=self.gate is not None)
        if self.gate is not None:
            self.gate(desired, current)
        self._observe_plan(current.plan)
        self._succeeded()
        log.info("planned", summary=current.plan.summary(), commit=sha)
        return OK if current.plan.empty else CHANGES

    def _observe_findings(self, report: Report) -> None:
        for severity in ("error", "warning"):
            self.metrics.findings.labels(severity).set(sum(1 for f in report.findings if f.severity.value == severity))
        for finding in report.findings:
            log.warning(
                "invariant finding",
                rule=finding.rule,
                severity=finding.severity.value,
                resource=finding.resource,
                location=finding.location,
                message=finding.message,
            )

    def _succeeded(self) -> None:
        self.metrics.last_success.set(time.time())
        self.metrics.ready = True

    def _observe_plan(self, plan: Plan) -> None:
        for kind in KIND_ORDER:
            self.metrics.drift.labels(kind).set(sum(1 for c in plan if c.kind == kind))
        if not plan.empty:
            log.info(
                "drift or changes found",
                summary=plan.summary(),
                resources=[f"{c.action.value} {c.ref}" for c in plan][:50],
            )
        if self.on_plan is not None:
            self.on_plan(plan)

    def _observe_outcome(self, outcome: Outcome) -> None:
        change = outcome.change
        self.metrics.changes.labels(change.kind, change.action.value, outcome.status.value).inc()
        if outcome.status is Status.FAILED:
            log.error(
                "change failed", kind=change.kind, name=change.name, action=change.action.value, message=outcome.message
            )
        if self.on_outcome is not None:
            self.on_outcome(outcome)

    def run_forever(self) -> int:
        """Reconcile every interval (with jitter) until stopped; back off on retryable failures."""
        failures = 0
        while not self.stop.is_set():
            status = self.reconcile_once()
            if status == ERROR and self.last_retryable:
                failures += 1
                delay = min(self.config.max_backoff, 5.0 * 2 ** (failures - 1))
                log.warning("backing off", seconds=round(delay, 1), failures=failures)
            else:
                failures = 0
                spread = self.config.interval * self.config.jitter
                delay = self.config.interval + random.uniform(-spread, spread)  # noqa: S311 - jitter
            self.stop.wait(max(0.0, delay))
        log.info("controller stopped")
        return OK
