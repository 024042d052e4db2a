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
from typing import Any

from reconciler.aws.account import check_account
from reconciler.aws.clients import ClientFactory
from reconciler.aws.live import LiveState
from reconciler.aws.policies import AwsPolicy, read_aws_policy
from reconciler.aws.scope import ReadScope
from reconciler.aws.session import ReadSession
from reconciler.kinds.base import Kind
from reconciler.kinds.registry import REGISTRY

__all__ = ["read_account"]


def read_account(
    factory: ClientFactory,
    scope: ReadScope,
    *,
    max_workers: int = 16,
    on_aws_policies: Callable[[Mapping[str, AwsPolicy]], None] | None = None,
    check: bool = True,
) -> LiveState:
    """Check the account (unless ``check`` is false: the caller did), then read every kind of the registry."""
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
        reads = {kind.name: pipelines.submit(_read_kind, kind, session, kind not in whole) for kind in kinds}
        aws = {arn: calls.submit(read_aws_policy, factory, arn) for arn in sorted(scope.aws_policy_arns)}
        resolved = {arn: p for arn, f in aws.items() if (p := f.result()) is not None}
        if on_aws_policies is not None:
            # The invariants need nothing else from AWS. They start once the account-wide answers
            # (GetAccountAuthorizationDetails) are parsed and taken, while the per-resource calls are still being
            # made: the rules' model and the largest answer's parse are then not in memory at the same time.
            _settled(session, reads.values())
            on_aws_policies(resolved)
        resources = {name: future.result() for name, future in reads.items()}
    return LiveState(scope.account_id, scope.region, resources, resolved)


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
