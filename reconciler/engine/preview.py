"""The preview: read the account (read-only clients only) and compute the plan."""

from __future__ import annotations

import time
from collections.abc import Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

import structlog

from reconciler.aws.clients import ClientFactory
from reconciler.aws.live import LiveState
from reconciler.aws.policies import AwsPolicy
from reconciler.engine.differ import build_plan, read_scope
from reconciler.engine.plan import Plan
from reconciler.kinds.read import read_account
from reconciler.kinds.user import live_users
from reconciler.manifests.model import DesiredState
from reconciler.rules import Finding, Report, desired_findings, finish

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class Preview:
    plan: Plan
    live: LiveState
    seconds: float
    # The invariant rules on the desired state, when asked for (``preview(..., invariants=True)``).
    report: Report | None = None


def preview(desired: DesiredState, factory: ClientFactory, region: str, *, invariants: bool = False) -> Preview:
    """Read the account and diff it against ``desired``. Sends read operations only.

    With ``invariants``, the security rules are evaluated on ``desired`` too, on a thread of their own
    that starts as soon as the AWS managed policies they need are read: the rest of the read mostly
    waits on AWS, so the rules cost little wall time (``Preview.report``).
    """
    started = time.monotonic()
    rules: list[Future[list[Finding]]] = []
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="invariants") as pool:

        def start_rules(aws_policies: Mapping[str, AwsPolicy]) -> None:
            rules.append(pool.submit(desired_findings, desired, aws_policies, region=region))

        live = read_account(factory, read_scope(desired, region), on_aws_policies=start_rules if invariants else None)
        read_seconds = time.monotonic() - started
        plan = build_plan(desired, live)
        report: Report | None = None
        if rules:
            users = live_users(live)
            keys = {name: users[name].access_keys or () for name in desired.of("User") if name in users}
            report = finish(desired, rules[0].result(), keys)
    elapsed = time.monotonic() - started
    log.info(
        "plan computed",
        read_seconds=round(read_seconds, 3),
        seconds=round(elapsed, 3),
        changes=len(plan.changes),
        account_id=plan.account_id,
        region=region,
    )
    return Preview(plan, live, elapsed, report)
