"""Plan, then apply exactly that plan: one path for ``apply DIR``, ``apply FILE`` and the controller.

    make_plan:  read (read-only) -> diff -> invariants -> verdict      -> SavedPlan (what a reviewer reads)
    apply_saved: account check -> refused? stop -> take the lease -> re-read what the plan touches
                 -> anything moved? stop -> execute exactly the plan, the lease checked before every
                 change and before every AWS write

A plan that apply would refuse is refused before anything is written, for the reasons the plan itself
printed (:mod:`reconciler.engine.verdict`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from typing import Protocol

import structlog

from reconciler.aws.account import check_account
from reconciler.aws.clients import ClientFactory
from reconciler.aws.live import fingerprint
from reconciler.aws.scope import ReadScope
from reconciler.engine.differ import context
from reconciler.engine.executor import ApplyOptions, ApplyResult, Executor, Outcome, RefusedError
from reconciler.engine.plan import Action
from reconciler.engine.planfile import SavedPlan
from reconciler.engine.preview import Findings, Preview, preview
from reconciler.engine.verdict import Verdict, judge
from reconciler.errors import ReconcilerError
from reconciler.kinds import REGISTRY
from reconciler.kinds.context import Target
from reconciler.kinds.read import EarlyRead, read_account
from reconciler.manifests.model import DesiredState

__all__ = [
    "LeaseHandle",
    "PlanRefused",
    "PlanStale",
    "ReplaceError",
    "apply_saved",
    "check_replace",
    "make_plan",
    "moved_resources",
    "planned",
]

log = structlog.get_logger(__name__)


class LeaseHandle(Protocol):
    """What apply needs of a held lease: whether it is still held (checked before every write)."""

    def valid(self) -> bool: ...


class LeaseLost(ReconcilerError):
    """The lease was lost (expired while the process was paused, or taken over): nothing more is written."""

    retryable = True


class PlanRefused(RefusedError):
    """The plan's verdict refuses it (the reasons the plan printed). Nothing was written."""

    def __init__(self, verdict: Verdict) -> None:
        self.verdict = verdict
        self.invariants = verdict.by_invariants
        super().__init__(verdict.headline())


class PlanStale(ReconcilerError):
    """Resources the plan touches changed since it was made. Nothing was written; plan again."""

    retryable = True

    def __init__(self, moved: tuple[str, ...]) -> None:
        self.moved = moved
        super().__init__(
            f"the account changed since the plan was made; plan again ({len(moved)} resource(s) moved: "
            f"{', '.join(moved)})"
        )


class ReplaceError(ReconcilerError):
    """``--replace`` names something that cannot be replaced. Nothing was read or written."""


def check_replace(desired: DesiredState, refs: frozenset[str]) -> None:
    """Refuse ``--replace`` of what is not a manifest, is observed, or is of a kind AWS can change in place
    entirely (a replacement would only destroy: a bucket's objects, a user's credentials)."""
    problems: list[str] = []
    for ref in sorted(refs):
        kind_name, _, name = ref.partition("/")
        kind = REGISTRY.get(kind_name)
        if kind is None or not name:
            problems.append(f"{ref}: not Kind/name of a known kind ({', '.join(REGISTRY)})")
        elif not kind.replace_fields:
            problems.append(f"{ref}: {kind_name} is never replaced (AWS changes every field of it in place)")
        elif desired.get(kind_name, name) is None:
            problems.append(f"{ref}: no such manifest")
        elif ref in desired.observed:
            problems.append(f"{ref}: observed (metadata.management: observe): nothing is ever written to it")
    if problems:
        raise ReplaceError("--replace: " + "; ".join(problems))


@dataclass(frozen=True)
class Planned:
    saved: SavedPlan
    preview: Preview


def make_plan(
    desired: DesiredState,
    reader: ClientFactory,
    region: str,
    *,
    adopt: bool = False,
    allow_deletes: int | None = None,
    replace: frozenset[str] = frozenset(),
    allow_destroy_retained: bool = False,
    commit: str | None = None,
    display_root: str = "",
    findings: Findings | None = None,
    early: EarlyRead | None = None,
) -> Planned:
    """Read the account, diff, evaluate the invariants and judge: the plan apply would execute. ``findings``: how
    the rules' findings are had; ``early``: a read started while ``desired`` loaded (``preview``).

    ``replace``: ``Kind/name`` of resources to delete and recreate (``--replace``; :func:`check_replace` says
    which may be)."""
    check_replace(desired, replace)
    current = preview(desired, reader, region, invariants=True, findings=findings, replace=replace, early=early)
    report = current.report
    assert report is not None
    verdict = judge(
        current.plan,
        report,
        max_deletes=desired.settings.max_deletes,
        adopt=adopt,
        allow_deletes=allow_deletes,
        allow_destroy_retained=allow_destroy_retained,
    )
    return planned(
        desired,
        current,
        verdict,
        region,
        adopt=adopt,
        allow_deletes=allow_deletes,
        replace=replace,
        allow_destroy_retained=allow_destroy_retained,
        commit=commit,
        display_root=display_root,
    )


def planned(
    desired: DesiredState,
    current: Preview,
    verdict: Verdict,
    region: str,
    *,
    adopt: bool,
    allow_deletes: int | None,
    commit: str | None,
    display_root: str,
    replace: frozenset[str] = frozenset(),
    allow_destroy_retained: bool = False,
) -> Planned:
    """The saved plan of ``current`` judged ``verdict``: what apply executes (a plan of the whole account, or a
    targeted one: ``reconciler.engine.targeted``)."""
    settings = desired.settings
    ctx = context(desired, region)
    saved = SavedPlan(
        plan=current.plan,
        verdict=verdict,
        target=Target(ctx.account_id, region, ctx.ownership_key, ctx.ownership_value),
        adopt=adopt,
        allow_deletes=allow_deletes,
        replace=replace,
        allow_destroy_retained=allow_destroy_retained,
        max_deletes=settings.max_deletes,
        notebook_updates=settings.notebook_updates,
        manifests=desired.fingerprint,
        directory=display_root or desired.root,
        commit=commit,
        account=desired.account,
        report=current.report,
        access=current.access,
    )
    return Planned(saved, current)


def verification_scope(saved: SavedPlan) -> ReadScope:
    """Read again exactly what the plan touches, as the plan read it (nothing else in detail)."""
    plan, target = saved.plan, saved.target
    names = {
        k: frozenset(c.name for c in plan if c.kind == k and c.action not in (Action.DELETE, Action.RELEASE))
        for k in REGISTRY
    }
    deleting = {
        k: frozenset(c.name for c in plan if c.kind == k and c.action in (Action.DELETE, Action.RELEASE))
        for k in REGISTRY
    }
    return ReadScope(
        account_id=target.account_id,
        region=target.region,
        ownership_key=target.ownership_key,
        ownership_value=target.ownership_value,
        names=names,
        deleting=deleting,
    )


def moved_resources(saved: SavedPlan, reader: ClientFactory) -> tuple[str, ...]:
    """``Kind/name`` of the resources the plan touches whose live state differs from what the plan read."""
    live = read_account(reader, verification_scope(saved))
    return tuple(sorted(c.ref for c in saved.plan if fingerprint(live.of(c.kind).get(c.name)) != c.fingerprint))


@contextmanager
def _no_lease() -> Iterator[None]:
    yield None


def apply_saved(
    saved: SavedPlan,
    *,
    reader: ClientFactory,
    writer: ClientFactory,
    lease: Callable[[], AbstractContextManager[LeaseHandle | None]] | None = None,
    workers: int = 8,
    consistency_timeout: float = 60.0,
    poll_interval: float = 2.0,
    verify: bool = True,
    on_outcome: Callable[[Outcome], None] | None = None,
    log_changes: bool = True,
    stop: Callable[[], bool] | None = None,
) -> ApplyResult | None:
    """Execute exactly ``saved``. Returns None when the plan is empty (nothing to do).

    Raises PlanRefused (its verdict refuses it), PlanStale (what it touches moved; with ``verify``),
    AccountMismatchError; in each case before anything is written. ``writer`` must not be the factory of the
    lease's own table: while the plan runs, its clients refuse every write once the lease is no longer valid.
    """
    check_account(reader, saved.target.account_id)
    if saved.verdict.refused:
        raise PlanRefused(saved.verdict)
    if saved.plan.empty:
        return None
    with lease() if lease is not None else _no_lease() as held:
        if verify:
            moved = moved_resources(saved, reader)
            if moved:
                raise PlanStale(moved)
            log.info("plan verified: what it touches is as the plan saw it", resources=len(saved.plan.changes))

        def lease_lost() -> bool:
            return held is not None and not held.valid()

        def guard(service: str, operation: str) -> None:
            if lease_lost():
                raise LeaseLost(f"the lease was lost: {service}:{operation} not sent")

        options = ApplyOptions(
            adopt=saved.adopt,
            allow_deletes=saved.allow_deletes,
            allow_destroy_retained=saved.allow_destroy_retained,
            max_workers=workers,
            consistency_timeout=consistency_timeout,
            poll_interval=poll_interval,
        )
        with writer.guarding(guard):
            executor = Executor(
                writer,
                saved.target,
                options,
                notebook_updates=saved.notebook_updates,
                on_outcome=on_outcome,
                log_changes=log_changes,
                stop=stop,
                lease_lost=lease_lost,
            )
            return executor.run(saved.plan)
