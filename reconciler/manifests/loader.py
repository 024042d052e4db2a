"""Load a directory of manifests into a validated ``DesiredState``, or fail with every problem.

First the directory's files are listed (:func:`scan_directory`), without following a symbolic link
out of it, and counted and sized before any is read. Then two passes, all problems collected before
failing: (1) YAML and JSON Schema, per document; (2) meaning across documents: duplicates, exactly
one Settings, references that resolve.
"""

from __future__ import annotations

import errno
import hashlib
import os
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol

from reconciler.errors import ManifestError, ManifestProblem
from reconciler.manifests import schema
from reconciler.manifests.model import (
    SETTINGS,
    SETTINGS_SCHEMA,
    DesiredState,
    Resource,
    Settings,
    Source,
    build_settings,
)
from reconciler.manifests.semantics import ReferenceChecker, check_references
from reconciler.manifests.yamlsource import (
    EMPTY_FILE,
    MAX_FILE_BYTES,
    Document,
    parse_documents,
    printable,
    scan_directory,
)

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


class KindSpec(ReferenceChecker, Protocol):
    """What the loader needs of a resource kind (``reconciler.kinds.Kind`` is one)."""

    @property
    def schema(self) -> str:
        """The kind's JSON Schema file (in ``schemas/``)."""

    def build(self, name: str, spec: Mapping[str, Any], source: Source) -> Resource: ...


def _check_document(doc: Document, problems: list[ManifestProblem], kinds: Mapping[str, KindSpec]) -> Resource | None:
    data = doc.data
    label = _label(data)

    def problem(
        field: tuple[str | int, ...], message: str, *, at: tuple[str | int, ...] | None = None, key: bool = False
    ) -> None:
        pos = doc.pos(field if at is None else at, key=key)
        problems.append(ManifestProblem(doc.file, pos.line, pos.col, label, _field(field), message))

    if not isinstance(data, dict):
        problem((), "a manifest must be a mapping with apiVersion, kind, metadata and spec")
        return None
    kind = data.get("kind")
    if kind is None:
        problem((), "missing required field 'kind'")
        return None
    if not isinstance(kind, str) or (kind != SETTINGS and kind not in kinds):
        problem(("kind",), f"unknown kind {_repr(kind)}; expected one of {', '.join((SETTINGS, *kinds))}")
        return None
    before = len(problems)
    errors = schema.validate(SETTINGS_SCHEMA if kind == SETTINGS else kinds[kind].schema, data)
    for described in schema.describe_all(errors):
        problem(described.path, described.message, at=described.at, key=described.key)
    if errors:
        return None
    name, spec = data["metadata"]["name"], data["spec"]
    if kind == SETTINGS:
        # An exception names a resource by ``Kind/name``: any kind of the registry, the Settings, or the account.
        known = (SETTINGS, "Account", *kinds)
        for index, exception in enumerate(spec.get("exceptions", [])):
            named = exception["resource"].split("/", 1)[0]
            if named not in known:
                problem(
                    ("spec", "exceptions", index, "resource"),
                    f"unknown kind {_repr(named)}; expected one of {', '.join(known)}",
                )
        if len(problems) > before:
            return None
        return build_settings(name, spec, doc)
    return kinds[kind].build(name, spec, Source(doc))


def _repr(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _identity(data: Any, kinds: Mapping[str, KindSpec]) -> tuple[str, str]:
    """(kind, name) a document that failed validation may declare; ``*`` where that cannot be told."""
    if not isinstance(data, dict):
        return ("*", "*")
    kind = data.get("kind")
    meta = data.get("metadata")
    name = meta.get("name") if isinstance(meta, dict) else None
    known = kind if isinstance(kind, str) and (kind == SETTINGS or kind in kinds) else "*"
    return (known, name if isinstance(name, str) else "*")


def load_directory(
    root: Path | str, *, kinds: Mapping[str, KindSpec], display_root: Path | str | None = None
) -> DesiredState:
    """Load and validate every manifest under ``root``, of the resource ``kinds`` (by name, in the order the
    desired state lists them) and one Settings. Raises ManifestError listing every problem.

    ``reconciler.kinds.load_directory`` is this, with the registry of kinds."""
    root = Path(root)
    base = Path(display_root) if display_root is not None else root
    problems: list[ManifestProblem] = []
    if not root.is_dir():
        raise ManifestError([ManifestProblem(printable(str(base)), 0, 0, None, None, "not a directory")])
    resources: dict[str, dict[str, Resource]] = {kind: {} for kind in kinds}
    settings: list[Settings] = []
    settings_documents = 0
    # (kind, name) declared by documents that failed validation: references to them are not reported
    # as missing (that would be a cascade of the real error); "*" stands for a kind or a name that
    # cannot be told. A file that cannot be read or is not even YAML hides its names entirely, so
    # reference checks are skipped then, and so is the "no Settings" check.
    failed: set[tuple[str, str]] = set()
    # Links out of the directory, and its size, are checked before any file is read. A refused link
    # may be the Settings or a referenced manifest: it hides names like a file that cannot be read.
    files, scan_problems = scan_directory(root, lambda rel: _display(rel, base))
    problems.extend(scan_problems)
    unparsed_files = bool(scan_problems)
    # A fingerprint of exactly what was read (each file's path and text): a saved plan records it.
    fingerprint = hashlib.sha256()
    for file in files:
        display = _display(file.rel, base)
        text, read_problems = read_text(file.path, display, identity=file.identity)
        problems.extend(read_problems)
        if text is None:
            unparsed_files = True
            continue
        encoded = text.encode("utf-8", "surrogatepass")
        fingerprint.update(f"{file.rel.as_posix()}\0{len(encoded)}\0".encode("utf-8", "surrogatepass") + encoded)
        docs, parse_problems = parse_documents(text, display)
        problems.extend(parse_problems)
        unparsed_files = unparsed_files or any(p.message != EMPTY_FILE for p in parse_problems)
        for doc in docs:
            if isinstance(doc.data, dict) and doc.data.get("kind") == SETTINGS:
                settings_documents += 1
            resource = _check_document(doc, problems, kinds)
            if resource is None:
                failed.add(_identity(doc.data, kinds))
                continue
            if isinstance(resource, Settings):
                settings.append(resource)
                continue
            seen = resources.setdefault(resource.kind, {})
            first = seen.get(resource.name)
            if first is not None and first.source is not None and resource.source is not None:
                name = resource.source.at("metadata", "name")
                problems.append(
                    ManifestProblem(
                        resource.source.file,
                        name.line,
                        name.col,
                        resource.ref,
                        "metadata.name",
                        f"duplicate {resource.ref}; first defined at {first.source.file}:{first.source.line}",
                    )
                )
                continue
            seen[resource.name] = resource

    def hidden(kind: str, name: str) -> bool:
        return unparsed_files or bool({(kind, name), ("*", name), (kind, "*"), ("*", "*")} & failed)

    def report(res: Resource, path: tuple[str | int, ...], message: str, target: tuple[str, str]) -> None:
        assert res.source is not None
        if hidden(*target):
            return
        pos = res.source.at(*path)
        problems.append(ManifestProblem(res.source.file, pos.line, pos.col, res.ref, _field(path), message))

    check_references(resources, kinds, report)
    if not files and not scan_problems:
        problems.append(ManifestProblem(str(base), 0, 0, None, None, "no *.yaml or *.yml manifest found"))
    elif len(settings) > 1:
        first = settings[0]
        for extra in settings[1:]:
            assert extra.source is not None and first.source is not None
            problems.append(
                ManifestProblem(
                    extra.source.file,
                    extra.source.line,
                    1,
                    extra.ref,
                    None,
                    f"more than one Settings manifest; the first is at {first.source.file}:{first.source.line}",
                )
            )
    elif settings_documents == 0 and not unparsed_files and not any(kind == "*" for kind, _ in failed):
        # A file that could not be parsed, or a document whose kind is missing or unknown, may be the
        # Settings: its own problem is the one to fix.
        problems.append(
            ManifestProblem(str(base), 0, 0, None, None, "no Settings manifest found; exactly one is required")
        )
    if problems:
        raise ManifestError([_one_line(p) for p in problems])
    # The resources are built: their documents keep positions (for findings), not the raw data.
    for resource in (settings[0], *(r for by_name in resources.values() for r in by_name.values())):
        if resource.source is not None:
            resource.source.document.data = None
    return DesiredState(
        settings=settings[0], resources=resources, root=str(root), fingerprint="sha256:" + fingerprint.hexdigest()
    )


def _one_line(problem: ManifestProblem) -> ManifestProblem:
    """``problem`` with control characters escaped everywhere, so that it prints as exactly one line."""
    return ManifestProblem(
        printable(problem.file),
        problem.line,
        problem.col,
        None if problem.resource is None else printable(problem.resource),
        None if problem.field is None else printable(problem.field),
        printable(problem.message),
    )


def _display(rel: Path, base: Path) -> str:
    return str(base / rel) if str(base) not in ("", ".") else str(rel)


# Never follow a symbolic link when opening (scan_directory resolves the links it accepts), never
# block on a FIFO swapped in for a file.
_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)


def read_text(
    path: Path,
    display: str,
    *,
    identity: tuple[int, int] | None = None,
) -> tuple[str | None, list[ManifestProblem]]:
    """Read a manifest file as UTF-8 text, refusing binary, oversized and mis-encoded files.

    ``path`` is opened without following a symbolic link; given ``identity`` (``st_dev``, ``st_ino``
    from :func:`scan_directory`), the file opened must be the one the scan found.
    """

    def refused(message: str) -> tuple[None, list[ManifestProblem]]:
        return None, [ManifestProblem(display, 1, 1, None, None, message)]

    try:
        fd = os.open(path, _OPEN_FLAGS)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return refused("cannot read file: it is a symbolic link here (not followed)")
        return refused(f"cannot read file: {exc.strerror}")
    try:
        with open(fd, "rb") as stream:  # closes fd
            found = os.fstat(fd)
            if identity is not None and (found.st_dev, found.st_ino) != identity:
                return refused("file changed while the directory was read; not read")
            if not stat.S_ISREG(found.st_mode):
                return refused("not a regular file")
            if found.st_size > MAX_FILE_BYTES:
                return refused(f"file is {found.st_size} bytes; the limit is {MAX_FILE_BYTES}")
            raw = stream.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        return refused(f"cannot read file: {exc.strerror}")
    if len(raw) > MAX_FILE_BYTES:  # it grew since fstat
        return refused(f"file is over {MAX_FILE_BYTES} bytes; the limit is {MAX_FILE_BYTES}")
    nul = raw.find(b"\x00")
    if nul >= 0:
        line = raw.count(b"\n", 0, nul) + 1
        return None, [ManifestProblem(display, line, 1, None, None, "binary file (NUL byte), not YAML")]
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        col = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        return None, [ManifestProblem(display, line, col, None, None, f"not valid UTF-8 (byte 0x{raw[exc.start]:02x})")]
    return text, []
