"""Manifests: YAML with positions, schema validation, references between manifests, the desired state.

The resource kinds themselves (their models and references) are ``reconciler.kinds``'; load a directory
with ``reconciler.kinds.load_directory``.
"""

from reconciler.manifests.model import DesiredState

__all__ = ["DesiredState"]
