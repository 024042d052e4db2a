"""The plan: a pure, immutable, ordered value.

``plan`` computes it without side effects; renderers print it; ``apply`` executes exactly this
value. Nothing in here talks to AWS.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import Any

from reconciler.kinds import KIND_ORDER
from reconciler.kinds.context import Blocker, Grant
from reconciler.policydoc import StatementDiff
from reconciler.values import freeze

__all__ = ["Action", "Blocker", "Change", "FieldChange", "FieldPath", "Plan"]

#: Where a field is in a view: its name, then keys within it (``("inlinePolicies", "guard")``). A key may hold
#: any character, dots included: a path is never parsed from text.
FieldPath = tuple[str, ...]


class Action(StrEnum):
    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"
    # A resource named in git exists in the account without the ownership tag: converging it
    # means taking it over, which needs an explicit --adopt.
    ADOPT = "adopt"
    # AWS cannot make the change in place, and ``--replace Kind/name`` asked for it: delete the resource,
    # then create it as git says (what it destroys is listed; it counts against the deletion rails).
    REPLACE = "replace"
    # An owned resource no longer in git that is kept rather than deleted (a Retain bucket):
    # the ownership tag is removed and it is reported.
    RELEASE = "release"


@dataclass(frozen=True)
class FieldChange:
    """One field that differs: its value in the account (old) and in git (new)."""

    path: FieldPath
    old: Any
    new: Any
    # For policy documents: the statements added and removed.
    statements: StatementDiff | None = None
    # IAM or SageMaker cannot change this field in place: the resource must be replaced.
    replaces: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "old", freeze(self.old))
        object.__setattr__(self, "new", freeze(self.new))

    @property
    def name(self) -> str:
        """The top-level field (``inlinePolicies`` for ``("inlinePolicies", "guard")``)."""
        return self.path[0]

    @property
    def field(self) -> str:
        """The path as people read it: ``inlinePolicies.guard`` (for display and the JSON plan only)."""
        return ".".join(self.path)


@dataclass(frozen=True)
class Change:
    """What happens to one resource."""

    action: Action
    kind: str
    name: str
    fields: tuple[FieldChange, ...] = ()
    # The comparable views both sides were reduced to (None where the side does not exist).
    # apply reads the desired one; renderers may show them for creates and deletes.
    desired: Any = None
    live: Any = None
    notes: tuple[str, ...] = ()
    # Where the resource is defined in git (file:line), when it is.
    source: str | None = None
    # What the change removes besides the resource's own fields (a deleted user's access keys, a
    # deleted notebook's volume): a reviewer sees every side effect before it happens.
    destroys: tuple[str, ...] = ()
    # Why apply will not make this change (it needs a replacement apply does not do, a bucket to
    # delete holds data, ...): the plan is refused as a whole, before anything is written.
    blocker: Blocker | None = None
    # A digest of the live resource the plan read ("absent" when it did not exist): apply re-reads the
    # resource and refuses to write when it moved since the plan was made.
    fingerprint: str = ""
    # For a replacement: the manifest's deletionPolicy is Retain (replacing it needs --allow-destroy-retained),
    # and the live resource lacks the ownership mark (replacing it takes it over: it needs --adopt).
    retain: bool = False
    adopting: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "desired", freeze(self.desired))
        object.__setattr__(self, "live", freeze(self.live))

    @property
    def ref(self) -> str:
        return f"{self.kind}/{self.name}"

    @property
    def sort_key(self) -> tuple[int, int, str]:
        rank = KIND_ORDER.index(self.kind) if self.kind in KIND_ORDER else len(KIND_ORDER)
        if self.action in (Action.DELETE, Action.RELEASE):
            return (1, len(KIND_ORDER) - rank, self.name)
        return (0, rank, self.name)

    @property
    def removes(self) -> bool:
        """Whether the change takes the resource out of the account (a deletion, or the deleting half of a
        replacement): what the deletion rails count."""
        return self.action in (Action.DELETE, Action.REPLACE)


@dataclass(frozen=True)
class Plan:
    """Every change needed to make the account match git, in execution order."""

    account_id: str
    region: str
    changes: tuple[Change, ...] = ()
    # Resources compared and found equal, by kind (for the summary).
    unchanged: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))
    # Facts the reviewer should see that are not changes (e.g. prune is off).
    notes: tuple[str, ...] = ()
    # Resources under ``management: observe`` that differ from git: what enforcing them would change. Reported,
    # never applied (apply executes ``changes`` only); and how many observed resources match git.
    observed: tuple[Change, ...] = ()
    observed_in_sync: int = 0
    # Access that ends (engine/expiry.py): the grants that had expired when the plan was made (the plan removes
    # what the account still holds of them), and those that end within Settings.expiryWarningDays.
    expired: tuple[Grant, ...] = ()
    expiring: tuple[Grant, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "changes", tuple(sorted(self.changes, key=lambda c: c.sort_key)))
        object.__setattr__(self, "unchanged", MappingProxyType(dict(self.unchanged)))
        object.__setattr__(self, "observed", tuple(sorted(self.observed, key=lambda c: c.sort_key)))

    def __iter__(self) -> Iterator[Change]:
        return iter(self.changes)

    def count(self, action: Action) -> int:
        return sum(1 for c in self.changes if c.action is action)

    @property
    def empty(self) -> bool:
        return not self.changes

    def summary(self) -> str:
        """One line, in the words apply's summary uses: "Plan: 1 to create, ... (2 to adopt)"."""
        text = (
            f"Plan: {self.count(Action.CREATE)} to create, {self.count(Action.UPDATE)} to update, "
            f"{self.count(Action.DELETE)} to delete."
        )
        extra = [
            f"{self.count(a)} to {a.value}" for a in (Action.ADOPT, Action.REPLACE, Action.RELEASE) if self.count(a)
        ]
        text += f" ({', '.join(extra)})" if extra else ""
        if self.observed or self.observed_in_sync:
            total = len(self.observed) + self.observed_in_sync
            text += f" Observed, not enforced: {total} resource(s), {len(self.observed)} differ from git."
        return text

    def refs(self, *actions: Action) -> frozenset[str]:
        """``Kind/name`` of the changes with one of ``actions`` (all changes when none is given)."""
        return frozenset(c.ref for c in self.changes if not actions or c.action in actions)
