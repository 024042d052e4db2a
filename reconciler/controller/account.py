"""One account's part of a reconcile: judge the head commit for it, plan, apply that very plan under the account's
lease, record the account's last applied commit, and keep healing from that commit while the head cannot be
applied. The loop (:mod:`reconciler.controller.loop`) runs this for the one account of a directory, or for each
account of its shard of a fleet; nothing one account does (a refusal, a failure) stops another.

Every account has its own lease and its own last applied commit: items keyed by the account id in the state
table. In a fleet the table is the controller's own account's (the hub's); each account is read and changed
through its spoke role (``Account.spec.roleArn``, ``readRoleArn``).
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from functools import partial
from typing import Protocol

import structlog

from reconciler import clock
from reconciler.aws.clients import AssumedRole, AwsConfig, CallRecorder, ClientFactory
from reconciler.aws.lease import Lease, StateTable
from reconciler.controller.gitsource import Changed
from reconciler.controller.incremental import Baseline, Incremental, Memory, converged_baseline, targeted
from reconciler.controller.metrics import Metrics
from reconciler.controller.reporting import AccountReport
from reconciler.controller.schedule import CLOSED, OPEN, SUSPENDED, Gate, gate_of
from reconciler.engine.converge import Planned, PlanStale, apply_saved, make_plan
from reconciler.engine.executor import ApplyOptions, ApplyResult, Outcome, Status
from reconciler.engine.plan import Plan
from reconciler.engine.urgent import urgent_saved
from reconciler.engine.verdict import Verdict
from reconciler.errors import ReconcilerError
from reconciler.manifests import DesiredState
from reconciler.manifests.model import Account

log = structlog.get_logger(__name__)

OK, ERROR, CHANGES, REFUSED = 0, 1, 2, 3
#: Plans made for one commit in one cycle when the account keeps moving under the lease.
MAX_PLAN_ATTEMPTS = 3
#: Client factories a controller keeps from cycle to cycle.
MAX_FACTORIES = 64


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


class Source(Protocol):
    """What an account's reconcile needs of the loop: the desired state of a commit, and git ancestry."""

    def load(self, sha: str, account: Account | None) -> DesiredState | None:
        """The desired state of ``account`` (None: the one account of the directory) at commit ``sha``; None when
        the account is not in that commit's fleet."""

    def is_ancestor(self, older: str, newer: str) -> bool: ...

    def changed(self, older: str, newer: str) -> list[Changed]:
        """The files of the manifest directory that differ between two commits."""


@dataclass
class Shared:
    """What every account's reconcile of one controller shares."""

    aws: AwsConfig
    metrics: Metrics
    owner: str
    mode: str
    state_table: str
    lease_ttl: float
    lease_timeout: float
    allow_rewind: bool
    options: ApplyOptions
    display_root: str
    stop_event: threading.Event
    on_plan: Callable[[Plan], None] | None = None
    on_outcome: Callable[[Outcome], None] | None = None
    # The memory between cycles (full reads, targeted ones, unchanged commits); None: every cycle is a full one.
    incremental: Incremental | None = None
    # Counts every AWS call of the controller's clients (tests, benchmarks).
    recorder: CallRecorder | None = None
    # Clients and state tables, kept from cycle to cycle (their account check and table check are made once).
    factories: dict[tuple[object, ...], ClientFactory] = field(default_factory=dict)
    tables: dict[tuple[str, bool], StateTable] = field(default_factory=dict)


class AccountReconcile:
    """One account's reconcile of one commit (a new one per account and cycle)."""

    def __init__(
        self,
        shared: Shared,
        source: Source,
        *,
        account: Account | None,
        account_id: str,
        table_region: str | None,
        logged: set[tuple[str, str, str | None, str]],
    ) -> None:
        self.shared = shared
        self.source = source
        self.account = account
        self.account_id = account_id
        self.label = account.name if account is not None else account_id
        self.table_region = table_region
        self.metrics = shared.metrics
        self.last_retryable = False
        self.report = AccountReport(self.metrics, self.label, logged, shared.on_plan, shared.on_outcome)

    # ------------------------------------------------------------------ clients

    def factory(self, region: str | None, *, read_only: bool, commit: str | None = None) -> ClientFactory:
        """Clients for this account: through its spoke role (the read one when ``read_only``) in a fleet."""
        assume = AssumedRole.for_account(self.account, read_only=read_only, mode=self.shared.mode, commit=commit)
        key = (self.account_id, region, read_only, assume)
        factories = self.shared.factories
        factory = factories.get(key)
        if factory is None:
            if len(factories) >= MAX_FACTORIES:  # a fleet's assumed roles name the commit: a new one per commit
                factories.clear()
            config = dataclasses.replace(self.shared.aws, region=region, assume=assume)
            factory = factories[key] = ClientFactory(
                config, read_only=read_only, on_send=self.metrics.beat_hook, recorder=self.shared.recorder
            )
        return factory

    def table(self, *, read_only: bool) -> StateTable:
        """The state table (the lease, the last applied commit) of the controller's own credentials' account, with
        this account's items."""
        table = self.shared.tables.get((self.account_id, read_only))
        if table is None:
            config = dataclasses.replace(self.shared.aws, region=self.table_region, assume=None)
            factory = ClientFactory(
                config, read_only=read_only, on_send=self.metrics.beat_hook, recorder=self.shared.recorder
            )
            table = StateTable(factory, self.shared.state_table, account_id=self.account_id)
            self.shared.tables[(self.account_id, read_only)] = table
        return table

    # ------------------------------------------------------------------ one reconcile

    def quick(self, head: str) -> int | None:
        """This cycle's status when it has nothing to do for the account (the same commit as its last cycle,
        between full reads: one read of the state table); None when it has."""
        incremental = self.shared.incremental
        if incremental is None:
            return None
        last = self.table(read_only=self.shared.mode == "plan").last_applied()
        return self._unchanged(incremental, head, last)

    def _unchanged(self, incremental: Incremental, head: str, last: str | None) -> int | None:
        memory = incremental.unchanged(self.account_id, head, last)
        if memory is None:
            return None
        incremental.counted("none")
        if memory.problem is not None:
            self.log_problem(memory.problem, head, last)
        else:
            log.info("unchanged since the last cycle; nothing read", head=head, last_applied=last)
        return memory.status

    def reconcile(
        self, head: str, desired: DesiredState | None, invalid: HeadProblem | None, *, full: bool = True
    ) -> int:
        """Judge ``head`` for this account (``desired``: its state there; ``invalid``: the head does not load),
        then converge to it, or heal from the last applied commit. ``full``: read the whole account (else, between
        full reads, only what a new commit changed: :mod:`reconciler.controller.incremental`)."""
        shared = self.shared
        table = self.table(read_only=shared.mode == "plan")
        last = table.last_applied()
        incremental = shared.incremental
        if incremental is not None and not full:
            status = self._unchanged(incremental, head, last)
            if status is not None:
                return status
        try:
            return self._reconcile(head, desired, invalid, last, full=full)
        except BaseException:
            if incremental is not None:
                incremental.forget(self.account_id)
            raise

    def _reconcile(
        self, head: str, desired: DesiredState | None, invalid: HeadProblem | None, last: str | None, *, full: bool
    ) -> int:
        shared = self.shared
        incremental = shared.incremental
        problem: HeadProblem | None = None
        planned: Planned | None = None
        rewound = bool(last) and not shared.allow_rewind and not self.source.is_ancestor(str(last), head)
        if rewound:
            assert last is not None
            problem = HeadProblem(
                HeadStatus.REWIND,
                f"it is not a descendant of the last applied commit {last[:12]} (a force push or a "
                "rollback?); run with --allow-rewind to apply it",
                ERROR,
            )
        elif invalid is not None:
            problem = invalid
        else:
            assert desired is not None
            baseline = None
            if incremental is not None and not full and shared.mode == "apply" and last is not None:
                baseline = incremental.baseline(self.account_id, last)
            if baseline is not None and gate_of(desired.settings, clock.now()).state != OPEN:
                baseline = None  # the schedule holds changes back: a full plan says what, and what still proceeds
            if baseline is not None:
                assert last is not None
                self.metrics.set_account_head(self.label, HeadStatus.VALID.value, head=head, applied=last)
                status = targeted(self, head, last, desired, baseline)
                if status is not None:
                    return status
            planned = self.plan(desired, head)
            if incremental is not None:
                incremental.counted("full")
            if planned.saved.verdict.refused:
                problem = self.refused(planned.saved.verdict)
        if problem is None:
            assert planned is not None and desired is not None
            self.metrics.set_account_head(self.label, HeadStatus.VALID.value, head=head, applied=last)
            return self.converge(planned, head, last, desired)
        return self.head_problem(problem, head, last, heal=full)

    def refused(self, verdict: Verdict) -> HeadProblem:
        """The head's problem when its plan is refused."""
        return HeadProblem(HeadStatus.REFUSED, "; ".join(verdict.lines()), REFUSED if verdict.by_invariants else ERROR)

    def log_problem(self, problem: HeadProblem, head: str, last: str | None) -> None:
        log.error(
            "head commit cannot be applied",
            status=problem.status.value,
            reason=problem.reason,
            head=head,
            last_applied=last,
        )

    def head_problem(self, problem: HeadProblem, head: str, last: str | None, *, heal: bool) -> int:
        """Report why the head cannot be applied (and, ``heal``, keep the account at the last applied commit)."""
        self.log_problem(problem, head, last)
        self.metrics.account_failed(self.label, problem.status.value)
        self.metrics.set_account_head(self.label, problem.status.value, head=head, applied=last, reason=problem.reason)
        self.metrics.set_account_synced(self.label, False)
        incremental = self.shared.incremental
        baseline = incremental.baseline(self.account_id, last) if incremental is not None else None
        if heal:
            baseline = self.heal_from(last, head)
        if incremental is not None:
            incremental.remember(self.account_id, Memory(head, last, problem.exit_status, problem, baseline))
        return problem.exit_status

    def heal_from(self, last: str | None, head: str, gate: Gate | None = None) -> Baseline | None:
        """Keep reverting drift to the last commit applied successfully while the head cannot be applied (or, with
        ``gate``, the head's closed schedule, while it must wait: only the part of that which always proceeds); the
        account's baseline at that commit when it is converged to it."""
        if last is None or last == head:
            log.warning("no earlier applied commit to keep the account at; waiting for a commit that fixes the head")
            return None
        structlog.contextvars.bind_contextvars(commit=last)
        try:
            desired = self.source.load(last, self.account)
            if desired is None:
                log.warning("the account is not in the last applied commit's fleet; nothing to keep it at")
                return None
            planned = self.plan(desired, last)
            if planned.saved.verdict.refused:
                log.error(
                    "the last applied commit is refused now too; nothing is changed",
                    reason=planned.saved.verdict.headline(),
                )
                return None
            if self.shared.mode == "plan":
                log.info("planned the last applied commit", summary=planned.saved.plan.summary())
                return None
            gate = gate or self.gate(planned)
            if gate.state == SUSPENDED:
                log.warning("changes held back by the schedule", reason=gate.reason, last_applied=last)
                return None
            result = self.apply(planned, last, narrow=self.urgent(last) if gate.state == CLOSED else None)
            self.report.count_repairs(result)
            log.info(
                "kept the account at the last applied commit",
                last_applied=last,
                summary=result.summary() if result else "in sync",
            )
            if gate.state == CLOSED:
                return None  # only what always proceeds was applied: the account is not converged to ``last``
            return self.baseline(last, desired, planned, result)
        finally:
            structlog.contextvars.bind_contextvars(commit=head)

    def baseline(
        self, commit: str, desired: DesiredState, planned: Planned, result: ApplyResult | None
    ) -> Baseline | None:
        """The account's baseline once ``planned`` (a full plan of ``desired``) was applied; None when the
        controller keeps none (every cycle is a full one) or the apply failed."""
        incremental = self.shared.incremental
        if incremental is None or incremental.resync is None or (result is not None and not result.ok):
            return None
        return converged_baseline(commit, desired, planned, result, planned.saved.target.region)

    def converge(self, planned: Planned, head: str, last: str | None, desired: DesiredState) -> int:
        saved = planned.saved
        incremental = self.shared.incremental
        if self.shared.mode == "plan":
            self.metrics.set_account_synced(self.label, head == last and saved.plan.empty)
            self.metrics.account_succeeded(self.label)
            digest = {} if saved.plan.empty else {"digest": saved.digest}
            log.info("planned", summary=saved.plan.summary(), **digest)
            status = OK if saved.plan.empty else CHANGES
            if incremental is not None:
                incremental.remember(self.account_id, Memory(head, last, status))
            return status
        gate = self.gate(planned)
        if gate.state != OPEN and not saved.plan.empty:
            if incremental is not None:
                incremental.forget(self.account_id)  # held back: the next cycle judges the head again, in full
            return self.held_back(planned, gate, head, last)
        result = self.apply(planned, head)
        if result is not None and not result.ok:
            if incremental is not None:
                incremental.forget(self.account_id)
            return self.incomplete(result)
        if head == last:
            self.report.count_repairs(result)
        else:
            self.table(read_only=False).record_applied(head, owner=self.shared.owner)
        if incremental is not None:
            baseline = self.baseline(head, desired, planned, result)
            incremental.remember(self.account_id, Memory(head, head, OK, None, baseline))
        return self.succeeded(head, last, result)

    def incomplete(self, result: ApplyResult) -> int:
        """An apply with failed changes: reported; the next cycle tries again."""
        log.error("reconcile incomplete", summary=result.summary())
        self.metrics.account_failed(self.label, "changes")
        self.metrics.set_account_synced(self.label, False)
        self.last_retryable = True
        return ERROR

    def succeeded(self, head: str, last: str | None, result: ApplyResult | None, *, note: str | None = None) -> int:
        """The account is converged to ``head`` (recorded as its last applied commit)."""
        if head != last:
            self.metrics.set_account_head(self.label, HeadStatus.VALID.value, head=head, applied=head)
        self.metrics.set_account_applied(self.label, head)
        self.metrics.set_account_synced(self.label, result is None or not result.of(Status.PENDING))
        self.metrics.account_succeeded(self.label)
        summary = note or (result.summary() if result else "in sync")
        log.info("reconciled", applied_commit=head, summary=summary)
        return OK

    def held_back(self, planned: Planned, gate: Gate, head: str, last: str | None) -> int:
        """The head's schedule holds its plan back: apply only what always proceeds (nothing while suspended), as
        drift of the last applied commit (the head's own changes wait). The head is not recorded as applied; exit
        status 2 (changes present) unless what was applied failed."""
        log.warning("changes held back by the schedule", reason=gate.reason, summary=planned.saved.plan.summary())
        self.metrics.set_account_synced(self.label, False)
        if gate.state != CLOSED:
            self.metrics.account_succeeded(self.label)
            return CHANGES
        if head != last:
            if last is None:
                log.warning("no commit applied yet: the first apply waits for the schedule")
            else:
                self.heal_from(last, head, gate)
            self.metrics.account_succeeded(self.label)
            return CHANGES
        result = self.apply(planned, head, narrow=self.urgent(head))
        if result is not None and not result.ok:
            log.error("reconcile incomplete", summary=result.summary())
            self.metrics.account_failed(self.label, "changes")
            self.last_retryable = True
            return ERROR
        self.report.count_repairs(result)
        self.metrics.account_succeeded(self.label)
        return CHANGES

    def urgent(self, sha: str) -> Callable[[Planned], Planned]:
        """What narrows a plan of ``sha`` to the part that always proceeds (:mod:`reconciler.engine.urgent`)."""

        def narrow(planned: Planned) -> Planned:
            reader = self.factory(planned.saved.target.region, read_only=True, commit=sha)
            saved = urgent_saved(planned.saved, planned.preview, reader)
            log.info("what always proceeds", summary=saved.plan.summary(), resources=[c.ref for c in saved.plan][:50])
            if saved.verdict.refused:
                log.error("what always proceeds is refused; nothing is changed", reason=saved.verdict.headline())
            return Planned(saved, planned.preview)

        return narrow

    def gate(self, planned: Planned) -> Gate:
        """What the schedule of the plan's manifests (Settings.suspend, Settings.syncWindows) lets apply now."""
        current = planned.preview.current
        assert current is not None
        gate = gate_of(current.desired.settings, clock.now())
        self.metrics.schedule.set_gate(self.label, gate)
        return gate

    # ------------------------------------------------------------------ plan and apply

    def region(self, desired: DesiredState) -> str:
        region = desired.settings.region or self.table_region or self.shared.aws.region
        if not region:
            raise ReconcilerError("no region: set Settings.region or --region")
        return region

    def plan(self, desired: DesiredState, sha: str) -> Planned:
        region = self.region(desired)
        options = self.shared.options
        incremental = self.shared.incremental
        rules = incremental.rules_for(self.account_id) if incremental is not None and incremental.resync else None
        planned = make_plan(
            desired,
            self.factory(region, read_only=True, commit=sha),
            region,
            adopt=options.adopt,
            allow_deletes=options.allow_deletes,
            commit=sha,
            display_root=self.shared.display_root,
            findings=rules.findings if rules is not None else None,
        )
        self.report.observe(planned)
        return planned

    def apply(
        self, planned: Planned, sha: str, *, narrow: Callable[[Planned], Planned] | None = None
    ) -> ApplyResult | None:
        """Apply exactly ``planned`` (``narrow``ed: the part of it to apply) under the account's lease; when what it
        touches moved, plan again (logged)."""
        shared = self.shared
        for attempt in range(1, MAX_PLAN_ATTEMPTS + 1):
            if narrow is not None:
                planned = narrow(planned)
            saved = planned.saved
            if saved.verdict.refused or saved.plan.empty:
                return None
            region = saved.target.region
            writer = self.factory(region, read_only=False, commit=sha)
            table = self.table(read_only=False)  # its own clients: the writer's are guarded
            lease = Lease(table, owner=shared.owner, ttl=shared.lease_ttl, on_wait=self.metrics.lease_waited)
            log.info("applying the plan", digest=saved.digest, summary=saved.plan.summary(), attempt=attempt)
            try:
                return apply_saved(
                    saved,
                    reader=self.factory(region, read_only=True, commit=sha),
                    writer=writer,
                    lease=partial(lease.held, timeout=shared.lease_timeout, stop=shared.stop_event),
                    workers=shared.options.max_workers,
                    on_outcome=self.report.observe_outcome,
                    stop=shared.stop_event.is_set,
                )
            except PlanStale as exc:
                log.warning("the account moved since the plan was made; planning again", moved=list(exc.moved))
                if attempt == MAX_PLAN_ATTEMPTS:
                    raise
                desired_again = self.source.load(sha, self.account)
                if desired_again is None:
                    return None
                planned = self.plan(desired_again, sha)
        return None
