"""The reconcile loop: pull git, judge the head commit, plan, apply that very plan under the lease, report.

Every cycle judges the head commit of the branch: *valid*, *invalid* (its manifests do not load),
*refused* (its plan is refused: the invariants, a rail, adoption, a change apply will not make) or
*rewind* (it does not descend from the last applied commit). A valid head is planned and applied.
Whatever is wrong with the head, self-healing does not stop: the controller plans the last commit it
applied successfully and reverts drift to it, every interval, while the head's problem is reported on
every cycle (logs, metrics, /readyz) until a new commit fixes it.

Exit statuses of one reconcile follow plan/apply: 0 in sync or converged, 2 changes found (plan mode),
1 error (git, AWS, an invalid head, a refused rewind, a failed change), 3 the head is refused by the
invariants.
"""

from __future__ import annotations

import random
import re
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from enum import StrEnum
from functools import partial
from pathlib import Path

import structlog

from reconciler.aws.clients import AwsConfig, ClientFactory, translate_errors
from reconciler.aws.lease import DEFAULT_TABLE, Lease, StateTable, default_owner
from reconciler.controller.gitsource import GitSource
from reconciler.controller.metrics import Metrics
from reconciler.engine.converge import Planned, PlanStale, apply_saved, make_plan
from reconciler.engine.executor import ApplyOptions, ApplyResult, Outcome, Status
from reconciler.engine.plan import Plan
from reconciler.errors import ManifestError, ReconcilerError
from reconciler.kinds import KIND_ORDER, load_directory
from reconciler.manifests import DesiredState

log = structlog.get_logger(__name__)

OK, ERROR, CHANGES, REFUSED = 0, 1, 2, 3
#: Plans made for one commit in one cycle when the account keeps moving under the lease.
MAX_PLAN_ATTEMPTS = 3
#: The most git commands one step of the loop runs (each bounded by GitSource.timeout).
GIT_COMMANDS = 4


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


class HeadStatus(StrEnum):
    VALID = "valid"
    INVALID = "invalid"
    REFUSED = "refused"
    REWIND = "rewind"


@dataclass(frozen=True)
class HeadProblem:
    """Why the head commit cannot be applied; reported on every cycle until a commit fixes it."""

    status: HeadStatus
    reason: str  # one line
    exit_status: int


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
        wake: threading.Event | None = None,
        on_plan: Callable[[Plan], None] | None = None,
        on_outcome: Callable[[Outcome], None] | None = None,
    ) -> None:
        self.config = config
        self.aws = aws
        self.metrics = metrics or Metrics()
        self.stop = stop or threading.Event()
        # Set (by the webhook) to reconcile now; a wake during a reconcile gives exactly one more.
        self.wake = wake or threading.Event()
        self.on_plan = on_plan
        self.on_outcome = on_outcome
        self.git = GitSource(config.source, branch=config.branch, path=config.path, cache_dir=config.cache_dir)
        self.last_retryable = False
        self.owner = default_owner()
        self._logged_findings: set[tuple[str, str, str | None, str]] = set()
        self._account: str | None = None
        self.metrics.interval.set(config.interval)

    # ------------------------------------------------------------------ one reconcile

    def reconcile_once(self) -> int:
        """One reconcile of the newest commit. Never raises for expected failures."""
        run_id = uuid.uuid4().hex[:12]
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(run_id=run_id)
        started = time.monotonic()
        self.last_retryable = False
        self._logged_findings = set()
        status = ERROR
        try:
            status = self._cycle()
            return status
        except ReconcilerError as exc:
            self.last_retryable = exc.retryable
            log.error("reconcile failed", error=str(exc), retryable=exc.retryable)
            self.metrics.failures.labels(type(exc).__name__).inc()
            return ERROR
        finally:
            self.metrics.duration.labels(self.config.mode).observe(time.monotonic() - started)
            self.metrics.reconcile_completed(status in (OK, CHANGES))
            self.metrics.beat()
            structlog.contextvars.unbind_contextvars("commit")

    def _git(self) -> AbstractContextManager[None]:
        """Around git commands, which cannot beat: /healthz stays fresh while they run, bounded by their
        timeouts (a fetch is a few commands)."""
        return self.metrics.blocking(GIT_COMMANDS * self.git.timeout)

    def _cycle(self) -> int:
        with self._git():
            head = self.git.resolve()
        structlog.contextvars.bind_contextvars(commit=head)
        table = self._table(read_only=self.config.mode == "plan")
        last = table.last_applied()
        problem: HeadProblem | None = None
        planned: Planned | None = None
        with self._git():
            rewound = bool(last) and not self.config.allow_rewind and not self.git.is_ancestor(str(last), head)
        if rewound:
            assert last is not None
            problem = HeadProblem(
                HeadStatus.REWIND,
                f"it is not a descendant of the last applied commit {last[:12]} (a force push or a "
                "rollback?); run with --allow-rewind to apply it",
                ERROR,
            )
        else:
            try:
                desired = self._load(head)
            except ManifestError as exc:
                for problem_line in exc.problems:
                    log.error("invalid manifest", problem=str(problem_line))
                problem = HeadProblem(
                    HeadStatus.INVALID, f"{len(exc.problems)} manifest problem(s): {exc.problems[0]}", ERROR
                )
            else:
                planned = self._plan(desired, head)
                verdict = planned.saved.verdict
                if verdict.refused:
                    problem = HeadProblem(
                        HeadStatus.REFUSED, "; ".join(verdict.lines()), REFUSED if verdict.by_invariants else ERROR
                    )
        if problem is None:
            assert planned is not None
            self.metrics.set_head(HeadStatus.VALID.value, head=head, applied=last, reason=None)
            return self._converge(planned, head, last, table)
        log.error(
            "head commit cannot be applied",
            status=problem.status.value,
            reason=problem.reason,
            head=head,
            last_applied=last,
        )
        self.metrics.failures.labels(problem.status.value).inc()
        self.metrics.set_head(problem.status.value, head=head, applied=last, reason=problem.reason)
        self.metrics.set_synced(False)
        self._heal_from(last, head)
        return problem.exit_status

    def _heal_from(self, last: str | None, head: str) -> None:
        """Keep reverting drift to the last commit applied successfully while the head cannot be applied."""
        if last is None or last == head:
            log.warning("no earlier applied commit to keep the account at; waiting for a commit that fixes the head")
            return
        structlog.contextvars.bind_contextvars(commit=last)
        try:
            planned = self._plan(self._load(last), last)
            if planned.saved.verdict.refused:
                log.error(
                    "the last applied commit is refused now too; nothing is changed",
                    reason=planned.saved.verdict.headline(),
                )
                return
            if self.config.mode == "plan":
                log.info("planned the last applied commit", summary=planned.saved.plan.summary())
                return
            result = self._apply(planned, last)
            self._count_repairs(result)
            log.info(
                "kept the account at the last applied commit",
                last_applied=last,
                summary=result.summary() if result else "in sync",
            )
        finally:
            structlog.contextvars.bind_contextvars(commit=head)

    def _converge(self, planned: Planned, head: str, last: str | None, table: StateTable) -> int:
        saved = planned.saved
        if self.config.mode == "plan":
            self.metrics.set_synced(head == last and saved.plan.empty)
            self._succeeded()
            digest = {} if saved.plan.empty else {"digest": saved.digest}
            log.info("planned", summary=saved.plan.summary(), **digest)
            return OK if saved.plan.empty else CHANGES
        result = self._apply(planned, head)
        if result is not None and not result.ok:
            log.error("reconcile incomplete", summary=result.summary())
            self.metrics.failures.labels("changes").inc()
            self.metrics.set_synced(False)
            self.last_retryable = True
            return ERROR
        if head == last:
            self._count_repairs(result)
        else:
            table.record_applied(head, owner=self.owner)
            self.metrics.set_head(HeadStatus.VALID.value, head=head, applied=head, reason=None)
        self.metrics.commit.info({"sha": head})
        self.metrics.set_synced(result is None or not result.of(Status.PENDING))
        self._succeeded()
        log.info("reconciled", applied_commit=head, summary=result.summary() if result else "in sync")
        return OK

    # ------------------------------------------------------------------ plan and apply

    def _load(self, sha: str) -> DesiredState:
        with self._git(), self.git.files(sha) as root:
            return load_directory(root, display_root=self.config.path)

    def _region(self, desired: DesiredState) -> str:
        region = desired.settings.region or self.config.region or self.aws.region
        if not region:
            raise ReconcilerError("no region: set Settings.region or --region")
        return region

    def _factory(self, region: str | None, *, read_only: bool) -> ClientFactory:
        aws = AwsConfig(
            endpoint_url=self.aws.endpoint_url,
            region=region,
            profile=self.aws.profile,
            max_attempts=self.aws.max_attempts,
            retry_mode=self.aws.retry_mode,
        )
        return ClientFactory(aws, read_only=read_only, on_send=self.metrics.beat_hook)

    def _table(self, *, read_only: bool) -> StateTable:
        """The state table (the lease, the last applied commit) of the credentials' account, in the region of
        --region or the AWS configuration: known before the head commit's manifests are (they may be invalid)."""
        factory = self._factory(self.config.region or self.aws.region, read_only=read_only)
        if self._account is None:
            with translate_errors("checking the account (sts:GetCallerIdentity)"):
                self._account = str(factory.client("sts").get_caller_identity()["Account"])
        return StateTable(factory, self.config.state_table, account_id=self._account)

    def _plan(self, desired: DesiredState, sha: str) -> Planned:
        region = self._region(desired)
        options = self.config.options
        planned = make_plan(
            desired,
            self._factory(region, read_only=True),
            region,
            adopt=options.adopt,
            allow_deletes=options.allow_deletes,
            commit=sha,
            display_root=self.config.path,
        )
        self._observe(planned)
        return planned

    def _apply(self, planned: Planned, sha: str) -> ApplyResult | None:
        """Apply exactly ``planned`` under the lease; when what it touches moved, plan again (logged)."""
        for attempt in range(1, MAX_PLAN_ATTEMPTS + 1):
            saved = planned.saved
            if saved.verdict.refused or saved.plan.empty:
                return None
            region = saved.target.region
            writer = self._factory(region, read_only=False)
            table = StateTable(
                self._factory(region, read_only=False), self.config.state_table, account_id=saved.target.account_id
            )  # its own clients: the writer's are guarded
            lease = Lease(table, owner=self.owner, ttl=self.config.lease_ttl, on_wait=self.metrics.lease_waited)
            log.info("applying the plan", digest=saved.digest, summary=saved.plan.summary(), attempt=attempt)
            try:
                return apply_saved(
                    saved,
                    reader=self._factory(region, read_only=True),
                    writer=writer,
                    lease=partial(lease.held, timeout=self.config.lease_timeout, stop=self.stop),
                    workers=self.config.options.max_workers,
                    on_outcome=self._observe_outcome,
                    stop=self.stop.is_set,
                )
            except PlanStale as exc:
                log.warning("the account moved since the plan was made; planning again", moved=list(exc.moved))
                if attempt == MAX_PLAN_ATTEMPTS:
                    raise
                desired_again = self._load(sha)
                planned = self._plan(desired_again, sha)
        return None

    # ------------------------------------------------------------------ observing

    def _observe(self, planned: Planned) -> None:
        saved, report = planned.saved, planned.preview.report
        plan = saved.plan
        if report is not None:
            self.metrics.findings.labels("error").set(len(report.errors))
            self.metrics.findings.labels("warning").set(len(report.warnings))
            for finding in report.findings:
                key = (finding.rule, finding.resource, finding.location, finding.message)
                if key in self._logged_findings:
                    continue  # once per cycle, even when the plan is made again
                self._logged_findings.add(key)
                emit = log.error if finding.severity.value == "error" else log.warning
                emit(
                    "invariant finding",
                    rule=finding.rule,
                    severity=finding.severity.value,
                    resource=finding.resource,
                    location=finding.location,
                    message=finding.message,
                )
        self.metrics.observe_plan(Counter(c.kind for c in plan), KIND_ORDER)
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

    def _observe_outcome(self, outcome: Outcome) -> None:
        change = outcome.change
        self.metrics.changes.labels(change.kind, change.action.value, outcome.status.value).inc()
        self.metrics.beat()
        if self.on_outcome is not None:
            self.on_outcome(outcome)

    def _count_repairs(self, result: ApplyResult | None) -> None:
        """Changes made while git did not change: someone changed the account by hand."""
        if result is None:
            return
        for kind, count in Counter(o.change.kind for o in result.of(Status.DONE)).items():
            self.metrics.drift_repaired(kind, count)

    def _succeeded(self) -> None:
        self.metrics.last_success.set(time.time())

    # ------------------------------------------------------------------ the loop

    def run_forever(self) -> int:
        """Reconcile every interval (with jitter) until stopped; back off on retryable failures; a webhook
        call (``wake``) starts the next reconcile at once."""
        failures = 0
        while not self.stop.is_set():
            self.wake.clear()
            status = self.reconcile_once()
            if status == ERROR and self.last_retryable:
                failures += 1
                delay = min(self.config.max_backoff, 5.0 * 2 ** (failures - 1))
                log.warning("backing off", seconds=round(delay, 1), failures=failures)
            else:
                failures = 0
                spread = self.config.interval * self.config.jitter
                delay = self.config.interval + random.uniform(-spread, spread)  # noqa: S311 - jitter
            self.metrics.sleep(self.stop, max(0.0, delay), self.wake)
        log.info("controller stopped")
        return OK
