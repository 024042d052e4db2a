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

from collections.abc import Mapping
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any

from reconciler.aws.live import LiveState
from reconciler.kinds import KIND_ORDER
from reconciler.kinds.group.guard import GROUP_PENDING_PATH
from reconciler.kinds.role import live_roles

__all__ = ["UNMANAGED_ROLE_PATHS", "Filters", "Selection", "Skipped", "role_names", "select"]

#: Role paths AWS reserves for roles it creates and manages itself: users cannot change these roles.
UNMANAGED_ROLE_PATHS: Mapping[str, str] = {
    "/aws-service-role/": "service-linked role: AWS creates and manages it",
    "/aws-reserved/": "AWS-reserved role (IAM Identity Center): AWS creates and manages it",
}


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


def _unmanaged(kind: str, resource: Any) -> str | None:
    if kind == "Role":
        for prefix, reason in UNMANAGED_ROLE_PATHS.items():
            if str(resource.path).startswith(prefix):
                return reason
    if kind == "Group" and resource.path == GROUP_PENDING_PATH:
        return f"the reconciler is creating or deleting it (path {GROUP_PENDING_PATH}): its next apply finishes that"
    return None


def role_names(live: LiveState) -> dict[str, str]:
    """Role ARN -> role name."""
    return {role.arn: name for name, role in live_roles(live).items()}


def _needs(kind: str, resource: Any, roles: Mapping[str, str]) -> list[tuple[str, str]]:
    """(kind, name) of the resources ``resource`` must refer to by name; ("", arn) when absent."""
    if kind == "User":
        return [("Group", g) for g in resource.groups]
    if kind == "NotebookInstance" and resource.role_arn:
        role = roles.get(resource.role_arn)
        return [("Role", role) if role else ("", str(resource.role_arn))]
    return []


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
            reason = _unmanaged(kind, resource) or filters.excluded(kind, name, getattr(resource, "tags", {}))
            if reason:
                blocked[(kind, name)] = reason
            if not filters.wanted(kind, name):
                continue
            if reason:
                skipped.append(Skipped(f"{kind}/{name}", reason))
            else:
                chosen[kind].add(name)
    dependencies: list[tuple[str, str]] = []
    roles = role_names(live)
    for kind in ("User", "NotebookInstance"):
        for name in sorted(chosen[kind]):
            needs = _needs(kind, live.of(kind)[name], roles)
            reasons = [why for dep_kind, dep_name in needs if (why := _why_not(live, dep_kind, dep_name, blocked))]
            if reasons:
                chosen[kind].discard(name)
                skipped.append(Skipped(f"{kind}/{name}", reasons[0]))
                continue
            for dep_kind, dep_name in needs:
                if dep_name not in chosen[dep_kind]:
                    chosen[dep_kind].add(dep_name)
                    dependencies.append((f"{dep_kind}/{dep_name}", f"{kind}/{name} refers to it"))
    aws_policies = sorted(
        {
            arn
            for kind in ("Role", "Group")
            for name in chosen[kind]
            for arn in (*live.of(kind)[name].attached, getattr(live.of(kind)[name], "boundary", None) or "")
            if ":iam::aws:policy/" in arn
        }
    )
    return Selection(
        names={kind: frozenset(names) for kind, names in chosen.items()},
        skipped=tuple(sorted(skipped, key=lambda s: (KIND_ORDER.index(s.ref.split("/", 1)[0]), s.ref))),
        dependencies=tuple(dependencies),
        aws_policies=tuple(aws_policies),
    )
