"""Prometheus metrics, the loop's heartbeat and the head commit's status, for the long-running controller.

The metrics live in their own registry (nothing global). :class:`Metrics` also holds what the health
endpoints answer (served by :class:`~reconciler.controller.httpserver.HealthServer`):

* liveness (``/healthz``): the loop beat within ``stale_after`` seconds. The loop, and what it calls,
  beat often: every AWS HTTP attempt (:meth:`Metrics.beat_hook` on botocore's ``before-send``), every
  slice of a wait (:meth:`Metrics.sleep`), around every git operation (:meth:`Metrics.blocking`). So a
  long reconcile, a lease wait included, never looks dead; a loop stuck anywhere stops beating.
* readiness (``/readyz``): a reconcile has completed and the head commit can be applied
  (:meth:`Metrics.set_head`); otherwise one line saying why not.

Every method is safe to call from any thread.
"""

from __future__ import annotations

import threading
import time
from collections import Counter as Counter_
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager, suppress
from typing import Any, Final

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Info, ProcessCollector
from prometheus_client.exposition import generate_latest

from reconciler.controller.schedule import ScheduleMetrics

__all__ = [
    "BACKGROUND_THREADS",
    "DEFAULT_STALE_AFTER",
    "FAILING_STATUSES",
    "HEAD_STATUSES",
    "SLEEP_SLICE",
    "Metrics",
]

#: ``/healthz`` turns 503 when the loop has not beaten for this long (seconds). It must exceed the
#: longest gap between two beats of a healthy loop (a git operation: 120 s; an AWS HTTP attempt and
#: botocore's retry backoff: 65 + 20 s) with room to spare: deploy/kubernetes/README.md has the budget,
#: tests/deploy/test_kubernetes.py checks it.
DEFAULT_STALE_AFTER: Final = 300.0
#: :meth:`Metrics.sleep` beats at least this often (seconds).
SLEEP_SLICE: Final = 5.0
#: How soon :meth:`Metrics.sleep` notices its ``wake`` event (seconds); ``stop`` is noticed at once.
WAKE_POLL: Final = 0.5

#: Threads whose AWS calls are not progress of the loop: :meth:`Metrics.beat_hook` ignores them. The
#: lease's renewal thread (reconciler/controller/lease.py) renews every ttl/3 for as long as the lease
#: is held, so it would keep a loop stuck while holding the lease looking alive.
BACKGROUND_THREADS: Final = frozenset({"lease-renewal"})

#: The statuses of the head commit, one-hot in ``reconciler_head_status``.
HEAD_STATUSES: Final = ("valid", "invalid", "refused", "rewind", "unknown")
#: The statuses with which the head cannot be applied: ``/readyz`` answers 503.
FAILING_STATUSES: Final = frozenset({"invalid", "refused", "rewind"})
_PHRASES: Final = {"invalid": "is invalid", "refused": "is refused", "rewind": "is a refused rewind"}
_MAX_REASON: Final = 300
#: Which head status is worse, for the process's status over its accounts.
_HEAD_SEVERITY: Final = {"unknown": 0, "valid": 1, "refused": 2, "rewind": 3, "invalid": 4}


def _remove(metric: Any, *labels: str) -> None:
    with suppress(KeyError):
        metric.remove(*labels)


def _one_line(text: str) -> str:
    line = " ".join(text.split())
    return line if len(line) <= _MAX_REASON else line[: _MAX_REASON - 3] + "..."


class Metrics:
    """The controller's metrics and health state.

    ``stale_after``: seconds without a beat after which ``/healthz`` answers 503.
    ``interval``: the configured reconcile interval, exported as ``reconciler_interval_seconds``
    (alerts compare against it); also settable later with :meth:`set_interval`.
    """

    def __init__(self, *, stale_after: float = DEFAULT_STALE_AFTER, interval: float | None = None) -> None:
        if stale_after <= 0:
            raise ValueError(f"stale_after must be positive, not {stale_after}")
        self.stale_after = float(stale_after)
        self.registry = CollectorRegistry()
        r = self.registry
        ProcessCollector(registry=r)  # process_resident_memory_bytes, process_cpu_seconds_total... (Linux)
        # What loop.py has always used (names and types kept).
        self.duration = Histogram(
            "reconciler_reconcile_duration_seconds",
            "Duration of one reconcile",
            ["mode"],
            registry=r,
            buckets=(0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600),
        )
        self.changes = Counter(
            "reconciler_changes_total",
            "Changes executed, by kind, action and status",
            ["kind", "action", "status"],
            registry=r,
        )
        self.drift = Gauge(
            "reconciler_drift_resources",
            "Resources whose change is in the last plan, by kind (0 for kinds without any)",
            ["kind"],
            registry=r,
        )
        self.findings = Gauge(
            "reconciler_invariant_findings", "Invariant findings at the last plan", ["severity"], registry=r
        )
        self.failures = Counter(
            "reconciler_failures_total", "Reconciles that failed, by reason", ["reason"], registry=r
        )
        self.last_success = Gauge(
            "reconciler_last_success_timestamp_seconds", "Unix time of the last successful reconcile", registry=r
        )
        self.commit = Info("reconciler_last_applied_commit", "The last commit applied", registry=r)
        # Added for alerting and health.
        self.synced = Gauge(
            "reconciler_synced", "1 when the head commit is the applied commit and no drift remains, else 0", registry=r
        )
        self.head_status = Gauge(
            "reconciler_head_status",
            "Status of the head commit of the branch, one-hot: valid, invalid (bad "
            "manifests), refused (by the invariants or a rail), rewind (a refused rewind), "
            "unknown (before the first reconcile read it)",
            ["status"],
            registry=r,
        )
        self.commits = Info("reconciler_commit", "The applied and the head commit shas ('' when unknown)", registry=r)
        self.drift_repaired_total = Counter(
            "reconciler_drift_repaired_total",
            "Resources the controller changed although git did not change (someone changed the account by hand)",
            ["kind"],
            registry=r,
        )
        self.last_reconcile = Gauge(
            "reconciler_last_reconcile_timestamp_seconds",
            "Unix time of the last completed reconcile, successful or not (0: none yet)",
            registry=r,
        )
        self.start_time = Gauge(
            "reconciler_start_time_seconds", "Unix time at which the controller started", registry=r
        )
        self.interval = Gauge(
            "reconciler_interval_seconds", "The configured time between reconciles (0: none)", registry=r
        )
        self.lease_wait = Counter(
            "reconciler_lease_wait_seconds_total", "Seconds spent waiting for the lease", registry=r
        )
        self.lease_contention = Counter(
            "reconciler_lease_contention_total", "Times the lease was found held by another writer", registry=r
        )
        self.webhook_requests = Counter(
            "reconciler_webhook_requests_total",
            "Requests to the git webhook, by result (accepted, ping, unauthorized, too_large, bad_request)",
            ["result"],
            registry=r,
        )

        # Per account (the account's name in a fleet, its id for a directory of one account).
        self.account_head_status = Gauge(
            "reconciler_account_head_status",
            "Status of the head commit for each account, one-hot (as reconciler_head_status)",
            ["account", "status"],
            registry=r,
        )
        self.account_synced = Gauge(
            "reconciler_account_synced",
            "1 when the account is at the head commit with no drift left",
            ["account"],
            registry=r,
        )
        self.account_last_success = Gauge(
            "reconciler_account_last_success_timestamp_seconds",
            "Unix time of the account's last successful reconcile",
            ["account"],
            registry=r,
        )
        self.account_failures = Counter(
            "reconciler_account_failures_total",
            "The account's failed reconciles, by reason",
            ["account", "reason"],
            registry=r,
        )
        self.account_changes = Counter(
            "reconciler_account_changes_total",
            "Changes executed in the account, by action and status",
            ["account", "action", "status"],
            registry=r,
        )
        self.account_drift = Gauge(
            "reconciler_account_drift_resources",
            "Resources with a change in the account's last plan",
            ["account"],
            registry=r,
        )
        self.account_observed = Gauge(
            "reconciler_account_observed_resources",
            "Resources under management: observe at the account's last plan: in_sync with git, or drifted (reported, "
            "never written)",
            ["account", "state"],
            registry=r,
        )
        self.account_findings = Gauge(
            "reconciler_account_invariant_findings",
            "Invariant findings at the account's last plan",
            ["account", "severity"],
            registry=r,
        )
        self.account_commit = Info(
            "reconciler_account_applied_commit", "The last commit applied to the account", ["account"], registry=r
        )
        self.shard_accounts = Gauge(
            "reconciler_shard_accounts", "Accounts this process reconciles (its shard of the fleet)", registry=r
        )
        self.shard = Info("reconciler_shard", "This process's shard: index and count", registry=r)
        # Settings.suspend, Settings.syncWindows and entries ending soon (controller/schedule.py).
        self.schedule = ScheduleMetrics(r)

        self.start_time.set(time.time())
        if interval is not None:
            self.set_interval(interval)
        self._lock = threading.Lock()
        self._kinds: set[str] = set()
        self._status = "unknown"
        self._head: str | None = None
        self._applied: str | None = None
        self._reason: str | None = None
        self._completed = False
        # account -> (status, head, applied, reason); the process's head status is the worst of them.
        self._heads: dict[str, tuple[str, str | None, str | None, str | None]] = {}
        self._synced: dict[str, bool] = {}
        self._findings: dict[str, tuple[int, int]] = {}
        self._drift: dict[str, Counter_[str]] = {}
        self._last_beat = time.monotonic()
        self._blocking: dict[int, float] = {}
        self._next_token = 0
        self._publish_head()

    # ---------------------------------------------------------------------------------------------
    # what the loop reports
    # ---------------------------------------------------------------------------------------------

    def set_interval(self, seconds: float) -> None:
        """The configured interval between reconciles, for ``reconciler_interval_seconds``."""
        self.interval.set(seconds)

    def set_head(self, status: str, head: str | None, applied: str | None, reason: str | None = None) -> None:
        """The head commit's status (one of :data:`HEAD_STATUSES`), the head and applied shas (None:
        unknown, exported as ''), and for a failing status why, in one line (``3 manifest problems``).

        Each call replaces what the previous one said. ``/readyz`` answers 503 with the reason while
        the status is in :data:`FAILING_STATUSES`.
        """
        if status not in HEAD_STATUSES:
            raise ValueError(f"unknown head status {status!r}; one of {', '.join(HEAD_STATUSES)}")
        with self._lock:
            self._status, self._head, self._applied = status, head, applied
            self._reason = _one_line(reason) if reason else None
            self._publish_head()
        self.beat()

    def _publish_head(self) -> None:
        for name in HEAD_STATUSES:
            self.head_status.labels(name).set(1 if name == self._status else 0)
        self.commits.info({"applied": self._applied or "", "head": self._head or ""})

    def set_synced(self, synced: bool) -> None:
        """Whether the head commit is the applied one and no drift remains."""
        self.synced.set(1 if synced else 0)

    def reconcile_completed(self, ok: bool) -> None:
        """A reconcile finished, successfully (``ok``) or not: timestamps, and readiness may turn on."""
        now = time.time()
        self.last_reconcile.set(now)
        if ok:
            self.last_success.set(now)
        with self._lock:
            self._completed = True
        self.beat()

    def observe_plan(self, counts: Mapping[str, int], kinds: Iterable[str]) -> None:
        """The changes of this cycle's plan, by kind. Every kind in ``kinds``, and every kind reported
        before, is set (to 0 when ``counts`` has none), so no gauge keeps a stale value."""
        with self._lock:
            self._kinds.update(kinds)
            self._kinds.update(counts)
            every = sorted(self._kinds)
        for kind in every:
            self.drift.labels(kind).set(counts.get(kind, 0))

    def drift_repaired(self, kind: str, n: int = 1, *, account: str | None = None) -> None:
        """``n`` resources of ``kind`` were changed although git did not change (hand-made drift)."""
        if n < 0:
            raise ValueError(f"a repaired count cannot be negative: {n}")
        if n:
            self.drift_repaired_total.labels(kind).inc(n)
            if account is not None:
                self.account_changes.labels(account, "repair", "done").inc(n)

    def lease_waited(self, seconds: float, contended: bool) -> None:
        """The lease was waited for ``seconds``; ``contended``: another writer held it meanwhile."""
        if seconds > 0:
            self.lease_wait.inc(seconds)
        if contended:
            self.lease_contention.inc()
        self.beat()

    # ---------------------------------------------------------------------------------------------
    # per account: each account's series, and the process's own as their sum or their worst
    # ---------------------------------------------------------------------------------------------

    def set_account_head(
        self, account: str, status: str, *, head: str | None, applied: str | None, reason: str | None = None
    ) -> None:
        """The head commit's status for ``account``; the process's status is the worst of its accounts' (with the
        account named in the reason when there are several)."""
        if status not in HEAD_STATUSES:
            raise ValueError(f"unknown head status {status!r}; one of {', '.join(HEAD_STATUSES)}")
        for name in HEAD_STATUSES:
            self.account_head_status.labels(account, name).set(1 if name == status else 0)
        with self._lock:
            self._heads[account] = (status, head, applied, reason)
            heads = dict(self._heads)
        name, (worst, worst_head, worst_applied, worst_reason) = max(
            heads.items(), key=lambda item: _HEAD_SEVERITY.get(item[1][0], 0)
        )
        if len(heads) > 1 and worst_reason:
            worst_reason = f"account {name}: {worst_reason}"
        self.set_head(worst, head=worst_head, applied=worst_applied, reason=worst_reason)

    def set_account_synced(self, account: str, synced: bool) -> None:
        self.account_synced.labels(account).set(1 if synced else 0)
        with self._lock:
            self._synced[account] = synced
            every = all(self._synced.values())
        self.set_synced(every)

    def account_failed(self, account: str, reason: str) -> None:
        self.account_failures.labels(account, reason).inc()
        self.failures.labels(reason).inc()

    def account_succeeded(self, account: str) -> None:
        now = time.time()
        self.account_last_success.labels(account).set(now)
        self.last_success.set(now)

    def set_account_applied(self, account: str, sha: str) -> None:
        self.account_commit.labels(account).info({"sha": sha})
        self.commit.info({"sha": sha})

    def set_account_findings(self, account: str, errors: int, warnings: int) -> None:
        self.account_findings.labels(account, "error").set(errors)
        self.account_findings.labels(account, "warning").set(warnings)
        with self._lock:
            self._findings[account] = (errors, warnings)
            found = list(self._findings.values())
        self.findings.labels("error").set(sum(e for e, _ in found))
        self.findings.labels("warning").set(sum(w for _, w in found))

    def set_account_observed(self, account: str, in_sync: int, drifted: int) -> None:
        self.account_observed.labels(account, "in_sync").set(in_sync)
        self.account_observed.labels(account, "drifted").set(drifted)

    def observe_account_plan(self, account: str, counts: Mapping[str, int], kinds: Iterable[str]) -> None:
        """The changes of the account's last plan; the process's drift by kind is the sum over its accounts."""
        self.account_drift.labels(account).set(sum(counts.values()))
        with self._lock:
            self._drift[account] = Counter_(counts)
            total: Counter_[str] = Counter_()
            for each in self._drift.values():
                total.update(each)
        self.observe_plan(total, kinds)

    def count_change(self, account: str, kind: str, action: str, status: str) -> None:
        self.changes.labels(kind, action, status).inc()
        self.account_changes.labels(account, action, status).inc()

    def set_shard(self, index: int, count: int, accounts: Iterable[str]) -> None:
        """This process's shard and its accounts; the series of accounts it no longer has are removed."""
        keep = set(accounts)
        self.shard.info({"index": str(index), "count": str(count)})
        self.shard_accounts.set(len(keep))
        with self._lock:
            gone = [a for a in set(self._heads) | set(self._synced) | set(self._drift) if a not in keep]
            for account in gone:
                self._heads.pop(account, None)
                self._synced.pop(account, None)
                self._findings.pop(account, None)
                self._drift.pop(account, None)
        for account in gone:
            for gauge in (self.account_synced, self.account_last_success, self.account_drift):
                _remove(gauge, account)
            for name in HEAD_STATUSES:
                _remove(self.account_head_status, account, name)
            for severity in ("error", "warning"):
                _remove(self.account_findings, account, severity)
            _remove(self.account_commit, account)
            self.schedule.forget(account)

    # ---------------------------------------------------------------------------------------------
    # the heartbeat
    # ---------------------------------------------------------------------------------------------

    def beat(self) -> None:
        """The loop is alive. Cheap: call it as often as you like, from any thread."""
        self._last_beat = time.monotonic()

    def beat_hook(self, **_: Any) -> None:
        """A botocore event handler that beats, e.g. ``client.meta.events.register("before-send",
        metrics.beat_hook)``: every HTTP attempt, retries included, is a beat, except those of the
        :data:`BACKGROUND_THREADS`. Returns None, as a ``before-send`` handler must (a value would
        replace the HTTP response)."""
        if threading.current_thread().name not in BACKGROUND_THREADS:
            self.beat()

    def sleep(self, stop: threading.Event, seconds: float, wake: threading.Event | None = None) -> bool:
        """Wait ``seconds``, beating at least every :data:`SLEEP_SLICE` seconds.

        Returns True early when ``stop`` is set (at once) or ``wake`` is set (within
        :data:`WAKE_POLL` s); ``wake`` is then cleared, so that triggers arriving from then on, during
        the reconcile that follows, set it again and coalesce into one more reconcile. False when the
        whole time passed.
        """
        deadline = time.monotonic() + max(0.0, seconds)
        poll = WAKE_POLL if wake is not None else SLEEP_SLICE
        while True:
            self.beat()
            if stop.is_set():
                return True
            if wake is not None and wake.is_set():
                wake.clear()
                return True
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            if stop.wait(min(left, poll, SLEEP_SLICE)):
                self.beat()
                return True

    @contextmanager
    def blocking(self, max_seconds: float) -> Iterator[None]:
        """Around a call that cannot beat but is bounded by its own timeout (``git fetch``: several
        git commands, each with a timeout): ``/healthz`` stays fresh for up to ``max_seconds`` more
        while it runs. A call that outlives ``max_seconds`` turns it stale as usual."""
        with self._lock:
            token = self._next_token
            self._next_token += 1
            self._blocking[token] = time.monotonic() + max(0.0, max_seconds)
        self.beat()
        try:
            yield
        finally:
            with self._lock:
                del self._blocking[token]
            self.beat()

    # ---------------------------------------------------------------------------------------------
    # what the health endpoints answer
    # ---------------------------------------------------------------------------------------------

    def liveness(self) -> tuple[bool, str]:
        """(alive, one line): alive when the loop beat within ``stale_after`` seconds (or is inside
        a :meth:`blocking` call that has not outlived its bound)."""
        now = time.monotonic()
        silent = now - self._last_beat
        with self._lock:
            covered = any(now < until for until in self._blocking.values())
        if silent < self.stale_after or covered:
            return True, "ok"
        return False, f"stale: no heartbeat for {silent:.0f}s (limit {self.stale_after:.0f}s)"

    def readiness(self) -> tuple[bool, str]:
        """(ready, one line): ready when a reconcile has completed and the head status is valid (and then, while the
        schedule in git holds changes back, why)."""
        with self._lock:
            status, head, reason, completed = self._status, self._head, self._reason, self._completed
        if status in FAILING_STATUSES:
            what = f"head commit {head[:12]}" if head else "the head commit"
            return False, f"not ready: {what} {_PHRASES[status]}" + (f": {reason}" if reason else "")
        if not completed:
            return False, "not ready: no reconcile has completed yet"
        if status != "valid":
            return False, "not ready: the head commit is not known yet" + (f": {reason}" if reason else "")
        held = self.schedule.held_back()  # a schedule in git, not a fault: still ready, and saying so
        return True, "ready" + (f"; changes held back: {held}" if held else "")

    @property
    def ready(self) -> bool:
        """Whether ``/readyz`` answers 200 (see :meth:`readiness`)."""
        return self.readiness()[0]

    @ready.setter
    def ready(self, value: bool) -> None:
        # The older loop's way to say "a reconcile succeeded": completed, so the head was valid.
        with self._lock:
            self._completed = bool(value)
            if value and self._status == "unknown":
                self._status = "valid"
                self._publish_head()

    def render(self) -> bytes:
        return bytes(generate_latest(self.registry))
