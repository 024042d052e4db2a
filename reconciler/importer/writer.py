"""The files of an import: ``settings.yaml`` and one file per resource in a folder per kind.

Nothing is written when a file would overwrite an existing one, unless ``force`` says so, nor when
``--out``, a folder in it or a file to write is a symbolic link (even with ``force``): the checks cover
every file before the first one is written. The writing itself never follows a symbolic link either
(one created meanwhile is refused): folders are opened with ``O_NOFOLLOW`` and files are created with
``O_EXCL``, or, with ``force``, written to a new hidden file renamed over the old one.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path, PurePosixPath

from reconciler.errors import ReconcilerError
from reconciler.importer.convert import Manifest
from reconciler.importer.yamlout import dump_documents
from reconciler.kinds import REGISTRY

__all__ = ["FOLDERS", "ImportRefused", "layout", "write_files"]

#: The folder of each kind (``Kind.folder``), as in the shipped example (desired-state/).
FOLDERS: Mapping[str, str] = {kind.name: kind.folder for kind in REGISTRY.values()}

SETTINGS_FILE = "settings.yaml"


class ImportRefused(ReconcilerError):
    """The import would overwrite files (without --force), or cannot write where it was asked to."""


def _file_name(name: str, taken: set[str]) -> str:
    # The loader skips hidden files: a name starting with "." (IAM allows it) gets a visible file name.
    base = f"_{name}" if name.startswith(".") else name
    candidate, n = base, 2
    while candidate.lower() in taken:  # case-insensitive file systems
        candidate, n = f"{base}~{n}", n + 1
    taken.add(candidate.lower())
    return f"{candidate}.yaml"


def layout(settings: Manifest, manifests: Sequence[Manifest], header: Sequence[str]) -> dict[str, str]:
    """Relative path -> file text, in a deterministic order."""
    files = {SETTINGS_FILE: dump_documents([settings.data], header)}
    taken: dict[str, set[str]] = {}
    for manifest in manifests:
        folder = FOLDERS[manifest.kind]
        files[f"{folder}/{_file_name(manifest.name, taken.setdefault(folder, set()))}"] = dump_documents(
            [manifest.data]
        )
    return files


_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_NEW_FILE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
_NO_LINKS = (
    "reconciler import never writes through a symbolic link, even with --force. Nothing was written; "
    "choose another --out, or replace the link by a real folder or file"
)


def _listed(display: str, rels: Sequence[str]) -> str:
    shown = ", ".join(f"{display.rstrip('/')}/{rel}" for rel in rels[:5])
    return shown + (f" and {len(rels) - 5} more" if len(rels) > 5 else "")


def _kind(path: Path) -> str:
    """``missing``, ``link``, ``dir``, ``file`` (regular) or ``other``, without following a link."""
    try:
        mode = path.lstat().st_mode
    except FileNotFoundError:
        return "missing"
    if stat.S_ISLNK(mode):
        return "link"
    return "dir" if stat.S_ISDIR(mode) else "file" if stat.S_ISREG(mode) else "other"


def _blocking(kind: str, last: bool) -> str | None:
    """Why a path of kind ``kind`` cannot be written (``last``: the file) or written into (a folder)."""
    if last:
        return {"dir": "is a directory", "other": "is not a regular file"}.get(kind)
    return "is not a directory" if kind in ("file", "other") else None


def _check(out: Path, files: Mapping[str, str], *, force: bool, display: str) -> None:
    """Refuse (raise ImportRefused) before anything is written; see the module's docstring."""
    out_kind = _kind(out)
    if out_kind == "link":
        raise ImportRefused(f"{display} is a symbolic link; {_NO_LINKS}")
    if out_kind not in ("missing", "dir"):
        raise ImportRefused(f"{display} exists and is not a directory")
    links: list[str] = []
    blocked: list[str] = []
    existing: list[str] = []
    kinds: dict[str, str] = {}  # of every path checked, relative to out
    for rel in files:
        parts = PurePosixPath(rel).parts
        if not parts or PurePosixPath(rel).is_absolute() or any(p in (".", "..") for p in parts):
            raise ValueError(f"not a plain relative path: {rel!r}")
        for depth in range(1, len(parts) + 1):  # each folder on the way down, then the file
            sub = "/".join(parts[:depth])
            kind = kinds.get(sub)
            if kind is None:
                kind = kinds[sub] = "missing" if out_kind == "missing" else _kind(out / sub)
                why = _blocking(kind, depth == len(parts))
                if kind == "link":
                    links.append(sub)
                elif why:
                    blocked.append(f"{display.rstrip('/')}/{sub} {why}")
                elif kind == "file":
                    existing.append(rel)
            if kind != "dir":
                break
    if links:
        raise ImportRefused(
            f"{len(links)} path(s) under --out are symbolic links ({_listed(display, links)}); {_NO_LINKS}"
        )
    if blocked:
        raise ImportRefused(f"{'; '.join(blocked[:5])}; nothing was written")
    if existing and not force:
        raise ImportRefused(
            f"{len(existing)} file(s) already exist ({_listed(display, existing)}); nothing was written. "
            "Use --force to overwrite them, or choose another --out"
        )


def _open_dir(name: str | Path, shown: str, dir_fd: int | None = None) -> int:
    """Create (if need be) and open the folder ``name``, refusing a symbolic link put there meanwhile."""
    with suppress(FileExistsError):
        os.mkdir(name, dir_fd=dir_fd)
    try:
        return os.open(name, _DIR_FLAGS, dir_fd=dir_fd)
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.ENOTDIR):
            raise ImportRefused(
                f"{shown} became a symbolic link or a file while the import was writing; it was not followed"
            ) from exc
        raise


@contextmanager
def _folders(out: Path, display: str) -> Iterator[dict[str, int]]:
    """Open descriptors of ``out`` (key "") and of the folders opened in it (``_folder``), closed at the end."""
    out.parent.mkdir(parents=True, exist_ok=True)  # above --out: the user's own path, links allowed
    fds = {"": _open_dir(out, display)}
    try:
        yield fds
    finally:
        for fd in fds.values():
            os.close(fd)


def _folder(fds: dict[str, int], folder: str, display: str) -> int:
    """The descriptor of ``folder`` (relative to --out), created if need be, never through a link."""
    if folder not in fds:
        parent, _, name = folder.rpartition("/")
        fds[folder] = _open_dir(name, f"{display.rstrip('/')}/{folder}", _folder(fds, parent, display))
    return fds[folder]


def _write(dir_fd: int, name: str, text: str, *, replace: bool) -> None:
    """Write ``name`` in ``dir_fd``: a new file, or (``replace``) a new hidden file renamed over it."""
    target = name
    if replace:
        for n in range(100):
            name = f".{target}.import-{os.getpid()}-{n}"
            try:
                fd = os.open(name, _NEW_FILE_FLAGS, 0o666, dir_fd=dir_fd)
                break
            except FileExistsError:
                continue
        else:
            raise ImportRefused(f"cannot create a temporary file for {target}")
    else:
        fd = os.open(name, _NEW_FILE_FLAGS, 0o666, dir_fd=dir_fd)
    try:
        with open(fd, "w", encoding="utf-8", newline="\n") as stream:
            stream.write(text)
        if replace:  # rename replaces a directory entry: it never writes through a link
            os.rename(name, target, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
    except BaseException:
        if replace:
            os.unlink(name, dir_fd=dir_fd)
        raise


def write_files(out: Path, files: Mapping[str, str], *, force: bool, display: str) -> None:
    """Write ``files`` under ``out``; refuse (writing nothing) to overwrite a file without ``force``, or to
    write through a symbolic link."""
    _check(out, files, force=force, display=display)
    written = 0
    with _folders(out, display) as fds:
        for rel, text in files.items():
            folder, _, name = rel.rpartition("/")
            try:
                _write(_folder(fds, folder, display), name, text, replace=force)
            except FileExistsError as exc:  # created meanwhile (a file, or a link): not overwritten
                raise ImportRefused(
                    f"{display.rstrip('/')}/{rel} appeared while the import was writing; it was "
                    f"not overwritten ({written} file(s) were written before it)"
                ) from exc
            written += 1
