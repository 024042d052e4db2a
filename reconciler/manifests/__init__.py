"""Manifests: YAML with positions, schema validation, meaning checks, the typed desired model."""

from reconciler.manifests.loader import load_directory
from reconciler.manifests.model import DesiredState

__all__ = ["DesiredState", "load_directory"]
