"""Cron, durations, time zones and Argo CD's sync windows; a bad one is refused at its line."""

from __future__ import annotations

import datetime as dt
import re
import shutil
from pathlib import Path

import pytest

from reconciler.errors import ManifestError
from reconciler.kinds import load_directory
from reconciler.manifests.schedule import (
    ScheduleError,
    SyncWindow,
    parse_cron,
    parse_duration,
    parse_timezone,
    windows_verdict,
)

REPO = Path(__file__).resolve().parents[2]
UTC = dt.UTC


def at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=UTC)


def fires(expression: str, when: str) -> bool:
    return parse_cron(expression).matches(at(when))


@pytest.mark.parametrize(
    ("expression", "when", "expected"),
    [
        ("* * * * *", "2026-12-07T13:37", True),
        ("0 22 * * *", "2026-12-07T22:00", True),
        ("0 22 * * *", "2026-12-07T22:01", False),
        ("*/15 * * * *", "2026-12-07T10:45", True),
        ("*/15 * * * *", "2026-12-07T10:50", False),
        ("5/20 * * * *", "2026-12-07T10:45", True),  # 5, 25, 45
        ("0 9-17/4 * * *", "2026-12-07T13:00", True),  # 9, 13, 17
        ("0 9-17/4 * * *", "2026-12-07T15:00", False),
        ("0,30 8,20 * * *", "2026-12-07T20:30", True),
        ("0 0 1 JAN *", "2027-01-01T00:00", True),
        ("0 0 * * MON-FRI", "2026-12-07T00:00", True),  # a Monday
        ("0 0 * * mon-fri", "2026-12-05T00:00", False),  # a Saturday
        ("0 0 * * 0", "2026-12-06T00:00", True),  # Sunday is 0 ...
        ("0 0 * * 7", "2026-12-06T00:00", True),  # ... and 7
        # Both day fields restricted: either matches (cron, and Argo CD's library).
        ("0 0 13 * FRI", "2026-12-13T00:00", True),  # the 13th, a Sunday
        ("0 0 13 * FRI", "2026-12-11T00:00", True),  # a Friday
        ("0 0 13 * FRI", "2026-12-12T00:00", False),
        # One of them "*": both must match.
        ("0 0 13 * *", "2026-12-11T00:00", False),
        ("0 0 */2 * FRI", "2026-12-11T00:00", True),  # "*/2" restricts: either
    ],
)
def test_cron_matches(expression: str, when: str, expected: bool) -> None:
    assert fires(expression, when) is expected


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("0 22 * *", "has 4 field(s); a schedule has 5"),
        ("60 * * * *", "minute: 60 is out of range 0-59"),
        ("0 24 * * *", "hour: 24 is out of range 0-23"),
        ("0 0 0 * *", "day of month: 0 is out of range 1-31"),
        ("0 0 * 13 *", "month: 13 is out of range 1-12"),
        ("0 0 * * 8", "day of week: 8 is out of range 0-7"),
        ("0 0 * * FUN", "day of week: 'FUN' is not a number or a name"),
        ("*/0 * * * *", "step '0' is not a positive number"),
        ("0 17-9 * * *", "range '17-9' runs backwards"),
        ("0,,5 * * * *", "empty item"),
        ("@daily", "has 1 field(s)"),
    ],
)
def test_bad_cron(expression: str, message: str) -> None:
    with pytest.raises(ScheduleError, match=re.escape(message)):
        parse_cron(expression)


def test_durations_and_time_zones() -> None:
    assert parse_duration("1h30m") == dt.timedelta(minutes=90)
    assert parse_duration("45s") == dt.timedelta(seconds=45)
    assert parse_duration("744h") == dt.timedelta(days=31)
    for bad in ("", "1d", "90", "0m", "745h", "1h 30m"):
        with pytest.raises(ScheduleError):
            parse_duration(bad)
    assert str(parse_timezone("Europe/Paris")) == "Europe/Paris"
    with pytest.raises(ScheduleError, match="not an IANA time zone"):
        parse_timezone("Mars/Olympus")


NIGHTS = SyncWindow("deny", "0 22 * * *", "10h")
OFFICE = SyncWindow("allow", "0 9 * * MON-FRI", "8h", "Asia/Tokyo")


def test_a_window_is_active_from_each_start_for_its_duration() -> None:
    assert NIGHTS.active_since(at("2026-12-07T21:59")) is None
    assert NIGHTS.active_since(at("2026-12-07T22:00")) == at("2026-12-07T22:00")
    assert NIGHTS.active_since(at("2026-12-08T07:59:59")) == at("2026-12-07T22:00")
    assert NIGHTS.active_since(at("2026-12-08T08:00")) is None
    # In its time zone: 09:00 in Tokyo is 00:00 UTC.
    assert OFFICE.active_since(at("2026-12-07T00:00")) == at("2026-12-07T00:00")
    assert OFFICE.active_since(at("2026-12-06T01:00")) is None  # Sunday in Tokyo
    # Across a change of daylight saving time: Paris at 02:30 local, 2026-03-29 (clocks go 02:00 -> 03:00).
    paris = SyncWindow("deny", "0 1 * * *", "2h", "Europe/Paris")
    assert paris.active_since(at("2026-03-29T01:30")) == at("2026-03-29T00:00")  # 01:00 CET
    assert paris.active_since(at("2026-03-29T02:00")) is None  # 04:00 CEST: two hours after 01:00 CET


def test_deny_wins_and_allow_windows_close_the_rest() -> None:
    assert windows_verdict((), at("2026-12-07T12:00")).open
    assert windows_verdict((NIGHTS,), at("2026-12-07T12:00")).open
    closed = windows_verdict((NIGHTS,), at("2026-12-07T23:00"))
    assert not closed.open
    assert closed.reason == "inside deny window deny '0 22 * * *' for 10h (UTC) since 2026-12-07T22:00Z"
    inside = windows_verdict((OFFICE,), at("2026-12-07T01:00"))
    assert inside.open and inside.reason.startswith("inside allow window allow '0 9 * * MON-FRI'")
    outside = windows_verdict((OFFICE,), at("2026-12-07T09:00"))
    assert not outside.open and outside.reason == (
        "outside every allow window (allow '0 9 * * MON-FRI' for 8h (Asia/Tokyo))"
    )
    # An allow window and a deny window active at once: deny wins.
    lunch = SyncWindow("deny", "0 3 * * *", "1h")  # 12:00 in Tokyo
    assert not windows_verdict((OFFICE, lunch), at("2026-12-07T03:30")).open
    assert windows_verdict((OFFICE, lunch), at("2026-12-07T04:00")).open


@pytest.mark.parametrize(
    ("window", "field", "message"),
    [
        ("{kind: deny, schedule: '0 25 * * *', duration: 1h}", "schedule", "hour: 25 is out of range 0-23"),
        ("{kind: deny, schedule: '0 1 * * *', duration: 1 day}", "duration", "is not a duration"),
        (
            "{kind: allow, schedule: '0 1 * * *', duration: 1h, timezone: Paris}",
            "timezone",
            "'Paris' is not an IANA time zone",
        ),
        ("{kind: block, schedule: '0 1 * * *', duration: 1h}", "kind", "is not one of"),
        ("{kind: deny, duration: 1h}", None, "missing required field 'schedule'"),
    ],
)
def test_a_bad_window_is_refused_at_its_line(tmp_path: Path, window: str, field: str | None, message: str) -> None:
    root = tmp_path / "ds"
    shutil.copytree(REPO / "desired-state", root)
    settings = root / "settings.yaml"
    settings.write_text(settings.read_text() + f"  syncWindows:\n    - {window}\n")
    with pytest.raises(ManifestError) as raised:
        load_directory(root)
    (problem,) = raised.value.problems
    assert problem.line == 17 and problem.resource == "Settings/secure-sagemaker"
    assert problem.field == ("spec.syncWindows[0]" + (f".{field}" if field else ""))
    assert message in problem.message


def test_windows_and_suspend_are_read(tmp_path: Path) -> None:
    root = tmp_path / "ds"
    shutil.copytree(REPO / "desired-state", root)
    settings = root / "settings.yaml"
    settings.write_text(
        settings.read_text()
        + "  suspend: true\n  syncWindows:\n    - {kind: deny, schedule: '0 22 * * *', duration: 10h}\n"
    )
    loaded = load_directory(root).settings
    assert loaded.suspend is True
    assert loaded.sync_windows == (SyncWindow("deny", "0 22 * * *", "10h", "UTC", f"{root}/settings.yaml:18:7"),)
    assert (loaded.expiry_warning_days, loaded.max_human_write_days) == (3, 14)
