"""The second validation pass: what the schemas cannot say (references between manifests). Each kind says
what its manifests refer to (``check_references``); this only walks them."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Protocol

from reconciler.manifests.model import Resource

# report(resource, field path, message, (kind, name) of the missing target)
Report = Callable[[Resource, tuple[str | int, ...], str, tuple[str, str]], None]


class ReferenceChecker(Protocol):
    def check_references(self, resource: Resource, exists: Callable[[str, str], bool], report: Report) -> None: ...


def check_references(
    resources: Mapping[str, Mapping[str, Resource]], kinds: Mapping[str, ReferenceChecker], report: Report
) -> None:
    """Report every reference from a resource to a manifest that does not exist."""

    def exists(kind: str, name: str) -> bool:
        return name in resources.get(kind, {})

    for kind, by_name in resources.items():
        for resource in by_name.values():
            kinds[kind].check_references(resource, exists, report)
