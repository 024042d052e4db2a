"""The one clock every time-based decision reads: expiry of access and exceptions, sync windows, warnings.

``now()`` is the wall clock in UTC, unless it is set: by :func:`frozen` (tests, in process) or by the
``RECONCILER_NOW`` environment variable (an RFC 3339 date-time; subprocess tests, and drills such as "what
would the controller do on the 1st?"). Leases and metrics keep their own monotonic and wall clocks: they
measure durations, they do not decide who has access.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["ENV", "ExpiryFormatError", "expiry_instant", "frozen", "now", "parse_instant"]

ENV = "RECONCILER_NOW"
_fixed: list[dt.datetime] = []


class ExpiryFormatError(ValueError):
    """A time that is not an RFC 3339 date or date-time with an offset."""


def parse_instant(text: str) -> dt.datetime:
    """An RFC 3339 date-time with an offset (``2026-12-01T12:00:00Z``) as an aware UTC datetime."""
    try:
        value = dt.datetime.fromisoformat(text.strip().replace("z", "Z"))
    except ValueError as exc:
        raise ExpiryFormatError(f"{text!r} is not an RFC 3339 date-time") from exc
    if value.tzinfo is None:
        raise ExpiryFormatError(f"{text!r} has no time zone offset (write Z for UTC)")
    return value.astimezone(dt.UTC)


def expiry_instant(text: str) -> dt.datetime:
    """When an ``expiresAt`` ends: a date-time as written, a date (``2026-12-01``) at the end of that day UTC
    (the first instant of the next day: access granted "until the 1st" holds all of the 1st)."""
    text = text.strip()
    if len(text) == 10:
        try:
            day = dt.date.fromisoformat(text)
        except ValueError as exc:
            raise ExpiryFormatError(f"{text!r} is not an RFC 3339 date") from exc
        return dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)
    return parse_instant(text)


def now() -> dt.datetime:
    """The current time, aware, in UTC: the frozen time when one is set, else the wall clock."""
    if _fixed:
        return _fixed[-1]
    fixed = os.environ.get(ENV)
    if fixed:
        return parse_instant(fixed)
    return dt.datetime.now(dt.UTC)


@contextmanager
def frozen(at: dt.datetime | str) -> Iterator[dt.datetime]:
    """Within the block, :func:`now` answers ``at`` (tests: expiry and windows without sleeping). Nests."""
    instant = parse_instant(at) if isinstance(at, str) else at.astimezone(dt.UTC)
    _fixed.append(instant)
    try:
        yield instant
    finally:
        _fixed.pop()
