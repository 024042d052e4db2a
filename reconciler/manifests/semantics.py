"""The second validation pass: what the schemas cannot say (references between manifests, the rules of
exceptions). Each kind says what its manifests refer to (``check_references``); this only walks them."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from reconciler import clock
from reconciler.manifests.model import Resource, is_glob

# report(resource, field path, message, (kind, name) of the missing target)
Report = Callable[[Resource, tuple[str | int, ...], str, tuple[str, str]], None]


class ReferenceChecker(Protocol):
    def check_references(self, resource: Resource, exists: Callable[[str, str], bool], report: Report) -> None: ...


def check_references(
    resources: Mapping[str, Mapping[str, Resource]], kinds: Mapping[str, ReferenceChecker], report: Report
) -> None:
    """Report every reference from a resource to a manifest that does not exist."""

    def exists(kind: str, name: str) -> bool:
        return name in resources.get(kind, {})

    for kind, by_name in resources.items():
        for resource in by_name.values():
            kinds[kind].check_references(resource, exists, report)


#: The furthest ahead a glob exception may expire: a pattern excuses resources nobody has seen yet, so it
#: must be renewed (reviewed again) at least this often.
MAX_GLOB_EXCEPTION_DAYS = 90


def exception_problems(exception: Mapping[str, Any]) -> list[tuple[tuple[str, ...], str]]:
    """What is wrong with one ``Settings.exceptions`` entry beyond its schema: (path in the entry, message).

    A glob (``Policy/legacy-*``) needs an ``expiresAt`` at most :data:`MAX_GLOB_EXCEPTION_DAYS` ahead of the
    clock; an ``expiresAt`` must be a real date. An exception that already expired is not a problem here (the
    rules report it and it excuses nothing): a manifest valid yesterday stays loadable today."""
    found: list[tuple[tuple[str, ...], str]] = []
    expires = exception.get("expiresAt")
    instant = None
    if expires is not None:
        try:
            instant = clock.expiry_instant(expires)
        except clock.ExpiryFormatError as exc:
            found.append((("expiresAt",), str(exc)))
    if is_glob(exception["resource"]):
        # Through the end of the 90th day (UTC): a date written as the limit is accepted.
        last_day = (clock.now() + dt.timedelta(days=MAX_GLOB_EXCEPTION_DAYS)).date()
        limit = clock.expiry_instant(last_day.isoformat())
        if expires is None:
            found.append(
                (
                    ("resource",),
                    f"an exception for a glob of resources ({exception['resource']}) needs an expiresAt at most "
                    f"{MAX_GLOB_EXCEPTION_DAYS} days ahead (exact names need none)",
                )
            )
        elif instant is not None and instant > limit:
            found.append(
                (
                    ("expiresAt",),
                    f"an exception for a glob of resources expires at most {MAX_GLOB_EXCEPTION_DAYS} days ahead "
                    f"(by {last_day.isoformat()}); {expires} is further",
                )
            )
    return found
