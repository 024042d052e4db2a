"""Live resources -> manifest data, one mapping per resource, as the kinds registry would read it back.

Each kind converts its live models (``Kind.to_spec``, in the kind's ``imports.py``): the manifest is built so
that the kind's ``desired_view`` of it equals the ``live_view`` of what exists, apart from the ownership mark
that adoption adds. What a manifest cannot say (a bucket without Block Public Access, a user with policies of
its own) is written in its secure form; the import's self-check (a plan against the account just read)
reports those fields.

Here: the generic part. Spec keys follow the order of the kind's JSON Schema, and a field equal to its schema
default (or empty) is left out. References are by name where the target is imported (a role's policies and
permissions boundary, a notebook's role, a bucket's writers), else by ARN where the schema allows it.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from reconciler.aws.live import LiveState
from reconciler.importer.select import Selection, Skipped, arn_index
from reconciler.kinds import KIND_ORDER, REGISTRY
from reconciler.kinds.context import Context
from reconciler.manifests import schema
from reconciler.manifests.loader import API_VERSION
from reconciler.manifests.model import SETTINGS, SETTINGS_SCHEMA, DesiredState, OwnershipTag, Resource, Settings

__all__ = ["Manifest", "convert", "settings_manifest", "spec_order"]


@dataclass(frozen=True)
class Manifest:
    kind: str
    name: str
    data: dict[str, Any]

    @property
    def ref(self) -> str:
        return f"{self.kind}/{self.name}"


# ------------------------------------------------------------------------------ schema order and defaults


def _resolve(subschema: Mapping[str, Any]) -> Mapping[str, Any]:
    ref = subschema.get("$ref")
    if not isinstance(ref, str) or "default" in subschema:
        return subschema
    file, _, pointer = ref.partition("#")
    node: Any = json.loads((schema.schema_dir() / file).read_text(encoding="utf-8"))
    for part in pointer.strip("/").split("/") if pointer else ():
        node = node[part]
    return node if isinstance(node, Mapping) else subschema


@cache
def spec_order(kind: str) -> tuple[tuple[str, Any], ...]:
    """(field, default or None) of the kind's spec, in the order of its JSON Schema."""
    path = schema.schema_dir() / (SETTINGS_SCHEMA if kind == SETTINGS else REGISTRY[kind].schema)
    properties = json.loads(path.read_text(encoding="utf-8"))["properties"]["spec"]["properties"]
    return tuple((name, _resolve(sub).get("default")) for name, sub in properties.items())


def _spec(kind: str, values: Mapping[str, Any]) -> dict[str, Any]:
    """``values`` in schema order, without None, empty values and schema defaults."""
    unknown = set(values) - {name for name, _ in spec_order(kind)}
    assert not unknown, f"{kind}: not in the schema: {sorted(unknown)}"
    out: dict[str, Any] = {}
    for name, default in spec_order(kind):
        value = values.get(name)
        if value is None or value in ({}, []) or (default is not None and value == default):
            continue
        out[name] = value
    return out


def _envelope(kind: str, name: str, spec: dict[str, Any], management: str | None = None) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": name}
    if management:
        metadata["management"] = management
    return {"apiVersion": API_VERSION, "kind": kind, "metadata": metadata, "spec": spec}


# ------------------------------------------------------------------------------ the converter


class _Converter:
    """The import in progress: what each kind's ``to_spec`` may ask (``ImportContext``)."""

    def __init__(
        self, live: LiveState, selection: Selection, ownership: OwnershipTag, management: str | None = None
    ) -> None:
        self.management = management
        self.live = live
        self.selection = selection
        self.done: dict[str, set[str]] = {kind: set() for kind in KIND_ORDER}
        self.name_of = arn_index(live)
        # The context the kinds' documents are generated with: stubs carry the paths of what is imported,
        # so that generated ARNs (bucket writers) are the real ones.
        stubs: dict[str, dict[str, Resource]] = {}
        for kind, names in selection.names.items():
            for name in names:
                stub = REGISTRY[kind].import_stub(name, live.of(kind)[name])
                if stub is not None:
                    stubs.setdefault(kind, {})[name] = stub
        settings = Settings("import", None, account_id=live.account_id, ownership_tag=ownership)
        self.ctx = Context(live.account_id, live.region, ownership.key, ownership.value, DesiredState(settings, stubs))

    def imported(self, kind: str, name: str) -> bool:
        return name in self.done.get(kind, ())

    def policy_ref(self, arn: str) -> str:
        found = self.name_of(arn)
        return found[1] if found is not None and found[0] == "Policy" and self.imported(*found) else arn

    def policy_refs(self, arns: Iterable[str]) -> list[str]:
        refs = [self.policy_ref(a) for a in arns]
        return sorted(r for r in refs if not r.startswith("arn:")) + sorted(r for r in refs if r.startswith("arn:"))

    def principal_ref(self, arn: str) -> str | None:
        found = self.name_of(arn)
        if found is not None and found[0] in ("Role", "User") and self.imported(*found):
            return f"{found[0]}/{found[1]}"
        return None

    def live_of(self, kind: str, name: str) -> Any:
        return self.live.of(kind).get(name)

    def _refers_to_missing(self, kind: str, live: Any) -> str | None:
        """A name reference to something that could not be imported after all."""
        for target_kind, name in REGISTRY[kind].import_needs(live, self.name_of):
            if not self.imported(target_kind, name):
                return f"it needs {target_kind}/{name}, which could not be imported"
        return None

    def convert(self) -> tuple[list[Manifest], list[Skipped]]:
        manifests: list[Manifest] = []
        skipped: list[Skipped] = []
        for kind in REGISTRY:  # manifest order: what a manifest refers to comes first (a user's groups)
            for name in sorted(self.selection.names.get(kind, ())):
                live = self.live.of(kind)[name]
                spec = _spec(kind, REGISTRY[kind].to_spec(live, self))
                problem = self._refers_to_missing(kind, live) or _invalid(kind, name, spec)
                if problem:
                    skipped.append(Skipped(f"{kind}/{name}", problem))
                    continue
                manifests.append(Manifest(kind, name, _envelope(kind, name, spec, self.management)))
                self.done[kind].add(name)
        return manifests, skipped


def _invalid(kind: str, name: str, spec: dict[str, Any]) -> str | None:
    """The first schema problem of the manifest, or None (the import never writes an invalid file)."""
    errors = schema.validate(REGISTRY[kind].schema, copy.deepcopy(_envelope(kind, name, spec)))
    if not errors:
        return None
    first = schema.describe_all(errors)[0]
    where = ".".join(str(p) for p in first.path)
    return f"cannot be written as a valid manifest: {where}: {first.message}"


def convert(
    live: LiveState, selection: Selection, ownership: OwnershipTag, management: str | None = None
) -> tuple[list[Manifest], list[Skipped]]:
    """The manifests of the selected resources, and the ones that cannot be written (with why); ``management``:
    the ``metadata.management`` to write in each (``observe`` for ``import --observe``)."""
    return _Converter(live, selection, ownership, management).convert()


def settings_manifest(name: str, account_id: str, region: str, ownership: OwnershipTag) -> Manifest:
    tag = {"key": ownership.key, "value": ownership.value}
    spec = _spec("Settings", {"accountId": account_id, "region": region, "ownershipTag": tag})
    return Manifest("Settings", name, _envelope("Settings", name, spec))
