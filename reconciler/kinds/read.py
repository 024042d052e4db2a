"""Read the account with the fewest API calls: every kind reads its own resources (its ``read`` module), side by
side, their per-resource calls on one bounded pool; what several kinds read from one answer (IAM's
``GetAccountAuthorizationDetails``) is fetched once and shared.

A targeted read (``ReadScope.only``: the resources a commit changed) reads only the kinds it names, and each of
them by name where the kind can (``read_named``: per-resource calls, no account-wide answer), else whole.

The account guard runs first: ``sts:GetCallerIdentity`` must be ``ReadScope.account_id``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from contextlib import suppress
from typing import Any

from reconciler.aws.account import check_account
from reconciler.aws.clients import ClientFactory
from reconciler.aws.live import LiveState
from reconciler.aws.policies import AwsPolicy, read_aws_policy
from reconciler.aws.scope import EarlyScope, ReadScope, resolved
from reconciler.aws.session import ReadSession
from reconciler.errors import AwsAccessError
from reconciler.kinds.base import Kind
from reconciler.kinds.registry import REGISTRY

__all__ = ["EarlyRead", "read_account", "read_services"]


def read_account(
    factory: ClientFactory,
    scope: ReadScope | EarlyScope,
    *,
    max_workers: int = 16,
    on_aws_policies: Callable[[Mapping[str, AwsPolicy]], None] | None = None,
    check: bool = True,
) -> LiveState:
    """Check the account (unless ``check`` is false: the caller did), then read every kind of the registry.

    With an :class:`EarlyScope` (:class:`EarlyRead`), the kinds make their account-wide calls while the manifests
    load, and the rest once the scope is given. A read that fails (or is abandoned) sends none of the per-resource
    calls still queued."""
    if check:
        check_account(factory, scope.account_id)
    kinds = [kind for kind in REGISTRY.values() if scope.reads(kind.name)]
    by_name = scope.only is not None
    # The kinds that read a shared answer (IAM's GetAccountAuthorizationDetails): a targeted read of a kind that
    # reads by name asks for none.
    whole = [kind for kind in kinds if not (by_name and kind.reads_by_name())]
    consumers = Counter(source for kind in whole for source in kind.sources)
    with (
        ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="read") as calls,
        ThreadPoolExecutor(max_workers=max(1, len(kinds)), thread_name_prefix="pipeline") as pipelines,
    ):
        session = ReadSession(factory, scope, calls, consumers)
        try:
            reads = {kind.name: pipelines.submit(_read_kind, kind, session, kind not in whole) for kind in kinds}
            arns = sorted(resolved(scope).aws_policy_arns)
            aws = {arn: calls.submit(read_aws_policy, factory, arn) for arn in arns}
            policies = {arn: p for arn, f in aws.items() if (p := f.result()) is not None}
            if on_aws_policies is not None:
                # The invariants need nothing else from AWS. They start once the account-wide answers
                # (GetAccountAuthorizationDetails) are parsed and taken, while the per-resource calls are still
                # being made: the rules' model and the largest answer's parse are then not in memory at once.
                _settled(session, reads.values())
                on_aws_policies(policies)
            resources = {name: future.result() for name, future in reads.items()}
        except BaseException:
            calls.shutdown(wait=False, cancel_futures=True)  # the calls in flight end; no other starts
            raise
    return LiveState(scope.account_id, scope.region, resources, policies)


def _settled(session: ReadSession, reads: Iterable[Future[Any]]) -> None:
    """Wait until the session's shared answers are taken by their kinds, or no kind is still reading."""
    pending = {session.taken, *reads}
    while session.taken in pending and len(pending) > 1:
        done, pending = wait(pending, return_when=FIRST_COMPLETED)
        if any(future.exception() is not None for future in done if future is not session.taken):
            return  # the read fails: read_account raises it


def _read_kind(kind: Kind, session: ReadSession, by_name: bool) -> Mapping[str, Any]:
    if by_name:
        assert session.scope.only is not None
        return kind.read_named(session, session.scope.only[kind.name])
    return kind.read(session)


def read_services() -> tuple[str, ...]:
    """The services a whole-account read calls: the account guard's (STS), then those of the kinds' read actions
    (an IAM action's prefix is the service's name in boto3)."""
    return ("sts", *sorted({action.split(":", 1)[0] for kind in REGISTRY.values() for action in kind.reads}))


class EarlyRead:
    """A read of the whole account started from the Settings alone, on a thread of its own, while the manifests
    load: the account guard and the account-wide calls (IAM's GetAccountAuthorizationDetails, the lists of buckets,
    notebooks and keys, their tags) are made meanwhile, and the rest once the manifests' scope is given
    (:meth:`resolve`). Used as a context manager: leaving it abandons a read that was not given its scope, and
    waits for the calls in flight.

    ``aws_policies``: the AWS managed policies the manifests attach, once read (what the invariant rules need, given
    at the point of the read where ``read_account`` hands them over); ``live``: the account as read.
    """

    def __init__(self, factory: ClientFactory, account_id: str, region: str, ownership: tuple[str, str]) -> None:
        self.factory = factory
        self.scope = EarlyScope(account_id, region, *ownership)
        # The clients are made here, before the loader runs: made on the read's thread, they took the whole load.
        # A client that cannot be made (no region, an unknown profile) fails the read's thread again, and is
        # reported after the load, which stays the first judge.
        with suppress(AwsAccessError):
            factory.prepare(read_services())
        self.aws_policies: Future[Mapping[str, AwsPolicy]] = Future()
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="early-read")
        self.live = self._thread.submit(read_account, factory, self.scope, on_aws_policies=self.aws_policies.set_result)

    def resolve(self, scope: ReadScope) -> bool:
        """Give the read the manifests' scope: True, or False when the read was started from other Settings (the
        account, the region or the ownership tag differ): it is then abandoned, and the caller reads anew."""
        return self.scope.resolve(scope)

    def close(self) -> None:
        """Let the read go: if it was never given its scope, abandon it and stop its calls (each ends with its HTTP
        attempt in flight: a failed load is reported at once, not after an unreachable AWS's retries); then wait
        for its thread."""
        if self.scope.abandon():
            self.factory.stop_calls()
        self._thread.shutdown(wait=True)

    def __enter__(self) -> EarlyRead:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
