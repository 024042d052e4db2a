"""The preview: read the account (read-only clients only) and compute the plan."""

from __future__ import annotations

import time
from dataclasses import dataclass

import structlog

from reconciler.aws.clients import ClientFactory
from reconciler.aws.live import LiveState
from reconciler.aws.reader import read_account
from reconciler.engine.differ import build_plan, read_scope
from reconciler.engine.plan import Plan
from reconciler.manifests.model import DesiredState

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class Preview:
    plan: Plan
    live: LiveState
    seconds: float


def preview(desired: DesiredState, factory: ClientFactory, region: str) -> Preview:
    """Read the account and diff it against ``desired``. Sends read operations only."""
    started = time.monotonic()
    live = read_account(factory, read_scope(desired, region))
    read_seconds = time.monotonic() - started
    plan = build_plan(desired, live)
    elapsed = time.monotonic() - started
    log.info(
        "plan computed",
        read_seconds=round(read_seconds, 3),
        seconds=round(elapsed, 3),
        changes=len(plan.changes),
        account_id=plan.account_id,
        region=region,
    )
    return Preview(plan, live, elapsed)
