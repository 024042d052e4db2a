"""A read of the account in progress: what each kind's read gets (the clients, the scope, the shared pool of
per-resource calls, and the answers several kinds read from, fetched once)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

from reconciler.aws.clients import ClientFactory
from reconciler.aws.scope import ReadScope

__all__ = ["ReadSession"]

T = TypeVar("T")


class ReadSession:
    """What a kind's read gets: the clients, the scope, the shared call pool, and shared answers."""

    def __init__(
        self, factory: ClientFactory, scope: ReadScope, calls: ThreadPoolExecutor, consumers: Mapping[str, int]
    ) -> None:
        self.factory = factory
        self.scope = scope
        self._calls = calls
        self._consumers = dict(consumers)
        self._lock = threading.Lock()
        self._shared: dict[str, Future[Any]] = {}

    def submit(self, fn: Callable[..., T], *args: Any) -> Future[T]:
        """Run one per-resource call on the shared pool."""
        return self._calls.submit(fn, *args)

    def fan_out(self, fn: Callable[[Any], T], items: Iterable[Any]) -> list[Future[T]]:
        return [self._calls.submit(fn, item) for item in items]

    def shared(self, source: str, produce: Callable[[], T]) -> T:
        """The answer ``source`` (e.g. ``"iam"``), made by the first kind that asks, waited for by the others.

        Each kind that declares ``source`` in ``Kind.sources`` takes it once; after the last one, the session
        forgets it, so that the largest answer of the read lives no longer than the kinds that need it.
        """
        with self._lock:
            future = self._shared.get(source)
            first = future is None
            if future is None:
                future = self._shared[source] = Future()
            self._consumers[source] = self._consumers.get(source, 1) - 1
            if self._consumers[source] <= 0:
                del self._shared[source]
        if first:
            try:
                future.set_result(produce())
            except BaseException as exc:  # noqa: BLE001 - handed to every kind waiting on it, this one too
                future.set_exception(exc)
        result: T = future.result()
        return result
