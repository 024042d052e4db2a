"""Execute a Plan: exactly its changes, in dependency order, independent ones in parallel.

- Creates, updates and adoptions run first, each after the changes it depends on (policies
  before the roles and groups that attach them, groups before memberships, roles before the
  notebooks that run as them). Deletions and releases run after, dependants first.
- A failed change does not stop independent ones; the changes that depend on it are skipped.
- A stop request (SIGTERM) lets running changes finish and starts no new one.
- The rails (too many deletions, a broken checkout, adoption without --adopt) are checked
  before anything is written.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from enum import StrEnum

import structlog
from botocore.exceptions import BotoCoreError, ClientError
from botocore.parsers import ResponseParserError

from reconciler.aws.clients import ClientFactory
from reconciler.engine.plan import Action, Change, Plan
from reconciler.errors import MutationRefused, ReconcilerError
from reconciler.kinds import REGISTRY
from reconciler.kinds.context import Target
from reconciler.kinds.steps import Pending, Step, StepContext, StepError, StepInput
from reconciler.values import thaw

log = structlog.get_logger(__name__)


class Status(StrEnum):
    DONE = "done"
    PENDING = "pending"
    FAILED = "failed"
    SKIPPED = "skipped"


class RefusedError(ReconcilerError):
    """The plan breaks a rail (deletions, broken checkout); nothing was written."""

    # True when the invariant rules refused it (exit status 3 rather than 1).
    invariants: bool = False


@dataclass(frozen=True)
class Outcome:
    change: Change
    status: Status
    message: str | None = None
    seconds: float = 0.0
    retryable: bool = False


@dataclass(frozen=True)
class ApplyOptions:
    adopt: bool = False
    allow_deletes: int | None = None
    allow_destroy_retained: bool = False
    max_workers: int = 8
    consistency_timeout: float = 60.0
    poll_interval: float = 2.0


@dataclass(frozen=True)
class ApplyResult:
    outcomes: tuple[Outcome, ...] = ()
    # The lease was lost while applying: the changes not made were not even started.
    lease_lost: bool = False

    def of(self, status: Status) -> list[Outcome]:
        return [o for o in self.outcomes if o.status is status]

    def done(self, *actions: Action) -> int:
        return sum(1 for o in self.of(Status.DONE) if o.change.action in actions)

    @property
    def ok(self) -> bool:
        return not self.of(Status.FAILED) and not self.of(Status.SKIPPED)

    def summary(self) -> str:
        """One line, in the words of the plan's summary (an adoption counts as an adoption in both)."""
        replaced = self.done(Action.REPLACE)
        return (
            f"Apply: {self.done(Action.CREATE)} created, {self.done(Action.UPDATE)} updated, "
            f"{self.done(Action.DELETE)} deleted, {self.done(Action.ADOPT)} adopted, "
            + (f"{replaced} replaced, " if replaced else "")
            + f"{self.done(Action.RELEASE)} released, "
            f"{len(self.of(Status.PENDING))} pending, {len(self.of(Status.FAILED))} failed, "
            f"{len(self.of(Status.SKIPPED))} skipped."
        )

    def not_made(self) -> list[Outcome]:
        """The changes that were not made (failed or skipped), in plan order."""
        return [o for o in self.outcomes if o.status in (Status.FAILED, Status.SKIPPED)]


def _delete_then_create(delete: Step | None, create: Step | None) -> Step | None:
    """A replacement made of the kind's own steps: delete what is live, then create what git says (a kind
    whose name stays taken for a while after deletion defines its own ``replace`` step, which waits)."""
    if delete is None or create is None:
        return None

    def replace(step: StepContext, change: StepInput) -> None:
        delete(step, StepInput(change.name, change.live, {}, frozenset((f,) for f in change.live)))
        create(step, StepInput(change.name, {}, change.desired, frozenset((f,) for f in change.desired)))

    return replace


class Executor:
    def __init__(
        self,
        factory: ClientFactory,
        ctx: Target,
        options: ApplyOptions,
        *,
        notebook_updates: str = "when-stopped",
        on_outcome: Callable[[Outcome], None] | None = None,
        on_start: Callable[[Change], None] | None = None,
        stop: threading.Event | Callable[[], bool] | None = None,
        log_changes: bool = True,
        lease_lost: Callable[[], bool] | None = None,
    ) -> None:
        if factory.read_only:
            raise MutationRefused("*", "apply", "with read-only clients")
        self.step = StepContext(
            aws=factory,
            ctx=ctx,
            notebook_updates=notebook_updates,
            consistency_timeout=options.consistency_timeout,
            poll_interval=options.poll_interval,
        )
        self.ctx = ctx
        self.options = options
        self.on_outcome = on_outcome or (lambda _: None)
        self.on_start = on_start or (lambda _: None)
        # Whether to start no new change (SIGTERM, or the lease was lost).
        self.stopping: Callable[[], bool] = (
            stop.is_set if isinstance(stop, threading.Event) else stop or (lambda: False)
        )
        # Whether the lease is no longer held: checked before every change (and by the writer's guard
        # before every AWS write), so a writer that lost it starts nothing more.
        self.lease_lost: Callable[[], bool] = lease_lost or (lambda: False)
        self.log_changes = log_changes

    def run(self, plan: Plan) -> ApplyResult:
        converge = [c for c in plan if c.action in (Action.CREATE, Action.UPDATE, Action.ADOPT, Action.REPLACE)]
        remove = [c for c in plan if c.action in (Action.DELETE, Action.RELEASE)]
        outcomes: dict[str, Outcome] = {}
        self._run_graph(converge, self._forward_deps(converge), outcomes)
        self._run_graph(remove, self._reverse_deps(remove, plan), outcomes)
        return ApplyResult(tuple(outcomes[c.ref] for c in plan if c.ref in outcomes), lease_lost=self.lease_lost())

    # -------------------------------------------------------------- graph

    def _forward_deps(self, changes: list[Change]) -> dict[str, set[str]]:
        present = {c.ref for c in changes}
        return {
            c.ref: (REGISTRY[c.kind].references(thaw(c.desired) or {}, self.ctx) & present) - {c.ref} for c in changes
        }

    def _reverse_deps(self, changes: list[Change], plan: Plan) -> dict[str, set[str]]:
        """A deletion waits for the deletions of everything that refers to the deleted resource."""
        refs = {c.ref: REGISTRY[c.kind].references(thaw(c.live) or {}, self.ctx) for c in changes}
        present = {c.ref for c in changes}
        return {
            c.ref: {other for other, targets in refs.items() if c.ref in targets and other in present} for c in changes
        }

    def _run_graph(self, changes: list[Change], deps: dict[str, set[str]], outcomes: dict[str, Outcome]) -> None:
        by_ref = {c.ref: c for c in changes}
        waiting = dict(deps)
        running: dict[Future[Outcome], str] = {}
        with ThreadPoolExecutor(max_workers=self.options.max_workers, thread_name_prefix="apply") as pool:
            while waiting or running:
                self._settle(waiting, by_ref, outcomes)
                for ref in sorted(waiting):
                    blockers = waiting[ref]
                    change = by_ref[ref]
                    if self.lease_lost():
                        del waiting[ref]
                        self._finish(outcomes, Outcome(change, Status.SKIPPED, "not made: the lease was lost"))
                    elif self.stopping():
                        del waiting[ref]
                        self._finish(outcomes, Outcome(change, Status.SKIPPED, "skipped: stop requested"))
                    elif all(b in outcomes and outcomes[b].status is Status.DONE for b in blockers):
                        if len(running) >= self.options.max_workers:
                            # Hand the pool no more than it runs at once: a change queued in the pool
                            # could no longer be held back by a stop request.
                            continue
                        del waiting[ref]
                        self.on_start(change)
                        running[pool.submit(self._execute, change)] = ref
                if not running:
                    self._settle(waiting, by_ref, outcomes)
                    if waiting:  # a cycle would be a bug in references(); never hang on it
                        for ref in sorted(waiting):
                            self._finish(outcomes, Outcome(by_ref[ref], Status.SKIPPED, "skipped: dependency cycle"))
                        waiting.clear()
                    break
                done, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in done:
                    running.pop(future)
                    self._finish(outcomes, future.result())

    def _settle(self, waiting: dict[str, set[str]], by_ref: dict[str, Change], outcomes: dict[str, Outcome]) -> None:
        """Skip every waiting change that depends on one that was not made, transitively: a skip can make another
        change's dependency fail in turn, whatever order their names sort in."""
        progressed = True
        while progressed:
            progressed = False
            for ref in sorted(waiting):
                failed = [b for b in waiting[ref] if b in outcomes and outcomes[b].status is not Status.DONE]
                if failed:
                    del waiting[ref]
                    reason = f"skipped: depends on {', '.join(sorted(failed))}"
                    self._finish(outcomes, Outcome(by_ref[ref], Status.SKIPPED, reason))
                    progressed = True

    def _finish(self, outcomes: dict[str, Outcome], outcome: Outcome) -> None:
        outcomes[outcome.change.ref] = outcome
        change = outcome.change
        event = log.info if outcome.status in (Status.DONE, Status.PENDING) else log.error
        if self.log_changes:
            event(
                "change",
                kind=change.kind,
                name=change.name,
                action=change.action.value,
                status=outcome.status.value,
                seconds=round(outcome.seconds, 3),
                **({"message": outcome.message} if outcome.message else {}),
            )
        self.on_outcome(outcome)

    # -------------------------------------------------------------- one change

    def _execute(self, change: Change) -> Outcome:
        started = time.monotonic()
        kind = REGISTRY[change.kind]
        action = change.action
        if change.blocker is not None:
            return Outcome(change, Status.FAILED, f"refused: {change.blocker.message}; {change.blocker.unblock}")
        if (action is Action.ADOPT or change.adopting) and not self.options.adopt:
            return Outcome(
                change,
                Status.FAILED,
                "exists without the ownership tag: refusing to take it over (rerun with --adopt to adopt it)",
            )
        if change.retain and not self.options.allow_destroy_retained:
            return Outcome(change, Status.FAILED, "deletionPolicy Retain: replacing it needs --allow-destroy-retained")
        step_fn = kind.step("update" if action is Action.ADOPT else action.value)
        if step_fn is None and action is Action.REPLACE:
            step_fn = _delete_then_create(kind.step("delete"), kind.step("create"))
        if step_fn is None:
            return Outcome(change, Status.FAILED, f"{action.value} is not supported for {change.kind}")
        step_input = StepInput(
            change.name, thaw(change.live) or {}, thaw(change.desired) or {}, frozenset(f.path for f in change.fields)
        )
        try:
            step_fn(self.step, step_input)
        except Pending as pending:
            return Outcome(change, Status.PENDING, str(pending), time.monotonic() - started)
        except StepError as exc:
            return Outcome(change, Status.FAILED, str(exc), time.monotonic() - started, exc.retryable)
        except ClientError as exc:
            error = exc.response.get("Error", {})
            message = f"{exc.operation_name}: {error.get('Code')}: {error.get('Message')}"
            return Outcome(change, Status.FAILED, message, time.monotonic() - started, True)
        except (BotoCoreError, ResponseParserError, ReconcilerError) as exc:
            return Outcome(change, Status.FAILED, str(exc), time.monotonic() - started, True)
        return Outcome(change, Status.DONE, None, time.monotonic() - started)
