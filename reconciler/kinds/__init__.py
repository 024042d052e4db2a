"""The registry of resource kinds: one entry per kind, each declaring its views and facts."""

from __future__ import annotations

from reconciler.kinds.base import Context, Kind
from reconciler.kinds.iam import GroupKind, PolicyKind, RoleKind, UserKind
from reconciler.kinds.storage import BucketKind, NotebookKind

REGISTRY: dict[str, Kind] = {
    k.name: k for k in (PolicyKind(), RoleKind(), GroupKind(), UserKind(), BucketKind(), NotebookKind())
}

__all__ = ["REGISTRY", "Context", "Kind"]
