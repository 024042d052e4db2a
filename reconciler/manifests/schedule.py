"""Schedules written in git: cron expressions, durations, time zones, and Argo CD's sync windows.

A sync window (``Settings.syncWindows``) is ``{kind: allow|deny, schedule: CRON, duration: 1h, timezone: IANA}``,
as Argo CD defines them: it is active from every minute its cron schedule matches (in its time zone) for
``duration``. At a given instant the controller may apply when no deny window is active and, if there are allow
windows, one of them is active (deny wins). :func:`windows_verdict` answers that; the controller asks with
``reconciler.clock.now()``.

Cron is the classic five fields (minute, hour, day of month, month, day of week), each ``*``, a number, a range
``a-b``, a step ``*/n`` or ``a-b/n`` or ``a/n``, or a comma-separated list of these; months and days may be
named (``JAN``, ``MON``); day of week 0 or 7 is Sunday. As in cron (and Argo CD's library), when both day fields
are restricted a day matches either; when one of them is ``*``, both must match.
"""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = [
    "MAX_WINDOW",
    "Cron",
    "ScheduleError",
    "SyncWindow",
    "WindowVerdict",
    "parse_cron",
    "parse_duration",
    "parse_timezone",
    "windows_verdict",
]

#: The longest duration a sync window may have (a window is found by looking back this far, minute by minute).
MAX_WINDOW = dt.timedelta(days=31)


class ScheduleError(ValueError):
    """A cron expression, a duration or a time zone that cannot be read (the message says why)."""


@dataclass(frozen=True)
class _Field:
    name: str
    low: int
    high: int
    names: tuple[str, ...] = ()  # names of low, low+1, ... (JAN..DEC, SUN..SAT)


_FIELDS = (
    _Field("minute", 0, 59),
    _Field("hour", 0, 23),
    _Field("day of month", 1, 31),
    _Field("month", 1, 12, ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")),
    # 7 is Sunday too (folded onto 0 when matching).
    _Field("day of week", 0, 7, ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")),
)


@dataclass(frozen=True)
class Cron:
    """A parsed five-field cron expression."""

    text: str
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]  # 0 = Sunday
    any_day: bool  # day of month is "*"
    any_weekday: bool  # day of week is "*"

    def matches(self, at: dt.datetime) -> bool:
        """Whether the schedule fires at ``at``'s minute (``at`` in the schedule's time zone)."""
        if at.minute not in self.minutes or at.hour not in self.hours or at.month not in self.months:
            return False
        day = at.day in self.days
        weekday = (at.isoweekday() % 7) in self.weekdays
        if self.any_day or self.any_weekday:
            return day and weekday
        return day or weekday


def _value(text: str, spec: _Field) -> int:
    upper = text.upper()
    if spec.names and upper in spec.names:
        return spec.low + spec.names.index(upper)
    if not text.isdigit():
        raise ScheduleError(f"{spec.name}: {text!r} is not a number" + (" or a name" if spec.names else ""))
    value = int(text)
    if not spec.low <= value <= spec.high:
        raise ScheduleError(f"{spec.name}: {value} is out of range {spec.low}-{spec.high}")
    return value


def _field(text: str, spec: _Field) -> tuple[frozenset[int], bool]:
    """The values a field allows, and whether it is unrestricted (``*``)."""
    values: set[int] = set()
    star = False
    for part in text.split(","):
        if not part:
            raise ScheduleError(f"{spec.name}: empty item in {text!r}")
        base, slash, step_text = part.partition("/")
        step = 1
        if slash:
            if not step_text.isdigit() or int(step_text) == 0:
                raise ScheduleError(f"{spec.name}: step {step_text!r} is not a positive number")
            step = int(step_text)
        if base in ("*", "?"):
            low, high = spec.low, spec.high
            star = star or step == 1
        elif "-" in base:
            first, _, last = base.partition("-")
            low, high = _value(first, spec), _value(last, spec)
            if low > high:
                raise ScheduleError(f"{spec.name}: range {base!r} runs backwards")
        else:
            low = _value(base, spec)
            high = spec.high if slash else low  # "5/15": from 5 to the end, every 15
        values.update(range(low, high + 1, step))
    return frozenset(values), star


def parse_cron(text: str) -> Cron:
    """A five-field cron expression (``0 22 * * MON-FRI``). Raises ScheduleError."""
    parts = text.split()
    if len(parts) != len(_FIELDS):
        raise ScheduleError(
            f"{text!r} has {len(parts)} field(s); a schedule has 5: minute hour day-of-month month day-of-week"
        )
    parsed = [_field(part, spec) for part, spec in zip(parts, _FIELDS, strict=True)]
    weekdays = frozenset(d % 7 for d in parsed[4][0])
    return Cron(
        " ".join(parts),
        parsed[0][0],
        parsed[1][0],
        parsed[2][0],
        parsed[3][0],
        weekdays,
        any_day=parsed[2][1],
        any_weekday=parsed[4][1],
    )


_DURATION = re.compile(r"(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?")


def parse_duration(text: str) -> dt.timedelta:
    """``1h``, ``30m``, ``1h30m``, ``90s`` (Go's notation, as Argo CD's windows are written). Raises ScheduleError."""
    match = _DURATION.fullmatch(text.strip())
    if not text.strip() or match is None:
        raise ScheduleError(f"{text!r} is not a duration (write e.g. 1h, 30m, 1h30m)")
    hours, minutes, seconds = (int(g) if g else 0 for g in match.groups())
    value = dt.timedelta(hours=hours, minutes=minutes, seconds=seconds)
    if value <= dt.timedelta(0):
        raise ScheduleError(f"{text!r}: a duration must be positive")
    if value > MAX_WINDOW:
        raise ScheduleError(f"{text!r} is longer than the {MAX_WINDOW.days} days a window may last")
    return value


def parse_timezone(text: str) -> zoneinfo.ZoneInfo:
    """An IANA time zone (``Europe/Paris``, ``UTC``). Raises ScheduleError."""
    try:
        return zoneinfo.ZoneInfo(text)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
        raise ScheduleError(f"{text!r} is not an IANA time zone (e.g. UTC, Europe/Paris)") from exc


@dataclass(frozen=True)
class SyncWindow:
    """One ``Settings.syncWindows`` entry."""

    kind: str  # "allow" or "deny"
    schedule: str
    duration: str
    timezone: str = "UTC"
    location: str | None = None  # file:line:col of the entry

    def describe(self) -> str:
        return f"{self.kind} {self.schedule!r} for {self.duration} ({self.timezone})"

    def active_since(self, now: dt.datetime) -> dt.datetime | None:
        """The start of the occurrence active at ``now`` (aware), or None when the window is not active."""
        cron = parse_cron(self.schedule)
        length = parse_duration(self.duration)
        zone = parse_timezone(self.timezone)
        # Each minute of the last ``duration``, newest first: the window started at a minute the schedule
        # matches, local time. Minutes are stepped in UTC (a wall clock repeats or skips one at DST changes).
        minute = now.astimezone(dt.UTC).replace(second=0, microsecond=0)
        earliest = now - length
        while minute > earliest:
            if cron.matches(minute.astimezone(zone)):
                return minute
            minute -= dt.timedelta(minutes=1)
        return None


@dataclass(frozen=True)
class WindowVerdict:
    """Whether the windows let the controller apply at an instant, and why."""

    open: bool
    reason: str  # one line: which window decides


def windows_verdict(windows: Sequence[SyncWindow], now: dt.datetime) -> WindowVerdict:
    """Argo CD's rule: an active deny window closes; else, with allow windows, only an active one opens."""
    if not windows:
        return WindowVerdict(True, "no sync windows")
    for window in windows:
        if window.kind == "deny":
            since = window.active_since(now)
            if since is not None:
                return WindowVerdict(False, f"inside deny window {window.describe()} since {since:%Y-%m-%dT%H:%MZ}")
    allows = [w for w in windows if w.kind == "allow"]
    if not allows:
        return WindowVerdict(True, "no deny window is active")
    for window in allows:
        since = window.active_since(now)
        if since is not None:
            return WindowVerdict(True, f"inside allow window {window.describe()} since {since:%Y-%m-%dT%H:%MZ}")
    shown = "; ".join(w.describe() for w in allows[:3])
    return WindowVerdict(False, f"outside every allow window ({shown})")
