"""Access that ends: the manifests as in force at an instant, and what a plan says about it.

Manifests may give an ``expiresAt`` to a User (the whole user), to a user's membership of a group, and to a Role's
or a Group's policy attachment (each kind lists its own: ``Kind.grants``). :func:`effective` takes them out once
they passed: the plan is then made from the desired state *in force* (the differ stays pure, it never reads the
clock), so expired access is removed on the next plan with no commit, and an expired user is planned as if its
manifest were gone (deleted, or released with ``deletionPolicy: Retain``; the deletion rails still apply).

:func:`annotate` puts the why on the plan: every change that removes an expired grant carries the note
"expired DATE: ...", and the plan lists the grants that expired (``Plan.expired``) and those that end within
``Settings.expiryWarningDays`` (``Plan.expiring``), so that a saved plan carries them too.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from reconciler.engine.plan import Action, Change, Plan
from reconciler.kinds import REGISTRY
from reconciler.kinds.context import Grant
from reconciler.manifests.model import DesiredState, Resource, expiry_at
from reconciler.rules.fromdesired import context_for

__all__ = ["Effective", "annotate", "effective", "exception_grants", "grants_of", "left_text", "next_event"]


@dataclass(frozen=True)
class Effective:
    """The desired state in force at ``at``: without what expired (``expired``); ``expiring``: what ends within
    ``Settings.expiryWarningDays``."""

    desired: DesiredState
    at: dt.datetime
    expired: tuple[Grant, ...] = ()
    expiring: tuple[Grant, ...] = ()


def grants_of(desired: DesiredState) -> list[tuple[Resource, Grant]]:
    """Every grant of the manifests that ends at an ``expiresAt``, with its resource, in the manifests' order."""
    ctx = context_for(desired)
    return [(resource, grant) for resource in desired for grant in REGISTRY[resource.kind].grants(resource, ctx)]


def exception_grants(desired: DesiredState) -> list[tuple[Resource, Grant]]:
    """The ``Settings.exceptions`` entries with an ``expiresAt``, as grants of the Settings: they end too (an
    expired one excuses nothing: ``reconciler.rules.exceptions``), are warned about and listed by ``expired``.
    They remove nothing from the desired state."""
    settings = desired.settings
    found: list[tuple[Resource, Grant]] = []
    for index, exc in enumerate(settings.exceptions):
        expiry = expiry_at(exc.expires_at, settings.source, "spec", "exceptions", index, "expiresAt")
        if expiry is not None:
            entry = f"exception {exc.rule} {exc.resource} (owner {exc.owner})"
            found.append((settings, Grant(settings.ref, entry, ("spec", "exceptions", index), expiry, ())))
    return found


def next_event(desired: DesiredState, after: dt.datetime) -> dt.datetime | None:
    """The first instant after ``after`` at which time alone changes what ``desired`` means: an entry or an
    exception ends, or the warning before it starts (None: never). A controller that skips unchanged commits
    must not skip past it."""
    warn = dt.timedelta(days=desired.settings.expiry_warning_days)
    ending = (*grants_of(desired), *exception_grants(desired))
    return min((t for _, g in ending for t in (g.expiry.at - warn, g.expiry.at) if t > after), default=None)


def effective(desired: DesiredState, at: dt.datetime) -> Effective:
    """``desired`` as in force at ``at`` (from ``reconciler.clock.now()``): the grants that ended taken out."""
    found = grants_of(desired)
    warn = dt.timedelta(days=desired.settings.expiry_warning_days)
    expiring: list[Grant] = [
        g for _, g in exception_grants(desired) if not g.expiry.passed(at) and g.expiry.left(at) <= warn
    ]
    if not found:
        return Effective(desired, at, (), tuple(expiring))
    ended: dict[str, list[Grant]] = {}
    for resource, grant in found:
        if grant.expiry.passed(at):
            ended.setdefault(resource.ref, []).append(grant)
        elif grant.expiry.left(at) <= warn:
            expiring.append(grant)
    if not ended:
        return Effective(desired, at, (), tuple(expiring))
    resources: dict[str, dict[str, Resource]] = {}
    for kind, by_name in desired.resources.items():
        kept: dict[str, Resource] = {}
        for name, resource in by_name.items():
            gone = ended.get(resource.ref)
            now_in_force = REGISTRY[kind].without(resource, gone) if gone else resource
            if now_in_force is not None:
                kept[name] = now_in_force
        resources[kind] = kept
    expired = tuple(grant for grants in ended.values() for grant in grants)
    in_force = dataclasses.replace(desired, resources=resources, loaded=desired)
    return Effective(in_force, at, expired, tuple(expiring))


def left_text(left: dt.timedelta) -> str:
    """A time left, for people: ``2 d 3 h``, ``5 h 10 min``, ``40 min``."""
    minutes = max(0, int(left.total_seconds() // 60))
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes} min"
    return f"{minutes} min"


def _removes(change: Change, grant: Grant) -> bool:
    """Whether ``change`` takes out something ``grant`` gave (not merely touches a resource it names)."""
    for removal in grant.removes:
        if removal.ref != change.ref:
            continue
        if not removal.field:
            if change.action in (Action.DELETE, Action.RELEASE):
                return True
            continue
        for fc in change.fields:
            if fc.path == (removal.field,) and removal.value in (fc.old or ()) and removal.value not in (fc.new or ()):
                return True
    return False


def _note(grant: Grant) -> str:
    where = f" ({grant.expiry.location})" if grant.expiry.location else ""
    what = f"{grant.resource}: planned as if its manifest were gone" if grant.entry == grant.resource else _what(grant)
    return f"expired {grant.expiry.text}: {what}{where}"


def _what(grant: Grant) -> str:
    """``User/bob's membership of Group/x``, or the resource itself when it is what ends."""
    return grant.resource if grant.entry == grant.resource else f"{grant.resource}'s {grant.entry}"


def annotate(plan: Plan, current: Effective) -> Plan:
    """``plan`` (made from ``current.desired``) with why it removes expired access: a note on each change that does,
    the grants that expired and those that end soon, and a note when expired grants are still in the manifests."""
    if not current.expired and not current.expiring:
        return plan
    changes = []
    for change in plan.changes:
        why = tuple(_note(g) for g in current.expired if _removes(change, g))
        changes.append(dataclasses.replace(change, notes=(*why, *change.notes)) if why else change)
    notes = list(plan.notes)
    if current.expired:
        notes.append(
            f"{len(current.expired)} expired entr{'y is' if len(current.expired) == 1 else 'ies are'} still in the "
            "manifests (no longer in force): `reconciler expired --write` removes them from git"
        )
    notes += [
        f"expires in {left_text(g.expiry.left(current.at))} ({g.expiry.text}): {_described(g)}"
        for g in current.expiring
    ]
    return dataclasses.replace(
        plan, changes=tuple(changes), notes=tuple(notes), expired=current.expired, expiring=current.expiring
    )


def _described(grant: Grant) -> str:
    where = f" ({grant.expiry.location})" if grant.expiry.location else ""
    return _what(grant) + where


def refs_removed(plan: Plan, grants: Iterable[Grant]) -> frozenset[str]:
    """``Kind/name`` of the changes of ``plan`` that remove one of ``grants``."""
    every = tuple(grants)
    return frozenset(c.ref for c in plan.changes if any(_removes(c, g) for g in every))
