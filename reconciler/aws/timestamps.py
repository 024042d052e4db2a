"""Timestamps in AWS answers, parsed to exactly what botocore's own parser gives, without dateutil's general parser
for the one form AWS's XML answers use.

botocore parses every timestamp of an answer with ``dateutil.parser.parse`` (about 50 microseconds each):
IAM's GetAccountAuthorizationDetails carries several per role, policy version and user, a tenth of ``plan``'s
CPU on a large account. ISO 8601 in UTC (``2026-12-07T00:49:56Z``, with up to six fraction digits, or
``+00:00``) is read here directly; its time zone is the one dateutil gives that form in this process (it depends
on the machine's local zone: ``tzlocal()`` where that is UTC, else ``tzutc()``), asked once per form. Anything
else (epoch numbers, other offsets, other layouts, dates that do not exist) goes to botocore's parser as before.
"""

from __future__ import annotations

import re
import threading
from datetime import datetime, tzinfo
from typing import Any

__all__ = ["parse_timestamp"]

_ISO_UTC = re.compile(r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?(Z|\+00:00)\Z")
_zones: dict[str, tzinfo | None] = {}
_lock = threading.Lock()


def _botocore(value: Any) -> Any:
    from botocore.utils import parse_timestamp as botocore_parse  # noqa: PLC0415 - loaded with botocore

    return botocore_parse(value)


def _zone(suffix: str) -> tzinfo | None:
    zone = _zones.get(suffix)
    if zone is None and suffix not in _zones:
        with _lock:
            zone = _zones[suffix] = _botocore(f"2000-01-01T00:00:00{suffix}").tzinfo
    return zone


def parse_timestamp(value: Any) -> Any:
    """What ``botocore.utils.parse_timestamp(value)`` returns (a timezone-aware ``datetime``)."""
    match = _ISO_UTC.match(value) if isinstance(value, str) else None
    if match is None:
        return _botocore(value)
    year, month, day, hour, minute, second, fraction, suffix = match.groups()
    try:
        return datetime(
            int(year),
            int(month),
            int(day),
            int(hour),
            int(minute),
            int(second),
            int(fraction.ljust(6, "0")) if fraction else 0,
            tzinfo=_zone(suffix),
        )
    except ValueError:  # no such date or time: botocore's own message
        return _botocore(value)
