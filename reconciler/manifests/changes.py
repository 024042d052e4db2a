"""Load a directory of one account again after a commit changed a few of its files: the changed files only, the
rest taken from the previous load (the controller, between full reads: ``reconciler.controller.incremental``)."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from pathlib import Path

from reconciler.errors import ManifestError, ManifestProblem
from reconciler.manifests import fleet
from reconciler.manifests.files import display, read_file
from reconciler.manifests.loader import KindSpec, _check_document, _Problems, _State
from reconciler.manifests.model import ACCOUNT, DesiredState, Resource

__all__ = ["NotIncremental", "load_changes"]


class NotIncremental(Exception):
    """The changed files cannot be loaded on their own (see :func:`load_changes`): load the whole directory."""


def load_changes(
    previous: DesiredState,
    root: Path | str,
    *,
    changed: Collection[str],
    removed: Collection[str],
    kinds: Mapping[str, KindSpec],
    display_root: Path | str,
    fingerprint: str,
) -> DesiredState:
    """The desired state of a directory of one account that differs from the one ``previous`` was loaded from
    only in the files ``changed`` (added or modified: paths relative to the directory, written under ``root``) and
    ``removed``: what ``previous`` holds from the other files, and the changed files loaded (YAML, schema), then
    every check across documents made again (duplicates, references, one Settings). ``fingerprint`` names the
    result (it cannot be the directory's: the other files are not read).

    Raises :class:`NotIncremental` when a changed file makes the directory a fleet (an Account manifest,
    ``metadata.accounts``, ``${account.*}``) or ``previous`` is a fleet's, and ManifestError for the problems
    found (the whole directory's load reports them as it always does)."""
    if previous.account is not None:
        raise NotIncremental("a fleet's desired state")
    root, base = Path(root), Path(display_root)
    gone = {display(Path(rel), base) for rel in (*changed, *removed)}
    state = _State(None)
    for resource in (previous.settings, *previous):
        if resource.source is not None and resource.source.file not in gone:
            state.keep(resource)
    problems = _Problems([])
    unparsed = False
    built: list[Resource] = []
    for rel in sorted(changed):
        shown = display(Path(rel), base)
        read = read_file(root / rel, shown)
        problems.add(read.problems, None)
        unparsed = unparsed or read.unparsed
        for doc in read.documents:
            data = doc.data
            meta = data.get("metadata") if isinstance(data, dict) else None
            if isinstance(data, dict) and (
                data.get("kind") == ACCOUNT
                or (isinstance(meta, dict) and "accounts" in meta)
                or (doc.mentions_variables and fleet.uses_variables(data))
            ):
                raise NotIncremental(f"{shown} has fleet manifests")
            found: list[ManifestProblem] = []
            resource = _check_document(doc, found, kinds, single=True)
            problems.add(found, None)
            state.add(doc, resource, kinds)
            if resource is not None:
                built.append(resource)
    problems.add(state.finish(kinds, unparsed_files=unparsed, base=base, empty=False), None)
    if problems:
        raise ManifestError(problems.listed([]))
    for resource in built:
        if resource.source is not None:
            resource.source.document.data = None
    return state.desired(str(root), fingerprint)
