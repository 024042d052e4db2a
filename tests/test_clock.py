"""The one settable clock: expiry dates, RFC 3339 parsing, and freezing time for tests and drills."""

from __future__ import annotations

import datetime as dt

import pytest

from reconciler import clock


def test_a_date_expires_at_the_end_of_that_day_utc() -> None:
    assert clock.expiry_instant("2026-12-01") == dt.datetime(2026, 12, 2, tzinfo=dt.UTC)


def test_a_date_time_expires_when_written_in_utc() -> None:
    assert clock.expiry_instant("2026-12-01T09:00:00+09:00") == dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
    assert clock.expiry_instant("2026-12-01T00:00:00Z") == dt.datetime(2026, 12, 1, tzinfo=dt.UTC)


@pytest.mark.parametrize("text", ["2026-12-01T00:00:00", "2026-13-01", "tomorrow", "2026-12-1"])
def test_times_without_offset_or_malformed_are_refused(text: str) -> None:
    with pytest.raises(clock.ExpiryFormatError):
        clock.expiry_instant(text)


def test_frozen_time_nests_and_returns(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(clock.ENV, raising=False)
    with clock.frozen("2026-12-01T00:00:00Z") as first:
        assert clock.now() == first
        with clock.frozen(first + dt.timedelta(days=3)):
            assert clock.now() == dt.datetime(2026, 12, 4, tzinfo=dt.UTC)
        assert clock.now() == first
    assert abs(clock.now() - dt.datetime.now(dt.UTC)) < dt.timedelta(minutes=1)


def test_the_environment_sets_the_clock_for_subprocesses(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(clock.ENV, "2030-01-01T00:00:00Z")
    assert clock.now() == dt.datetime(2030, 1, 1, tzinfo=dt.UTC)
