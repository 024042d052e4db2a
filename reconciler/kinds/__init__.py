"""The resource kinds: one package each (its manifest model, views, reads, steps, import and facts), and the
registry that the generic machinery iterates over."""

from __future__ import annotations

from reconciler.kinds.base import Context, Kind, Target
from reconciler.kinds.registry import KIND_ORDER, REGISTRY

__all__ = ["KIND_ORDER", "REGISTRY", "Context", "Kind", "Target"]
