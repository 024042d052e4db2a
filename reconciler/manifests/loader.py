"""Load a directory of manifests into a validated ``DesiredState``, or fail with every problem.

Two passes, all problems collected before failing: (1) YAML and JSON Schema, per document;
(2) meaning across documents: duplicates, exactly one Settings, references that resolve.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from reconciler.errors import ManifestError, ManifestProblem
from reconciler.manifests import schema
from reconciler.manifests.model import KINDS, DesiredState, Resource, Settings, build
from reconciler.manifests.semantics import check_references
from reconciler.manifests.yamlsource import Document, manifest_files, parse_documents, read_text

API_VERSION = "reconciler/v1"


def _field(path: list[str | int] | tuple[str | int, ...]) -> str | None:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or None


def _label(data: Any) -> str | None:
    if not isinstance(data, dict):
        return None
    kind = data.get("kind")
    meta = data.get("metadata")
    name = meta.get("name") if isinstance(meta, dict) else None
    if isinstance(kind, str) and isinstance(name, str):
        return f"{kind}/{name}"
    if isinstance(kind, str):
        return kind
    return None


def _check_document(doc: Document, problems: list[ManifestProblem]) -> Resource | None:
    data = doc.data
    label = _label(data)

    def problem(path: list[str | int] | tuple[str | int, ...], message: str, *, key: bool = False) -> None:
        pos = doc.pos(tuple(path), key=key)
        problems.append(ManifestProblem(doc.file, pos.line, pos.col, label, _field(path), message))

    if not isinstance(data, dict):
        problem((), "a manifest must be a mapping with apiVersion, kind, metadata and spec")
        return None
    kind = data.get("kind")
    if kind is None:
        problem((), "missing required field 'kind'")
        return None
    if kind not in KINDS:
        problem(("kind",), f"unknown kind {kind!r}; expected one of {', '.join(KINDS)}")
        return None
    errors = schema.validate(kind, data)
    for error in errors:
        path, key, message = schema.describe(error)
        problem(path, message, key=key)
    if errors:
        return None
    return build(kind, data["metadata"]["name"], data["spec"], doc)


def load_directory(root: Path | str, *, display_root: Path | str | None = None) -> DesiredState:
    """Load and validate every manifest under ``root``. Raises ManifestError listing every problem."""
    root = Path(root)
    base = Path(display_root) if display_root is not None else root
    problems: list[ManifestProblem] = []
    if not root.is_dir():
        raise ManifestError([ManifestProblem(str(root), 0, 0, None, None, "not a directory")])
    resources: dict[str, dict[str, Resource]] = {}
    settings: list[Settings] = []
    settings_documents = 0
    # Names declared by documents that failed validation: references to them are not reported
    # as missing (that would be a cascade of the real error). A file that is not even YAML hides
    # its names entirely, so reference checks are skipped then.
    failed_names: dict[str, set[str]] = {}
    unparsed_files = False
    files = list(manifest_files(root))
    for path in files:
        display = _display(path, root, base)
        text, read_problems = read_text(path, display)
        problems.extend(read_problems)
        if text is None:
            continue
        docs, parse_problems = parse_documents(text, display)
        problems.extend(parse_problems)
        unparsed_files = unparsed_files or bool(parse_problems)
        for doc in docs:
            if isinstance(doc.data, dict) and doc.data.get("kind") == "Settings":
                settings_documents += 1
            resource = _check_document(doc, problems)
            if resource is None:
                label = _label(doc.data)
                if label and "/" in label:
                    kind, _, name = label.partition("/")
                    failed_names.setdefault(kind, set()).add(name)
                continue
            if isinstance(resource, Settings):
                settings.append(resource)
                continue
            seen = resources.setdefault(resource.kind, {})
            first = seen.get(resource.name)
            if first is not None and first.source is not None and resource.source is not None:
                problems.append(ManifestProblem(
                    resource.source.file, resource.source.line, 1, resource.ref, "metadata.name",
                    f"duplicate {resource.ref}; first defined at {first.source.file}:{first.source.line}",
                ))
                continue
            seen[resource.name] = resource

    def report(res: Resource, path: tuple[str | int, ...], message: str, target: tuple[str, str]) -> None:
        assert res.source is not None
        if unparsed_files or target[1] in failed_names.get(target[0], set()):
            return
        pos = res.source.at(*path)
        problems.append(ManifestProblem(res.source.file, pos.line, pos.col, res.ref, _field(path), message))

    check_references(resources, report)
    if not files:
        problems.append(ManifestProblem(str(base), 0, 0, None, None, "no *.yaml or *.yml manifest found"))
    elif len(settings) > 1:
        first = settings[0]
        for extra in settings[1:]:
            assert extra.source is not None and first.source is not None
            problems.append(ManifestProblem(
                extra.source.file, extra.source.line, 1, extra.ref, None,
                f"more than one Settings manifest; the first is at {first.source.file}:{first.source.line}",
            ))
    elif settings_documents == 0:
        problems.append(ManifestProblem(str(base), 0, 0, None, None,
                                        "no Settings manifest found; exactly one is required"))
    if problems:
        raise ManifestError(problems)
    return DesiredState(settings=settings[0], resources=resources, root=str(root))


def _display(path: Path, root: Path, base: Path) -> str:
    rel = path.relative_to(root)
    return str(base / rel) if str(base) not in ("", ".") else str(rel)
