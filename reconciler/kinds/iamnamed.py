"""What the IAM kinds' reads by name share (``read_named``: a targeted read, see ``ReadScope.only``).

A read by name makes per-resource calls (``GetRole``, ``ListRolePolicies``, ...) instead of the account-wide
``GetAccountAuthorizationDetails`` answer, and builds the same live model from them. The calls are made from the
kind's pipeline thread on the shared pool, in waves (the resources' first calls, then what their answers name),
so that no pool task waits on another.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Future
from typing import Any, TypeVar

from botocore.exceptions import ClientError

from reconciler.aws.answers import error_code
from reconciler.aws.failures import translate_errors
from reconciler.aws.session import ReadSession

__all__ = ["Absent", "absent_as_none", "call", "listed", "resolve"]

T = TypeVar("T")
K = TypeVar("K")


class Absent(Exception):
    """The resource does not exist (IAM answered NoSuchEntity)."""


def absent_as_none(what: str, call: Callable[[], T]) -> T:
    """``call()`` (its errors translated, ``what`` naming it); NoSuchEntity raises :class:`Absent`."""
    try:
        with translate_errors(f"reading IAM ({what})"):
            return call()
    except ClientError as exc:
        if error_code(exc) == "NoSuchEntity":
            raise Absent(what) from exc
        raise


def call(what: str, fn: Callable[..., T], *args: Any, **kwargs: Any) -> Callable[[], T]:
    """``fn(*args, **kwargs)`` to run later, :func:`absent_as_none` (``what`` naming it)."""

    def run() -> T:
        return absent_as_none(what, lambda: fn(*args, **kwargs))

    return run


def listed(pages: Iterable[Mapping[str, Any]], key: str, field: str | None = None) -> tuple[Any, ...]:
    """Every item under ``key`` of ``pages`` (its ``field`` when given), in order."""
    return tuple(item[field] if field else item for page in pages for item in page.get(key, []))


def resolve(session: ReadSession, calls: Mapping[K, Callable[[], T]]) -> dict[K, T | None]:
    """Run ``calls`` (by key) side by side on the session's pool; None for those that found nothing."""
    futures: dict[K, Future[T]] = {key: session.submit(call) for key, call in calls.items()}
    out: dict[K, T | None] = {}
    for name, future in futures.items():
        try:
            out[name] = future.result()
        except Absent:
            out[name] = None
    return out
