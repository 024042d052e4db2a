"""A read of the account in progress: what each kind's read gets (the clients, the scope, the shared pool of
per-resource calls, and the answers several kinds read from, fetched once)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

from reconciler.aws.clients import ClientFactory
from reconciler.aws.scope import EarlyScope, ReadScope, resolved

__all__ = ["ReadSession"]

T = TypeVar("T")


class ReadSession:
    """What a kind's read gets: the clients, the scope, the shared call pool, and shared answers."""

    def __init__(
        self,
        factory: ClientFactory,
        scope: ReadScope | EarlyScope,
        calls: ThreadPoolExecutor,
        consumers: Mapping[str, int],
    ) -> None:
        self.factory = factory
        self._scope = scope
        self._calls = calls
        self._consumers = dict(consumers)
        self._lock = threading.Lock()
        self._shared: dict[str, Future[Any]] = {}
        # Done once every shared answer was made and taken by each kind that declared it (``taken``).
        self._taken: Future[None] = Future()
        self._producing = 0
        self._check_taken()

    @property
    def scope(self) -> ReadScope:
        """What to read in detail. In an early read, waits for the manifests to be loaded (so a kind's read makes
        its account-wide calls before it looks); raises ``ScopeAbandoned`` when they will not be."""
        return resolved(self._scope)

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
                self._producing += 1
            self._consumers[source] = self._consumers.get(source, 1) - 1
            if self._consumers[source] <= 0:
                del self._shared[source]
            self._check_taken()
        if first:
            try:
                future.set_result(produce())
            except BaseException as exc:  # noqa: BLE001 - handed to every kind waiting on it, this one too
                future.set_exception(exc)
            finally:
                with self._lock:
                    self._producing -= 1
                    self._check_taken()
        result: T = future.result()
        return result

    def _check_taken(self) -> None:
        # Called with the lock held (or before any thread has the session).
        if not self._taken.done() and self._producing == 0 and all(n <= 0 for n in self._consumers.values()):
            self._taken.set_result(None)

    @property
    def taken(self) -> Future[None]:
        """Done when every shared answer has been made (or has failed) and taken by every kind that reads it: the
        largest answers of the read are then parsed, and on their way out of memory. Never done when a kind fails
        before asking for its answer: wait for the kinds' reads too."""
        return self._taken
