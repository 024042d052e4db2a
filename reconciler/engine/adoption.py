"""What ``apply --adopt`` does to each resource it takes over: the ownership mark, and anything else.

Adopting a resource means marking it as the reconciler's (the ownership tag; for a group, which cannot
be tagged, the guard inline policy) *and* converging it to git. After ``reconciler import`` the second
part should be empty. This module splits each change of a plan into the mark and the rest, so that
``plan --adopt`` and ``import`` can say which resources are only taken over and which would also
change. Pure: no AWS calls.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from reconciler.engine.plan import Action, Change, FieldChange, FieldPath, Plan
from reconciler.kinds.group.guard import GROUP_GUARD_POLICY
from reconciler.values import thaw

__all__ = ["AdoptionReport", "adoption_note", "adoption_report", "is_ownership_mark", "render_adoption"]

GUARD_FIELD = ("inlinePolicies", GROUP_GUARD_POLICY)


def is_ownership_mark(fc: FieldChange, ownership_key: str, ownership_value: str) -> bool:
    """Whether ``fc`` only adds the ownership mark: the ownership tag, or a group's new guard policy."""
    if fc.path == GUARD_FIELD:
        return fc.old is None
    if fc.path != ("tags",):
        return False
    old = thaw(fc.old) if isinstance(fc.old, Mapping) else {}
    new = thaw(fc.new) if isinstance(fc.new, Mapping) else {}
    return bool(new == {**old, ownership_key: ownership_value})


@dataclass(frozen=True)
class AdoptionReport:
    """The changes of a plan, split by what adopting does.

    ``mark_only``: refs that only get the ownership mark (adoptions, and empty groups that get their
    guard); ``also_changed``: adoptions that change more, with those fields; ``other``: every other
    change (creates, updates, deletions, releases).
    """

    mark_only: tuple[str, ...] = ()
    also_changed: tuple[tuple[str, tuple[FieldPath, ...]], ...] = ()
    other: tuple[Change, ...] = ()

    @property
    def adoption_only(self) -> bool:
        """True when applying the plan with --adopt changes nothing but ownership marks."""
        return not self.also_changed and not self.other


def adoption_report(plan: Plan, ownership_key: str, ownership_value: str) -> AdoptionReport:
    mark_only: list[str] = []
    also_changed: list[tuple[str, tuple[FieldPath, ...]]] = []
    other: list[Change] = []
    for change in plan.changes:
        extra = tuple(fc.path for fc in change.fields if not is_ownership_mark(fc, ownership_key, ownership_value))
        if change.action is Action.ADOPT:
            if extra:
                also_changed.append((change.ref, extra))
            else:
                mark_only.append(change.ref)
        elif change.action is Action.UPDATE and change.fields and not extra:
            mark_only.append(change.ref)  # an empty group named in git gets its guard without --adopt
        else:
            other.append(change)
    return AdoptionReport(tuple(mark_only), tuple(also_changed), tuple(other))


def adoption_note(report: AdoptionReport) -> str:
    """The summary on one line, for a plan note (the pull-request comment of ``plan --adopt``)."""
    lines = render_adoption(report).splitlines()
    head, rest = lines[0], [line.strip() for line in lines[1:]]
    return " ".join([head, "; ".join(r for r in rest if not r.startswith("Besides"))]).strip()


def render_adoption(report: AdoptionReport) -> str:
    """A few lines for the end of ``plan --adopt``: what adopting takes over, and what it also changes."""
    adopted = len(report.mark_only) + len(report.also_changed)
    if not adopted:
        return "Adoption: nothing to take over."
    lines = [
        f"Adoption: {adopted} resource(s) taken over; {len(report.mark_only)} get only the ownership mark"
        + (f", {len(report.also_changed)} also change:" if report.also_changed else ".")
    ]
    lines += [f"  {ref}: {', '.join('.'.join(p) for p in paths)}" for ref, paths in report.also_changed]
    if report.other:
        lines.append(f"Besides adoption, the plan makes {len(report.other)} other change(s) (shown above).")
    return "\n".join(lines)
