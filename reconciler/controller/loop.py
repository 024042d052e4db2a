"""The reconcile loop: pull git, judge the head commit, plan, apply that very plan under the lease, report.

Every cycle judges the head commit of the branch: *valid*, *invalid* (its manifests do not load),
*refused* (its plan is refused: the invariants, a rail, adoption, a change apply will not make) or
*rewind* (it does not descend from the last applied commit). A valid head is planned and applied.
Whatever is wrong with the head, self-healing does not stop: the controller plans the last commit it
applied successfully and reverts drift to it, every interval, while the head's problem is reported on
every cycle (logs, metrics, /readyz) until a new commit fixes it.

A directory with Account manifests is a fleet: each account of this process's shard
(``shard_index`` of ``shard_count``, by rendezvous hashing of the account id) is judged, planned,
applied and healed on its own (:mod:`reconciler.controller.account`), with its own lease and last
applied commit; a refused or failing account never stops the others. The cycle's status is the worst
of its accounts'.

Exit statuses of one reconcile follow plan/apply: 0 in sync or converged, 2 changes found (plan mode),
1 error (git, AWS, an invalid head, a refused rewind, a failed change), 3 the head is refused by the
invariants.
"""

from __future__ import annotations

import dataclasses
import random
import re
import threading
import time
import uuid
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path

import structlog

from reconciler.aws.clients import AwsConfig, CallRecorder, ClientFactory
from reconciler.aws.failures import translate_errors
from reconciler.aws.lease import DEFAULT_TABLE, default_owner
from reconciler.controller.account import AccountReconcile, HeadProblem, HeadStatus, Shared
from reconciler.controller.gitsource import Changed, GitError, GitSource
from reconciler.controller.incremental import Incremental
from reconciler.controller.metrics import Metrics
from reconciler.engine.executor import ApplyOptions, Outcome
from reconciler.engine.plan import Plan
from reconciler.engine.render_fleet import worst
from reconciler.errors import ManifestError, ReconcilerError
from reconciler.kinds import load_changes, load_fleet
from reconciler.manifests import DesiredState
from reconciler.manifests.changes import NotIncremental
from reconciler.manifests.fleet import Fleet, shard_of
from reconciler.manifests.model import Account
from reconciler.runtime import release_memory

__all__ = ["Controller", "ControllerConfig", "HeadProblem", "HeadStatus", "parse_interval"]

log = structlog.get_logger(__name__)

OK, ERROR, CHANGES, REFUSED = 0, 1, 2, 3
#: The most git commands one step of the loop runs (each bounded by GitSource.timeout).
GIT_COMMANDS = 4
#: How many commits before an invalid head are tried for the fleet's accounts, on a start with an invalid head.
HISTORY_FOR_ACCOUNTS = 20


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


@dataclass
class ControllerConfig:
    source: str
    branch: str = "main"
    path: str = "desired-state"
    cache_dir: Path = field(default_factory=lambda: Path("/tmp/reconciler-cache"))  # noqa: S108
    interval: float = 300.0
    jitter: float = 0.1
    # Seconds between full reads of the account(s) (with ``jitter``); between them a cycle reads only what a new
    # commit changed, and nothing for an unchanged one (``reconciler.controller.incremental``). None: every cycle
    # reads everything (``reconciler run`` defaults to 1h).
    resync: float | None = None
    mode: str = "apply"
    allow_rewind: bool = False
    state_table: str = DEFAULT_TABLE
    lease_ttl: float = 60.0
    lease_timeout: float = 600.0
    max_backoff: float = 600.0
    region: str | None = None
    options: ApplyOptions = field(default_factory=ApplyOptions)
    # This process's shard of a fleet: the accounts whose rendezvous hash of the id picks ``shard_index``.
    shard_index: int = 0
    shard_count: int = 1


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
        recorder: CallRecorder | None = None,
    ) -> None:
        if config.shard_count < 1 or not 0 <= config.shard_index < config.shard_count:
            count = config.shard_count
            raise ReconcilerError(f"shard index {config.shard_index} is not in 0..{count - 1} (shard count {count})")
        self.config = config
        self.aws = aws
        self.metrics = metrics or Metrics()
        self.stop = stop or threading.Event()
        # Set (by the webhook) to reconcile now; a wake during a reconcile gives exactly one more.
        self.wake = wake or threading.Event()
        self.git = GitSource(config.source, branch=config.branch, path=config.path, cache_dir=config.cache_dir)
        self.last_retryable = False
        self.owner = default_owner()
        self.shared = Shared(
            aws=aws,
            metrics=self.metrics,
            owner=self.owner,
            mode=config.mode,
            state_table=config.state_table,
            lease_ttl=config.lease_ttl,
            lease_timeout=config.lease_timeout,
            allow_rewind=config.allow_rewind,
            options=config.options,
            display_root=config.path,
            stop_event=self.stop,
            on_plan=on_plan,
            on_outcome=on_outcome,
            incremental=Incremental(config.resync, config.jitter, self.metrics),
            recorder=recorder,
        )
        self.incremental = self.shared.incremental
        # The head and the accounts of the last cycle that went through its accounts: an unchanged head is
        # checked against them without loading anything.
        self._last_cycle: tuple[str, list[tuple[str, Account | None, str]]] | None = None
        self._account: str | None = None  # the credentials' own account id
        # This shard's accounts at the last commit whose manifests loaded (None: not known yet, or a directory of
        # one account): what to keep healing while the head does not load.
        self._known: tuple[Account, ...] | None = None
        self._single: bool | None = None  # whether the last commit that loaded was a directory of one account
        self._loaded: dict[str, Fleet] = {}  # this cycle's loads, by commit
        self._kept: tuple[str, Fleet] | None = None  # the last commit loaded, and what it loaded
        self._changes: dict[tuple[str, str], list[Changed]] = {}  # this cycle's git diffs
        self.metrics.interval.set(config.interval)

    # ------------------------------------------------------------------ one reconcile

    def reconcile_once(self) -> int:
        """One reconcile of the newest commit. Never raises for expected failures."""
        run_id = uuid.uuid4().hex[:12]
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(run_id=run_id)
        started = time.monotonic()
        self.last_retryable = False
        self._loaded = {}
        self._changes = {}
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
            self._loaded = {}
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
        assert self.incremental is not None
        full = self.incremental.full_due()
        if not full:
            unchanged = self._unchanged(head)
            if unchanged is not None:
                return unchanged
        status = self._accounts_cycle(head, full=full)
        if full:
            self.incremental.full_done()
        return status

    def _unchanged(self, head: str) -> int | None:
        """The cycle's status when no account has anything to do (the head and each account's last applied commit
        as in the last cycle: one read of the state table per account, nothing loaded); None otherwise."""
        if self._last_cycle is None or self._last_cycle[0] != head:
            return None
        statuses = []
        for label, account, account_id in self._last_cycle[1]:
            reconcile = self._account_reconcile(account, account_id, set())
            with structlog.contextvars.bound_contextvars(**({"account": label} if account is not None else {})):
                try:
                    status = reconcile.quick(head)
                except ReconcilerError as exc:
                    log.warning("could not tell whether anything changed; reconciling", error=str(exc))
                    return None
            if status is None:
                return None
            statuses.append(status)
        return worst(statuses)

    def _account_reconcile(
        self, account: Account | None, account_id: str, logged: set[tuple[str, str, str | None, str]]
    ) -> AccountReconcile:
        return AccountReconcile(
            self.shared,
            self,
            account=account,
            account_id=account_id,
            table_region=self.config.region or self.aws.region,
            logged=logged,
        )

    def _accounts_cycle(self, head: str, *, full: bool) -> int:
        fleet: Fleet | None = None
        invalid: HeadProblem | None = None
        try:
            fleet = self._fleet(head)
        except ManifestError as exc:
            for problem_line in exc.problems:
                log.error("invalid manifest", problem=str(problem_line))
            invalid = HeadProblem(
                HeadStatus.INVALID, f"{len(exc.problems)} manifest problem(s): {exc.problems[0]}", ERROR
            )
        targets = self._targets(fleet, head)
        self.metrics.set_shard(self.config.shard_index, self.config.shard_count, [label for label, *_ in targets])
        if not targets:
            log.info("no account of the fleet is this shard's", shard=self.config.shard_index)
            return OK
        logged: set[tuple[str, str, str | None, str]] = set()
        statuses = []
        self._last_cycle = None
        for label, account, account_id, desired in targets:
            reconcile = self._account_reconcile(account, account_id, logged)
            if account is None:  # a directory of one account: its failure is the reconcile's
                statuses.append(reconcile.reconcile(head, desired, invalid, full=full))
                self.last_retryable = self.last_retryable or reconcile.last_retryable
                continue
            statuses.append(self._isolated(reconcile, label, head, desired, invalid, full=full))
        self._last_cycle = (head, [(label, account, account_id) for label, account, account_id, _ in targets])
        return worst(statuses)

    def _isolated(
        self,
        reconcile: AccountReconcile,
        label: str,
        head: str,
        desired: DesiredState | None,
        invalid: HeadProblem | None,
        *,
        full: bool,
    ) -> int:
        """One account of a fleet: whatever fails in it is its own failure, and the next account goes on."""
        with structlog.contextvars.bound_contextvars(account=label):
            try:
                status = reconcile.reconcile(head, desired, invalid, full=full)
            except ReconcilerError as exc:
                log.error("account reconcile failed", error=str(exc), retryable=exc.retryable)
                self.metrics.account_failed(label, type(exc).__name__)
                self.metrics.set_account_synced(label, False)
                self.last_retryable = self.last_retryable or exc.retryable
                return ERROR
            self.last_retryable = self.last_retryable or reconcile.last_retryable
            return status

    def _targets(self, fleet: Fleet | None, head: str) -> list[tuple[str, Account | None, str, DesiredState | None]]:
        """(label, account, account id, desired state at the head or None) of each account this cycle reconciles."""
        if fleet is None:  # the head does not load: the accounts of the last commit that did
            accounts = self._known
            if accounts is None and self._single is not True:
                accounts = self._accounts_before(head)
            if accounts is None:  # a directory of one account (or nothing loads): the credentials' own
                return [self._own_account(None)]
            return [(a.name, a, a.account_id, None) for a in accounts]
        self._single = not fleet.is_fleet
        if not fleet.is_fleet:
            self._known = None
            target = self._own_account(fleet.states[0])
            if self.config.shard_count > 1 and shard_of(target[2], self.config.shard_count) != self.config.shard_index:
                return []
            return [target]
        self._known = tuple(state.account for state in fleet.states if state.account is not None)
        return [(s.account.name, s.account, s.account.account_id, s) for s in fleet.states if s.account is not None]

    def _own_account(self, desired: DesiredState | None) -> tuple[str, None, str, DesiredState | None]:
        """The one account of a directory without Account manifests: the credentials' own (known before the head
        commit's manifests are: they may be invalid)."""
        if self._account is None:
            factory = ClientFactory(
                dataclasses.replace(self.aws, region=self.config.region or self.aws.region, assume=None),
                read_only=True,
                on_send=self.metrics.beat_hook,
                recorder=self.shared.recorder,
            )
            with translate_errors("checking the account (sts:GetCallerIdentity)"):
                self._account = str(factory.client("sts").get_caller_identity()["Account"])
        return (self._account, None, self._account, desired)

    def _accounts_before(self, head: str) -> tuple[Account, ...] | None:
        """This shard's accounts at the newest of the last few commits before ``head`` whose manifests load (None
        for a directory of one account, or when none loads)."""
        with self._git():
            earlier = self.git.parents(head, HISTORY_FOR_ACCOUNTS)
        for sha in earlier:
            try:
                fleet = self._fleet(sha)
            except ManifestError:
                continue
            self._single = not fleet.is_fleet
            if not fleet.is_fleet:
                return None
            self._known = tuple(s.account for s in fleet.states if s.account is not None)
            return self._known
        return None

    # ------------------------------------------------------------------ the desired state of a commit

    def _select(self, account: Account) -> bool:
        count = self.config.shard_count
        return count == 1 or shard_of(account.account_id, count) == self.config.shard_index

    def _fleet(self, sha: str) -> Fleet:
        """The desired state of this shard's accounts at commit ``sha`` (loaded once per cycle)."""
        fleet = self._loaded.get(sha)
        if fleet is None and self._kept is not None:
            fleet = self._changed_fleet(*self._kept, sha)
        if fleet is None:
            with self._git(), self.git.files(sha) as root:
                fleet = load_fleet(root, display_root=self.config.path, select=self._select)
        self._loaded[sha] = fleet
        self._kept = (sha, fleet)
        return fleet

    def _changed_fleet(self, older: str, previous: Fleet, sha: str) -> Fleet | None:
        """The desired state at ``sha`` from the one at ``older`` (the last commit loaded) and the files that changed
        between them, read alone; None when the whole directory must be loaded: git cannot tell what changed, a
        fleet, a symbolic link changed, or a changed file has a problem (the whole load reports it, as always)."""
        try:
            changed = self.changed(older, sha)
        except GitError:
            return None
        if not changed:
            return previous  # not a file of the manifest directory changed: the same desired state
        if previous.is_fleet or any(c.link for c in changed):
            return None
        written = sorted({c.new for c in changed if c.new is not None})
        gone = sorted({c.old for c in changed if c.old is not None} - set(written))
        try:
            with self._git(), self.git.files(sha, only=written) as root:
                desired = load_changes(
                    previous.states[0],
                    root,
                    changed=written,
                    removed=gone,
                    display_root=self.config.path,
                    fingerprint=f"git:{self.git.tree(sha)}",
                )
        except (NotIncremental, ManifestError, GitError) as exc:
            log.info("loading every manifest of the commit", reason=str(exc).splitlines()[0][:200])
            return None
        log.info("loaded the changed manifest files", files=len(written), removed=len(gone))
        return Fleet(states=(desired,), accounts=(), root=desired.root, fingerprint=desired.fingerprint)

    def load(self, sha: str, account: Account | None) -> DesiredState | None:
        """:class:`~reconciler.controller.account.Source`: ``account``'s desired state at ``sha``."""
        fleet = self._fleet(sha)
        if account is None:
            return fleet.states[0] if not fleet.is_fleet else None
        # By id: an account renamed since keeps its last applied commit (the state table is keyed by id).
        return next(
            (s for s in fleet.states if s.account is not None and s.account.account_id == account.account_id), None
        )

    def is_ancestor(self, older: str, newer: str) -> bool:
        with self._git():
            return self.git.is_ancestor(older, newer)

    def changed(self, older: str, newer: str) -> list[Changed]:
        """The files of the manifest directory that differ between two commits (asked once per cycle)."""
        found = self._changes.get((older, newer))
        if found is None:
            with self._git():
                found = self._changes[(older, newer)] = self.git.changed(older, newer)
        return found

    # ------------------------------------------------------------------ the loop

    def run_forever(self) -> int:
        """Reconcile every interval (with jitter) until stopped; back off on retryable failures; a webhook
        call (``wake``) starts the next reconcile at once. Between two reconciles the process gives back what the
        last one freed (:func:`reconciler.runtime.release_memory`), so the memory it keeps while it waits does not
        depend on where that cycle's allocations landed."""
        failures = 0
        while not self.stop.is_set():
            self.wake.clear()
            status = self.reconcile_once()
            started = time.monotonic()
            released = release_memory()
            log.debug(
                "memory released",
                collected=released.collected,
                trimmed=released.trimmed,
                seconds=round(time.monotonic() - started, 3),
            )
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
