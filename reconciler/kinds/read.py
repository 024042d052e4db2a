"""Read the account with the fewest API calls: every kind reads its own resources (its ``read`` module), side by
side, their per-resource calls on one bounded pool; what several kinds read from one answer (IAM's
``GetAccountAuthorizationDetails``) is fetched once and shared.

The account guard runs first: ``sts:GetCallerIdentity`` must be ``ReadScope.account_id``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor

from reconciler.aws.account import check_account
from reconciler.aws.clients import ClientFactory
from reconciler.aws.live import LiveState
from reconciler.aws.policies import AwsPolicy, read_aws_policy
from reconciler.aws.scope import ReadScope
from reconciler.aws.session import ReadSession
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
    kinds = list(REGISTRY.values())
    consumers = Counter(source for kind in kinds for source in kind.sources)
    with (
        ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="read") as calls,
        ThreadPoolExecutor(max_workers=len(kinds), thread_name_prefix="pipeline") as pipelines,
    ):
        session = ReadSession(factory, scope, calls, consumers)
        reads = {kind.name: pipelines.submit(kind.read, session) for kind in kinds}
        aws = {arn: calls.submit(read_aws_policy, factory, arn) for arn in sorted(scope.aws_policy_arns)}
        resolved = {arn: p for arn, f in aws.items() if (p := f.result()) is not None}
        if on_aws_policies is not None:
            # Called as soon as they are read, while the rest is still being read: the invariants need
            # nothing else from AWS.
            on_aws_policies(resolved)
        resources = {name: future.result() for name, future in reads.items()}
    return LiveState(scope.account_id, scope.region, resources, resolved)
