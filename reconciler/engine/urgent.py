"""What always proceeds, whatever the controller's schedule says: removals of expired access, and reverts of drift
that breaks an invariant.

Outside its sync windows (``Settings.syncWindows``) the controller plans and reports, and applies only the
*urgent* part of the plan (:func:`urgent_saved`), a plan of its own, judged again by the verdict and applied
through the saved-plan path like any other:

- **removals of expired access**: a change that removes what an expired grant gave (``Plan.expired``): an expired
  user's deletion or release whole; of an update, only the values the grants gave (a member, an attached policy),
  the rest of the update (other drift, other changes of git) waits for the window;
- **reverts of drift that breaks an invariant**: an update or deletion of a resource on which the account as read
  has an error finding of a rule that also judges the manifests (an invariant), that the manifests as in force
  have not (:func:`invariant_breaking`): the change makes the account true to git again there, whole.

Drift is measured against the last applied commit: when a newer commit waits for the window, the controller narrows
the plan of the last applied commit, not the head's (``controller/account.py``), so the head's changes wait.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Iterable

from reconciler.aws.clients import ClientFactory
from reconciler.aws.policies import attached_aws_policies, read_aws_policies
from reconciler.engine.plan import Action, Change, FieldChange, Plan
from reconciler.engine.planfile import SavedPlan
from reconciler.engine.preview import Preview, plan_access
from reconciler.engine.verdict import judge
from reconciler.kinds.context import Grant
from reconciler.manifests.model import DesiredState
from reconciler.rules import BY_ID, Report
from reconciler.rules.exceptions import apply_exceptions
from reconciler.rules.fromlive import from_live
from reconciler.rules.registry import run
from reconciler.values import thaw

__all__ = ["URGENT_NOTE", "invariant_breaking", "urgent_plan", "urgent_saved"]

URGENT_NOTE = (
    "only what always proceeds is applied now (removals of expired access, reverts of drift that breaks an "
    "invariant); the other changes wait for the controller's schedule"
)


def invariant_breaking(
    preview: Preview, report: Report, desired: DesiredState, reader: ClientFactory
) -> frozenset[str]:
    """``Kind/name`` of the resources on which the account as read has an error finding, of a rule that judges the
    manifests too, that the manifests as in force (``desired``; ``report``: their findings, exceptions applied the
    same way) do not have. The documents of AWS managed policies attached in the account that the plan did not read
    (attached by hand: AdministratorAccess on a group) are read with ``reader`` (read-only), so the rules see them."""
    tag = desired.settings.ownership_tag
    extra = read_aws_policies(reader, attached_aws_policies(preview.live))
    model = from_live(preview.live, ownership=(tag.key, tag.value), aws_policies=extra)
    judged = [f for f in run(model) if "desired" in BY_ID[f.rule].applies_to]
    live = apply_exceptions(judged, desired.settings, origin="live", subject="account")
    known = {(f.rule, f.resource) for f in report.findings} | {
        (e.finding.rule, e.finding.resource) for e in report.excepted
    }
    return frozenset(f.resource for f in live.errors if (f.rule, f.resource) not in known)


def _given(change: Change, expired: Iterable[Grant]) -> dict[str, set[str]]:
    """The values expired grants gave that ``change`` takes out, by field (``members``: user names, ...)."""
    out: dict[str, set[str]] = {}
    for grant in expired:
        for removal in grant.removes:
            if removal.ref == change.ref and removal.field:
                out.setdefault(removal.field, set()).add(removal.value)
    return out


def _only_expired(change: Change, expired: Iterable[Grant]) -> Change | None:
    """Of an update, only the removal of what expired grants gave: each list field keeps its live values but those."""
    given = _given(change, expired)
    fields: list[FieldChange] = []
    narrowed = dict(thaw(change.live) or {})
    for fc in change.fields:
        values = given.get(fc.name)
        if len(fc.path) != 1 or not values or not isinstance(fc.old, tuple | list):
            continue
        gone = [v for v in fc.old if v in values and v not in (fc.new or ())]
        if not gone:
            continue
        kept = [v for v in fc.old if v not in gone]
        fields.append(FieldChange(fc.path, fc.old, kept))
        narrowed[fc.name] = kept
    if not fields:
        return None
    return dataclasses.replace(change, fields=tuple(fields), desired=narrowed, blocker=None)


def urgent_plan(plan: Plan, breaking: frozenset[str]) -> Plan:
    """The part of ``plan`` that always proceeds (see the module's docstring), as a plan of its own."""
    whole = {r.ref for g in plan.expired for r in g.removes if not r.field}
    kept: list[Change] = []
    for change in plan.changes:
        repairs = change.action in (Action.UPDATE, Action.DELETE) and change.ref in breaking
        ends = change.action in (Action.DELETE, Action.RELEASE) and change.ref in whole
        if repairs or ends:
            kept.append(change)
        elif change.action is Action.UPDATE:
            narrowed = _only_expired(change, plan.expired)
            if narrowed is not None:
                kept.append(narrowed)
    touched = {c.ref for c in kept}
    # What the reconciler owns and this plan leaves as it is counts as unchanged (the deletion rails weigh it).
    waiting = Counter(
        c.kind
        for c in plan.changes
        if c.ref not in touched and c.action in (Action.UPDATE, Action.DELETE, Action.RELEASE)
    )
    return dataclasses.replace(
        plan,
        changes=tuple(kept),
        unchanged=dict(Counter(plan.unchanged) + waiting),
        notes=(*plan.notes, URGENT_NOTE),
    )


def urgent_saved(saved: SavedPlan, preview: Preview, reader: ClientFactory) -> SavedPlan:
    """``saved`` narrowed to what always proceeds, judged again (the same rails and findings), its access diff
    computed again. ``preview``: what ``saved`` was made from; ``reader``: read-only clients of its account."""
    assert saved.report is not None and preview.current is not None, "a plan just made carries its report and state"
    desired = preview.current.desired
    plan = urgent_plan(saved.plan, invariant_breaking(preview, saved.report, desired, reader))
    verdict = judge(
        plan,
        saved.report,
        max_deletes=saved.max_deletes,
        adopt=saved.adopt,
        allow_deletes=saved.allow_deletes,
        allow_destroy_retained=saved.allow_destroy_retained,
    )
    access = plan_access(desired, preview.live, plan, saved.target.region)
    return dataclasses.replace(saved, plan=plan, verdict=verdict, access=access)
