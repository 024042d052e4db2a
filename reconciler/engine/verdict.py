"""The verdict on a plan: would apply make it, and if not, why and what unblocks it.

One function, :func:`judge`, decides every refusal apply makes before writing, so that ``plan`` says
first, in the same words, what ``apply`` would refuse: error findings of the security invariants, the
deletion rails, resources that need ``--adopt``, and changes apply will not make (a replacement, a
bucket to delete that holds data, a volume that would shrink). Pure: no AWS calls.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from reconciler.engine.plan import Action, Plan
from reconciler.rules import Report

__all__ = ["Refusal", "Verdict", "judge", "owned_count", "rail_refusals"]


@dataclass(frozen=True)
class Refusal:
    """One reason apply refuses the whole plan."""

    code: str  # invariants | max-deletes | most-deleted | adopt | retained | a kind's blocker (replacement, ...)
    message: str  # one line: what is refused
    unblock: str  # one line: the flag or edit that unblocks it
    resources: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, object]:
        return {"code": self.code, "message": self.message, "unblock": self.unblock, "resources": list(self.resources)}


@dataclass(frozen=True)
class Verdict:
    """Every refusal of a plan; none means apply makes it."""

    refusals: tuple[Refusal, ...] = ()

    @property
    def refused(self) -> bool:
        return bool(self.refusals)

    @property
    def by_invariants(self) -> bool:
        """Refused by the security invariants (exit status 3 for apply, as for plan)."""
        return any(r.code == "invariants" for r in self.refusals)

    def headline(self) -> str:
        """The first line of every rendering of the plan."""
        if not self.refused:
            return "Verdict: apply makes this plan as shown."
        reasons = "; ".join(r.message for r in self.refusals[:3])
        more = f"; and {len(self.refusals) - 3} more reason(s)" if len(self.refusals) > 3 else ""
        return f"REFUSED: apply would write nothing: {reasons}{more}."

    def lines(self) -> list[str]:
        """One line per refusal: what, and what unblocks it."""
        return [f"{r.message}: {r.unblock}" for r in self.refusals]

    def to_dict(self) -> dict[str, object]:
        return {
            "applies": not self.refused,
            "headline": self.headline(),
            "refusals": [r.to_dict() for r in self.refusals],
        }


def _some(refs: tuple[str, ...], shown: int = 5) -> str:
    """The first few of ``refs`` for a one-line message (every one stays in ``Refusal.resources``)."""
    more = f" and {len(refs) - shown} more" if len(refs) > shown else ""
    return ", ".join(refs[:shown]) + more


def owned_count(plan: Plan) -> int:
    """Resources the reconciler owns in the account, as the plan saw them."""
    kept = (Action.UPDATE, Action.DELETE, Action.RELEASE)
    return sum(plan.unchanged.values()) + sum(
        1 for c in plan if c.action in kept or (c.action is Action.REPLACE and not c.adopting)
    )


def rail_refusals(
    plan: Plan, *, max_deletes: int, allow_deletes: int | None, owned: int | None = None
) -> list[Refusal]:
    """The deletion rails: more deletions than allowed, or most of what the reconciler owns leaving it.

    The second counts releases too: a resource whose deletion policy keeps it (``Retain``) is not destroyed
    when its manifest goes, but a checkout that lost most of its manifests must not hand most of the account
    back to nobody either, whatever the deletion policies say. ``owned``: what the reconciler owns in the whole
    account, for a plan that compared only part of it (a targeted plan: its own ``owned_count`` would be the
    part's); by default, the plan's :func:`owned_count`. A replacement counts as a deletion."""
    deleted = tuple(c.ref for c in plan if c.removes)
    released = tuple(c.ref for c in plan if c.action is Action.RELEASE)
    count = len(deleted)
    if not deleted and not released:
        return []
    allowed = allow_deletes if allow_deletes is not None else max_deletes
    unblock = f"review the deletions, then rerun with --allow-deletes {count}"
    if count > allowed:
        replaced = plan.count(Action.REPLACE)
        counted = f", {replaced} of them replacements" if replaced else ""
        return [
            Refusal(
                "max-deletes",
                f"the plan deletes {count} resources ({_some(deleted)}{counted}), more than the {allowed} allowed "
                f"(Settings.maxDeletes={max_deletes})",
                unblock,
                deleted,
            )
        ]
    owned = owned_count(plan) if owned is None else owned
    leaving = deleted + released
    if allow_deletes is None and owned and len(leaving) * 2 > owned:
        what = f"deletes {count}" + (f" and releases {len(released)}" if released else "")
        return [
            Refusal(
                "most-deleted",
                f"the plan {what} of the {owned} resources the reconciler owns (a checkout that "
                "lost most of its manifests must not empty the account)",
                unblock if deleted else "review the releases, then rerun with --allow-deletes 0",
                leaving,
            )
        ]
    return []


def _retained(plan: Plan) -> Iterable[Refusal]:
    """Replacements of resources whose manifest says ``deletionPolicy: Retain``: what Retain protects (a
    notebook's volume, a bucket's data) is destroyed by a replacement, so it takes a second, explicit flag."""
    refs = tuple(c.ref for c in plan if c.action is Action.REPLACE and c.retain)
    if not refs:
        return ()
    return (
        Refusal(
            "retained",
            f"{len(refs)} replacement(s) of resources with deletionPolicy Retain ({_some(refs)}) destroy what "
            "Retain keeps",
            "save what they hold (the plan lists what each replacement destroys), then rerun with "
            "--allow-destroy-retained",
            refs,
        ),
    )


def _invariants(report: Report | None) -> Iterable[Refusal]:
    if report is None or not report.refuses:
        return ()
    errors = report.errors
    return (
        Refusal(
            "invariants",
            f"{len(errors)} error finding(s) of the security invariants "
            f"({', '.join(sorted({f.rule for f in errors}))})",
            "fix the manifests as the findings say, or record a deliberate exception with its reason in "
            "Settings.exceptions (docs/rules.md)",
            tuple(sorted({f.resource for f in errors})),
        ),
    )


def judge(
    plan: Plan,
    report: Report | None,
    *,
    max_deletes: int,
    adopt: bool = False,
    allow_deletes: int | None = None,
    allow_destroy_retained: bool = False,
    owned: int | None = None,
) -> Verdict:
    """Everything apply would refuse in ``plan``, run with ``--adopt`` = ``adopt``, ``--allow-deletes`` and
    ``--allow-destroy-retained`` (``owned``: see :func:`rail_refusals`)."""
    refusals = list(_invariants(report))
    adoptions = tuple(c.ref for c in plan if c.action is Action.ADOPT or c.adopting)
    if adoptions and not adopt:
        refusals.append(
            Refusal(
                "adopt",
                f"{len(adoptions)} resource(s) named in git exist without the ownership mark ({_some(adoptions)})",
                "rerun with --adopt to take them over (plan --adopt shows what that changes besides the mark)",
                adoptions,
            )
        )
    refusals += [
        Refusal(c.blocker.code, f"{c.ref}: {c.blocker.message}", c.blocker.unblock, (c.ref,))
        for c in plan
        if c.blocker is not None
    ]
    if not allow_destroy_retained:
        refusals += _retained(plan)
    refusals += rail_refusals(plan, max_deletes=max_deletes, allow_deletes=allow_deletes, owned=owned)
    return Verdict(tuple(refusals))
