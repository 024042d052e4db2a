"""The kind list: every resource kind the reconciler manages, one line each.

Everything generic — the loader, the reader, the differ, the executor, the importer, the audit, the rules'
front-end, the emulator — iterates over :data:`REGISTRY`. Changes are executed in :data:`KIND_ORDER`: each kind
after those it declares it must follow (``Kind.after``), ties kept in list order. A kind's manifests may refer
only to kinds listed before it.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Mapping

from reconciler.kinds.base import Kind

#: The kind list: one package of ``reconciler.kinds`` per line, each exporting its ``KIND``. Adding a kind is
#: adding its package, its schema file in schemas/, and its line here (see docs/architecture.md).
KIND_PACKAGES: tuple[str, ...] = (
    "policy",
    "role",
    "group",
    "user",
    "kmskey",
    "bucket",
    "notebook",
    "studiodomain",
    "studioprofile",
)


def _load(package: str) -> Kind:
    kind = importlib.import_module(f"reconciler.kinds.{package}").KIND
    if not isinstance(kind, Kind):
        raise TypeError(f"reconciler.kinds.{package}.KIND is not a Kind")
    return kind


KINDS: tuple[Kind, ...] = tuple(_load(package) for package in KIND_PACKAGES)


def ordered(kinds: Iterable[Kind]) -> tuple[Kind, ...]:
    """``kinds`` so that every kind comes after those it declares in ``after`` (stable otherwise)."""
    pending = list(kinds)
    names = {k.name for k in pending}
    unknown = {(k.name, a) for k in pending for a in k.after if a not in names}
    if unknown:
        raise ValueError(f"kinds declare an unknown kind to follow: {sorted(unknown)}")
    done: list[Kind] = []
    while pending:
        ready = next((k for k in pending if all(a in {d.name for d in done} for a in k.after)), None)
        if ready is None:
            raise ValueError(f"the kinds' order has a cycle among {[k.name for k in pending]}")
        done.append(ready)
        pending.remove(ready)
    return tuple(done)


#: Every kind by name, in the list's order (the order manifests and messages name them in).
REGISTRY: Mapping[str, Kind] = {kind.name: kind for kind in KINDS}
#: Creates and updates run in this order; deletions in the reverse order.
KIND_ORDER: tuple[str, ...] = tuple(kind.name for kind in ordered(KINDS))
