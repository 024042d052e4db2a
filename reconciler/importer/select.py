"""Which live resources ``reconciler import`` writes manifests for, and why the others are left out.

A resource is imported when its kind is asked for (``--kinds``), its name matches ``--include`` (if
given), and it is not left out: AWS manages it (service-linked and AWS-reserved roles), the reconciler
is half-way through creating or deleting it (a group at the reserved pending path), a pattern of
``--exclude`` matches it, or it carries a tag of ``--exclude-tag`` (another tool owns it).

Manifests refer to each other by name, and two references have no other form: a user's groups and a
notebook's role. A group or role that such a resource needs is imported too when it was only not
asked for; when it is left out on purpose, the resource that needs it is left out as well (importing
the user without that group would make ``apply`` remove the membership). Policies need no such care:
a role or group refers to a policy that is not imported by its ARN.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from fnmatch import fnmatchcase

from reconciler.aws.live import LiveState
from reconciler.kinds import KIND_ORDER, REGISTRY

__all__ = ["Filters", "Selection", "Skipped", "arn_index", "select"]


def _matches(pattern: str, kind: str, name: str) -> bool:
    """``pattern`` against the name, or against ``Kind/name`` when the pattern holds a ``/``."""
    return fnmatchcase(f"{kind}/{name}" if "/" in pattern else name, pattern)


@dataclass(frozen=True)
class Filters:
    """What the user asked for on the command line."""

    kinds: frozenset[str] = frozenset(KIND_ORDER)
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    # (key, value); value None: any value of the key.
    exclude_tags: tuple[tuple[str, str | None], ...] = ()

    def wanted(self, kind: str, name: str) -> bool:
        """Asked for: the kind is selected and the name matches ``--include`` (when given)."""
        return kind in self.kinds and (not self.include or any(_matches(p, kind, name) for p in self.include))

    def excluded(self, kind: str, name: str, tags: Mapping[str, str]) -> str | None:
        """Why the resource is left out on purpose, or None."""
        for pattern in self.exclude:
            if _matches(pattern, kind, name):
                return f"matches --exclude {pattern}"
        for key, value in self.exclude_tags:
            if key in tags and (value is None or tags[key] == value):
                return f"tagged {key}={tags[key]} (--exclude-tag)"
        return None


@dataclass(frozen=True)
class Skipped:
    ref: str
    reason: str


@dataclass(frozen=True)
class Selection:
    """The names to import by kind, what was left out (and why), and what came in as a dependency."""

    names: Mapping[str, frozenset[str]]
    skipped: tuple[Skipped, ...] = ()
    # (ref, why): imported although not asked for, because an imported resource needs it.
    dependencies: tuple[tuple[str, str], ...] = ()
    # AWS managed policies the imported roles and groups attach (referred to by ARN, never imported).
    aws_policies: tuple[str, ...] = ()


def arn_index(live: LiveState) -> Callable[[str], tuple[str, str] | None]:
    """``name_of(arn)``: (kind, name) of the live resource with that ARN (None: no such resource)."""
    index = {
        arn: (kind, name)
        for kind in KIND_ORDER
        for name, resource in live.of(kind).items()
        if isinstance(arn := getattr(resource, "arn", None), str)
    }
    return index.get


def _why_not(live: LiveState, kind: str, name: str, blocked: Mapping[tuple[str, str], str]) -> str | None:
    """Why a resource that another one needs cannot be imported, or None."""
    if not kind:
        return f"its role {name} is not a role of this account"
    if name not in live.of(kind):
        return f"it needs {kind}/{name}, which does not exist"
    if (kind, name) in blocked:
        return f"it needs {kind}/{name}, which is not imported: {blocked[(kind, name)]}"
    return None


def select(live: LiveState, filters: Filters) -> Selection:
    """Decide what to import from ``live`` (read for the kinds of ``filters``)."""
    blocked: dict[tuple[str, str], str] = {}
    chosen: dict[str, set[str]] = {kind: set() for kind in KIND_ORDER}
    skipped: list[Skipped] = []
    for kind in KIND_ORDER:
        for name, resource in sorted(live.of(kind).items()):
            reason = REGISTRY[kind].import_skip(resource) or filters.excluded(kind, name, getattr(resource, "tags", {}))
            if reason:
                blocked[(kind, name)] = reason
            if not filters.wanted(kind, name):
                continue
            if reason:
                skipped.append(Skipped(f"{kind}/{name}", reason))
            else:
                chosen[kind].add(name)
    dependencies: list[tuple[str, str]] = []
    name_of = arn_index(live)
    # What the chosen resources need, and then what that needs in turn.
    pending = [(kind, name) for kind in KIND_ORDER for name in sorted(chosen[kind])]
    while pending:
        kind, name = pending.pop(0)
        needs = REGISTRY[kind].import_needs(live.of(kind)[name], name_of)
        reasons = [why for dep_kind, dep_name in needs if (why := _why_not(live, dep_kind, dep_name, blocked))]
        if reasons:
            chosen[kind].discard(name)
            skipped.append(Skipped(f"{kind}/{name}", reasons[0]))
            continue
        for dep_kind, dep_name in needs:
            if dep_name not in chosen[dep_kind]:
                chosen[dep_kind].add(dep_name)
                dependencies.append((f"{dep_kind}/{dep_name}", f"{kind}/{name} refers to it"))
                pending.append((dep_kind, dep_name))
    aws_policies = sorted(
        {
            arn
            for kind in KIND_ORDER
            for name in chosen[kind]
            for arn in REGISTRY[kind].import_aws_policies(live.of(kind)[name])
            if ":iam::aws:policy/" in arn
        }
    )
    return Selection(
        names={kind: frozenset(names) for kind, names in chosen.items()},
        skipped=tuple(sorted(skipped, key=lambda s: (KIND_ORDER.index(s.ref.split("/", 1)[0]), s.ref))),
        dependencies=tuple(dependencies),
        aws_policies=tuple(aws_policies),
    )
