"""The controller's schedule, written in git: ``Settings.suspend`` and ``Settings.syncWindows``; and the warnings it
gives before access ends.

Every cycle the controller plans and reports whatever the schedule says. Then :func:`gate_of` decides what it may
apply, at ``reconciler.clock.now()``:

- **open** (no window closes, or an allow window is active): the plan, whole;
- **suspended** (``Settings.suspend: true``): nothing;
- **closed** (inside an active deny window, or outside every allow window when there are some; deny wins): only
  what always proceeds (:mod:`reconciler.engine.urgent`: removals of expired access, reverts of drift that breaks
  an invariant).

While it holds changes back the controller says why: a log line, ``reconciler_sync_paused{account, reason}`` and
``/readyz`` (still 200: the controller is healthy and doing what git says).
"""

from __future__ import annotations

import datetime as dt
import threading
from contextlib import suppress
from dataclasses import dataclass
from typing import Final

import structlog
from prometheus_client import CollectorRegistry, Gauge

from reconciler import clock
from reconciler.engine.expiry import left_text
from reconciler.kinds.context import Grant
from reconciler.manifests.model import Settings
from reconciler.manifests.schedule import windows_verdict

__all__ = ["CLOSED", "OPEN", "SUSPENDED", "Gate", "ScheduleMetrics", "gate_of", "warn_expiring"]

log = structlog.get_logger(__name__)

OPEN: Final = "open"
SUSPENDED: Final = "suspend"
CLOSED: Final = "window"


@dataclass(frozen=True)
class Gate:
    """What the schedule lets the controller apply now: ``open`` (everything), ``suspend`` (nothing), ``window``
    (only what always proceeds); ``reason``: one line."""

    state: str
    reason: str


def gate_of(settings: Settings, now: dt.datetime) -> Gate:
    if settings.suspend:
        return Gate(SUSPENDED, "suspended by Settings.suspend: planning and reporting only")
    verdict = windows_verdict(settings.sync_windows, now)
    if verdict.open:
        return Gate(OPEN, verdict.reason)
    return Gate(
        CLOSED,
        f"{verdict.reason}: applying only removals of expired access and reverts of drift that breaks an invariant",
    )


class ScheduleMetrics:
    """The schedule's and expiry's series, on the controller's registry."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.paused = Gauge(
            "reconciler_sync_paused",
            "1 while the schedule in git holds the account's changes back, whether or not the last plan had any: "
            "reason suspend (Settings.suspend: nothing is applied) or window (outside its sync windows: only "
            "removals of expired access and reverts of drift that breaks an invariant are)",
            ["account", "reason"],
            registry=registry,
        )
        self.expiry = Gauge(
            "reconciler_access_expiry_seconds",
            "Seconds until an entry of the manifests ends (its expiresAt), for the entries ending within "
            "Settings.expiryWarningDays",
            ["account", "resource", "entry"],
            registry=registry,
        )
        self._lock = threading.Lock()
        self._reasons: dict[str, str] = {}  # account -> why its changes are held back
        self._expiring: dict[str, set[tuple[str, str]]] = {}

    def set_gate(self, account: str, gate: Gate) -> None:
        for reason in (SUSPENDED, CLOSED):
            if reason == gate.state:
                self.paused.labels(account, reason).set(1)
            else:
                with suppress(KeyError):
                    self.paused.remove(account, reason)
        with self._lock:
            if gate.state == OPEN:
                self._reasons.pop(account, None)
            else:
                self._reasons[account] = gate.reason

    def held_back(self) -> str | None:
        """Why changes are held back (one line), for ``/readyz``; None when they are not."""
        with self._lock:
            reasons = dict(self._reasons)
        if not reasons:
            return None
        if len(reasons) == 1:
            return next(iter(reasons.values()))
        return "; ".join(f"account {account}: {reason}" for account, reason in sorted(reasons.items()))

    def forget(self, account: str) -> None:
        """``account`` is no longer this process's: its series go."""
        self.set_gate(account, Gate(OPEN, ""))
        self.set_expiring(account, (), clock.now())

    def set_expiring(self, account: str, expiring: tuple[Grant, ...], now: dt.datetime) -> None:
        """The entries of ``account`` ending soon; the series of the others are removed."""
        current = {(g.resource, g.entry): g.expiry.left(now).total_seconds() for g in expiring}
        with self._lock:
            before = self._expiring.get(account, set())
            self._expiring[account] = set(current)
        for resource, entry in before - set(current):
            with suppress(KeyError):
                self.expiry.remove(account, resource, entry)
        for (resource, entry), seconds in current.items():
            self.expiry.labels(account, resource, entry).set(seconds)


def warn_expiring(expiring: tuple[Grant, ...], now: dt.datetime, logged: set[tuple[str, str, str | None, str]]) -> None:
    """One warning per entry ending soon (once per cycle: ``logged`` is the cycle's)."""
    for grant in expiring:
        key = ("expiring", grant.resource, grant.expiry.location, grant.entry)
        if key in logged:
            continue
        logged.add(key)
        log.warning(
            "access expires soon",
            resource=grant.resource,
            entry=grant.entry,
            expires_at=grant.expiry.text,
            left=left_text(grant.expiry.left(now)),
            seconds_left=int(grant.expiry.left(now).total_seconds()),
            location=grant.expiry.location,
        )
