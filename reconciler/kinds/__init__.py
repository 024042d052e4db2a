"""The resource kinds: one package each (its manifest model, views, reads, steps, import and facts), and the
registry that the generic machinery iterates over."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from reconciler.kinds.base import Kind
from reconciler.kinds.context import Context, Target
from reconciler.kinds.registry import KIND_ORDER, REGISTRY

if TYPE_CHECKING:
    from reconciler.manifests.fleet import Fleet
    from reconciler.manifests.model import Account, DesiredState

__all__ = ["KIND_ORDER", "REGISTRY", "Context", "Kind", "Target", "load_changes", "load_directory", "load_fleet"]


def load_directory(root: Path | str, *, display_root: Path | str | None = None) -> DesiredState:
    """Load and validate every manifest under ``root`` (every kind of the registry, and one Settings).
    Raises ManifestError listing every problem, located."""
    from reconciler.manifests import loader  # noqa: PLC0415 - jsonschema is loaded when manifests are

    return loader.load_directory(root, kinds=REGISTRY, display_root=display_root)


def load_fleet(
    root: Path | str, *, display_root: Path | str | None = None, select: Callable[[Account], bool] | None = None
) -> Fleet:
    """Load and validate a directory of one account or of a fleet (Account manifests): the desired state of each
    account ``select`` keeps. Raises ManifestError listing every problem, located."""
    from reconciler.manifests import loader  # noqa: PLC0415 - jsonschema is loaded when manifests are

    return loader.load_fleet(root, kinds=REGISTRY, display_root=display_root, select=select)


def load_changes(
    previous: DesiredState,
    root: Path | str,
    *,
    changed: list[str],
    removed: list[str],
    display_root: Path | str,
    fingerprint: str,
) -> DesiredState:
    """``previous`` with the files ``changed`` (under ``root``) and ``removed`` loaded again: see
    :func:`reconciler.manifests.changes.load_changes`."""
    from reconciler.manifests import changes  # noqa: PLC0415 - jsonschema is loaded when manifests are

    return changes.load_changes(
        previous,
        root,
        changed=changed,
        removed=removed,
        kinds=REGISTRY,
        display_root=display_root,
        fingerprint=fingerprint,
    )
