"""The controller between full reads: a new commit converges only what it changed, and an unchanged one costs
nothing but one read of the state table.

A *full* reconcile reads the whole account (all drift): the first cycle of the process, and then every
``--resync`` interval (with jitter). After a full or targeted reconcile that converged an account without a
failure, the controller keeps what it then knew (:class:`Baseline`): the commit the account is at (the state
table's last applied commit), that commit's desired state and each resource's desired view, and what a
targeted plan takes from the last full read (:class:`~reconciler.engine.targeted.Known`: what the reconciler
owns, the AWS managed policies, users' access keys).

Between full reads:

- **the same commit** (the head is the one the last cycle judged, and the state table still says so): nothing
  is read or evaluated; a problem of the head is reported again (logs, metrics and /readyz keep it);
- **a new commit** (apply mode, with a baseline at the state table's last applied commit): ``git diff`` lists
  the files that changed in the manifest directory (none: the commit is recorded as applied, nothing is read).
  The loop loads the head from the changed files and the previous load (``reconciler.manifests.changes``); the
  invariants run on all of it. The targeted resources are those whose desired view differs between the two
  commits (:func:`change_scope`): what the changed files define, added or removed, and what depends on it
  wherever it is defined (a user's groups are its groups' ``members``, a role's path is in the bucket policies
  that name it, ...). Under the lease, only those are read (by name), planned, judged (the verdict a full plan
  would give for them: :mod:`reconciler.engine.targeted`) and applied (``apply_saved``), and the commit is
  recorded as the lease is released;
- **a full reconcile instead** when there is no baseline (the process started, a change failed, another writer
  recorded a commit), when the Settings or the Account changed, when a Policy manifest was removed (what
  attaches it is found only in a read of the whole account), and in plan mode (the account is not converged to
  any commit);
- **a head that cannot be applied** (invalid, refused, a rewind) is reported on every cycle, and self-healing
  from the last applied commit, which reads everything, runs with the full reads.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import random
import time
from collections.abc import Mapping
from contextlib import nullcontext
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING

import structlog
from prometheus_client import Counter

from reconciler import clock
from reconciler.aws.lease import Lease
from reconciler.controller.gitsource import Changed
from reconciler.engine.converge import Planned, apply_saved
from reconciler.engine.differ import context
from reconciler.engine.executor import ApplyResult, Status
from reconciler.engine.expiry import grants_of, next_event
from reconciler.engine.targeted import Known, RulesCache, known_after, known_from, targeted_plan
from reconciler.kinds import KIND_ORDER, REGISTRY
from reconciler.manifests.model import DesiredState

if TYPE_CHECKING:
    from reconciler.controller.account import AccountReconcile, HeadProblem
    from reconciler.controller.metrics import Metrics

__all__ = ["Baseline", "Incremental", "Memory", "change_scope", "converged_baseline", "targeted", "views_of"]

log = structlog.get_logger(__name__)

OK, ERROR = 0, 1


def views_of(desired: DesiredState, region: str) -> dict[str, str]:
    """``Kind/name`` -> a digest of the resource's desired view (what the plan compares with the account)."""
    ctx = context(desired, region)
    out: dict[str, str] = {}
    for kind in KIND_ORDER:
        rules = REGISTRY[kind]
        for name, resource in desired.of(kind).items():
            text = json.dumps(rules.desired_view(resource, ctx), sort_keys=True, default=str, separators=(",", ":"))
            out[f"{kind}/{name}"] = hashlib.sha256(text.encode()).hexdigest()
    return out


@dataclass(frozen=True)
class Baseline:
    """What the controller knows of an account converged to ``commit`` (its state table's last applied commit)."""

    commit: str
    desired: DesiredState
    region: str
    views: Mapping[str, str]
    known: Known
    # ``Kind/name`` of changes the last apply left pending (a notebook updated once it is stopped): the next
    # cycle plans them again, targeted, even at the same commit.
    pending: frozenset[str] = frozenset()
    # When time alone changes what ``desired`` means (an entry or an exception ends, a warning starts): from
    # then on the baseline is not used (the next cycle is a full one, which removes expired access on time).
    until: dt.datetime | None = None

    def current(self) -> bool:
        return self.until is None or clock.now() < self.until


@dataclass
class Memory:
    """One account's last cycle: the head it judged, the applied commit the state table gave, how it ended."""

    head: str
    applied: str | None
    status: int
    # The head's problem, reported again on every cycle until a commit fixes it.
    problem: HeadProblem | None = None
    baseline: Baseline | None = None


def change_scope(
    baseline: Baseline, desired: DesiredState, changed: list[Changed]
) -> tuple[dict[str, frozenset[str]] | None, str, Mapping[str, str]]:
    """(the resources a targeted reconcile reads, by kind, or None and why a full one is needed; the head's
    views) for the files ``changed`` since the baseline's commit.

    The resources are those whose desired view differs between the two commits (added and removed ones
    included): what the changed files define, and what depends on it wherever it is defined (a user's groups
    are its groups' ``members``, a role's path is in the policies of the buckets and keys that name it, ...).
    A manifest whose view is the same in both commits (a comment, a field's order, a move to another file)
    cannot need a change: its drift is the full reads' to find."""
    if not changed:  # no file of the manifest directory changed: the same desired state
        return {}, "", baseline.views
    views = views_of(desired, baseline.region)
    before = baseline.desired
    if desired.settings != before.settings:
        return None, "the Settings changed", views
    if desired.account != before.account:
        return None, "the Account manifest changed", views
    refs = {ref for ref in set(views) | set(baseline.views) if views.get(ref) != baseline.views.get(ref)}
    removed = sorted(r for r in refs if r.startswith("Policy/") and r.split("/", 1)[1] not in desired.of("Policy"))
    if removed:
        why = f"a Policy manifest was removed ({', '.join(removed)}): what attaches it is read with the whole account"
        return None, why, views
    only: dict[str, set[str]] = {}
    for ref in refs:
        kind, name = ref.split("/", 1)
        only.setdefault(kind, set()).add(name)
    return {kind: frozenset(names) for kind, names in only.items()}, "", views


@dataclass
class Incremental:
    """The controller's memory between cycles: when the next full read is due, and each account's last cycle."""

    resync: float | None  # seconds between full reads; None: every cycle reads the whole account
    jitter: float = 0.1
    metrics: Metrics | None = None
    accounts: dict[str, Memory] = field(default_factory=dict)
    rules: dict[str, RulesCache] = field(default_factory=dict)
    next_full: float | None = None  # time.monotonic() of the next full read; None: the next cycle is one
    cycles: Counter | None = None

    def __post_init__(self) -> None:
        if self.metrics is not None:
            self.cycles = Counter(
                "reconciler_account_cycles",
                "Account reconciles by what they read: full (the whole account), targeted (what a commit changed), "
                "none (an unchanged commit between full reads)",
                ["read"],
                registry=self.metrics.registry,
            )

    # ------------------------------------------------------------------ when to read everything

    def full_due(self) -> bool:
        return self.resync is None or self.next_full is None or time.monotonic() >= self.next_full

    def full_done(self) -> None:
        """A full cycle completed: the next one is due in ``resync`` seconds, give or take the jitter."""
        if self.resync is None:
            return
        spread = self.resync * self.jitter
        self.next_full = time.monotonic() + self.resync + random.uniform(-spread, spread)  # noqa: S311 - jitter
        log.info("next full read of the account(s)", seconds=round(self.next_full - time.monotonic(), 1))

    def counted(self, read: str) -> None:
        if self.cycles is not None:
            self.cycles.labels(read).inc()

    # ------------------------------------------------------------------ per account

    def remember(self, account_id: str, memory: Memory) -> None:
        self.accounts[account_id] = memory

    def forget(self, account_id: str) -> None:
        """The account's state is not known (a failure): its next cycle is a full one."""
        self.accounts.pop(account_id, None)

    def baseline(self, account_id: str, applied: str | None) -> Baseline | None:
        """The account's baseline, when it is at ``applied`` (the state table's last applied commit)."""
        memory = self.accounts.get(account_id)
        if memory is None or memory.baseline is None or applied is None or memory.baseline.commit != applied:
            return None
        return memory.baseline if memory.baseline.current() else None

    def unchanged(self, account_id: str, head: str, applied: str | None) -> Memory | None:
        """The account's memory when this cycle has nothing to do for it: the same head and applied commit as its
        last cycle, which settled (converged, or a problem only a new commit fixes) with nothing left pending."""
        memory = self.accounts.get(account_id)
        if (
            memory is None
            or memory.head != head
            or memory.applied != applied
            or (memory.status == ERROR and (memory.problem is None))
        ):
            return None
        if memory.baseline is not None and (memory.baseline.pending or not memory.baseline.current()):
            return None
        return memory

    def rules_for(self, account_id: str) -> RulesCache:
        return self.rules.setdefault(account_id, RulesCache())


def converged_baseline(
    commit: str, desired: DesiredState, planned: Planned, result: ApplyResult | None, region: str
) -> Baseline:
    """The baseline after a full plan of ``desired`` (at ``commit``) was applied without a failure."""
    plan, live = planned.saved.plan, planned.preview.live
    return Baseline(
        commit=commit,
        desired=desired,
        region=region,
        views=views_of(desired, region),
        known=known_from(plan, live, desired, region, applied=True),
        pending=_pending(result),
        until=next_event(desired, clock.now()),
    )


def _pending(result: ApplyResult | None) -> frozenset[str]:
    return frozenset(o.change.ref for o in result.of(Status.PENDING)) if result is not None else frozenset()


def targeted(rec: AccountReconcile, head: str, last: str, desired: DesiredState, baseline: Baseline) -> int | None:
    """Converge ``rec``'s account from ``last`` (its baseline) to ``head``, reading only what the commit changed.
    None: a full reconcile is needed (said in a log line)."""
    shared = rec.shared
    incremental = shared.incremental
    assert incremental is not None
    only: dict[str, frozenset[str]] = {}
    views: Mapping[str, str] = baseline.views
    now = clock.now()
    if any(grant.expiry.passed(now) for _, grant in grants_of(desired)):
        # Expired access is removed by plans of the manifests as in force (engine/expiry.py): a full one.
        log.info("full read", reason="an entry of the manifests has expired", last_applied=last)
        return None
    if head != last:
        changed = rec.source.changed(last, head)
        scope, reason, views = change_scope(baseline, desired, changed)
        if scope is None:
            log.info("full read", reason=reason, last_applied=last)
            return None
        only = dict(scope)
        log.info(
            "targeted reconcile",
            last_applied=last,
            changed_files=len(changed),
            resources=sorted(f"{kind}/{name}" for kind, names in only.items() for name in names)[:50],
        )
    for ref in baseline.pending:  # left pending by the last apply: planned again
        kind, name = ref.split("/", 1)
        only[kind] = only.get(kind, frozenset()) | {name}
    region = rec.region(desired)
    if not only:
        rec.table(read_only=False).record_applied(head, owner=shared.owner)
        done = Baseline(head, desired, region, views, baseline.known, until=next_event(desired, clock.now()))
        return _converged(rec, head, last, done, None, note="nothing the account holds changed")
    reader = rec.factory(region, read_only=True, commit=head)
    writer = rec.factory(region, read_only=False, commit=head)
    lease = Lease(
        rec.table(read_only=False), owner=shared.owner, ttl=shared.lease_ttl, on_wait=rec.metrics.lease_waited
    )
    problem: HeadProblem | None = None
    result: ApplyResult | None = None
    with lease.held(timeout=shared.lease_timeout, stop=shared.stop_event) as held:
        planned = targeted_plan(
            desired,
            reader,
            region,
            only,
            baseline.known,
            previous=baseline.desired,
            findings=incremental.rules_for(rec.account_id).findings,
            adopt=shared.options.adopt,
            allow_deletes=shared.options.allow_deletes,
            commit=head,
            display_root=shared.display_root,
        )
        rec.report.observe(planned)
        saved = planned.saved
        if saved.verdict.refused:
            problem = rec.refused(saved.verdict)
        else:
            if not saved.plan.empty:
                log.info("applying the plan", digest=saved.digest, summary=saved.plan.summary(), targeted=True)
            result = apply_saved(
                saved,
                reader=reader,
                writer=writer,
                lease=partial(nullcontext, held),
                workers=shared.options.max_workers,
                on_outcome=rec.report.observe_outcome,
                stop=shared.stop_event.is_set,
                verify=False,  # planned under this very lease: nothing the reconciler does moved it since
            )
            if result is None or result.ok:
                lease.record_on_release(head, owner=shared.owner)
    incremental.counted("targeted")
    if problem is not None:
        return rec.head_problem(problem, head, last, heal=False)
    if result is not None and not result.ok:
        incremental.forget(rec.account_id)
        return rec.incomplete(result)
    known = known_after(
        baseline.known, only, plan=planned.saved.plan, live=planned.preview.live, desired=desired, region=region
    )
    done = Baseline(
        head, desired, region, views, known, pending=_pending(result), until=next_event(desired, clock.now())
    )
    return _converged(rec, head, last, done, result)


def _converged(
    rec: AccountReconcile,
    head: str,
    last: str,
    baseline: Baseline,
    result: ApplyResult | None,
    *,
    note: str | None = None,
) -> int:
    shared = rec.shared
    assert shared.incremental is not None
    shared.incremental.remember(rec.account_id, Memory(head, head, OK, None, baseline))
    return rec.succeeded(head, last, result, note=note)
