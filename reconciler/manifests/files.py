"""The manifest files of a directory: listed (:func:`scan_directory`), read (:func:`read_text`) and parsed
(:func:`read_file`, :func:`read_directory`).

A directory is listed without following a symbolic link out of it, and its files are counted and sized before any
is read (at most :data:`MAX_DIRECTORY_FILES` files and :data:`MAX_DIRECTORY_BYTES` bytes); a file is opened without
following a symbolic link, must be the one the listing found, and is refused when binary, over
:data:`MAX_FILE_BYTES` or not UTF-8.
"""

from __future__ import annotations

import errno
import hashlib
import os
import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from reconciler.errors import ManifestProblem
from reconciler.manifests.yamlsource import EMPTY_FILE, Document, parse_documents

__all__ = [
    "MAX_DIRECTORY_BYTES",
    "MAX_DIRECTORY_FILES",
    "MAX_FILE_BYTES",
    "DirectoryRead",
    "FileRead",
    "ManifestFile",
    "display",
    "read_directory",
    "read_file",
    "read_text",
    "scan_directory",
]

MAX_FILE_BYTES = 4 * 1024 * 1024
MAX_DIRECTORY_BYTES = 64 * 1024 * 1024  # the manifest files of a directory, in all
MAX_DIRECTORY_FILES = 20_000


@dataclass(frozen=True, slots=True)
class ManifestFile:
    """A manifest file :func:`scan_directory` found."""

    rel: Path  # under the directory, as it appears there (through the links followed)
    path: Path  # what to open: the file, or the real path inside the directory that a link leads to
    size: int
    identity: tuple[int, int]  # st_dev, st_ino: reading checks that it is still this file


_MANIFEST_SUFFIXES = (".yaml", ".yml")


def _inside(real: str, real_root: str) -> bool:
    return os.path.commonpath([real, real_root]) == real_root


def _follow(entry: os.DirEntry[str], rel: Path, real_root: str) -> tuple[str, os.stat_result] | str | None:
    """Where a symbolic link leads, if it may be read: (real path, its stat); else a problem, or None to skip."""
    real = os.path.realpath(entry.path)  # reads links only, never what they point to
    if not _inside(real, real_root):
        return "symbolic link pointing outside the manifest directory; not followed"
    try:
        found = os.stat(real)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return "symbolic link loop; not followed"
        if rel.suffix in _MANIFEST_SUFFIXES and exc.errno in (errno.ENOENT, errno.ENOTDIR):
            return "broken symbolic link (what it points to does not exist)"
        return None if exc.errno in (errno.ENOENT, errno.ENOTDIR) else f"cannot read: {exc.strerror}"
    if stat.S_ISDIR(found.st_mode):
        return "symbolic link to a directory; not followed (only links to manifest files are)"
    return real, found


def scan_directory(root: Path, display: Callable[[Path], str]) -> tuple[list[ManifestFile], list[ManifestProblem]]:
    """Every ``*.yaml`` / ``*.yml`` file under ``root``, recursively, in a stable order; and the problems.

    Hidden files and directories (``.git``, ``.github``, editor swap files) are skipped. A symbolic link
    to a manifest file inside ``root`` is read as that file; any other symbolic link is a problem: one
    that leads outside ``root`` (what it points to is never opened nor named: ``display`` shows paths
    under ``root``), to a directory, in a loop, or to nothing. The files are counted and their sizes
    added up before any is read: over MAX_DIRECTORY_FILES or MAX_DIRECTORY_BYTES, that is the problem,
    and no file is returned.
    """
    real_root = os.path.realpath(root)
    files: list[ManifestFile] = []
    problems: list[ManifestProblem] = []

    def problem(rel: Path, message: str) -> None:
        problems.append(ManifestProblem(display(rel), 0, 0, None, None, message))

    top = os.stat(real_root)
    seen = {(top.st_dev, top.st_ino)}  # directories listed (a bind mount could show one twice)
    stack: list[tuple[Path, str]] = [(Path(), real_root)]  # (path under root, real path) to list
    total = 0
    while stack and len(files) <= MAX_DIRECTORY_FILES:
        rel_dir, real_dir = stack.pop()
        try:
            with os.scandir(real_dir) as listing:
                entries = sorted((e for e in listing if not e.name.startswith(".")), key=lambda e: e.name)
        except OSError as exc:
            problem(rel_dir, f"cannot read directory: {exc.strerror}")
            continue
        for entry in reversed(entries):  # the stack pops directories in name order
            rel = rel_dir / entry.name
            try:
                if entry.is_symlink():
                    followed = _follow(entry, rel, real_root)
                    if isinstance(followed, str):
                        problem(rel, followed)
                        continue
                    if followed is None or rel.suffix not in _MANIFEST_SUFFIXES:
                        continue
                    real, found = followed
                elif entry.is_dir(follow_symlinks=False) or (
                    entry.is_file(follow_symlinks=False) and rel.suffix in _MANIFEST_SUFFIXES
                ):
                    real, found = entry.path, entry.stat(follow_symlinks=False)
                else:
                    continue
            except OSError as exc:
                problem(rel, f"cannot read: {exc.strerror}")
                continue
            identity = (found.st_dev, found.st_ino)
            if stat.S_ISDIR(found.st_mode):
                if identity in seen:
                    problem(rel, "directory already read under another path (a bind mount?); not read again")
                else:
                    seen.add(identity)
                    stack.append((rel, real))
            elif stat.S_ISREG(found.st_mode):
                files.append(ManifestFile(rel, Path(real), found.st_size, identity))
                total += found.st_size
                if len(files) > MAX_DIRECTORY_FILES:
                    break
    if len(files) > MAX_DIRECTORY_FILES:
        problem(
            Path(),
            f"more than {MAX_DIRECTORY_FILES} manifest files; the limit for a directory is {MAX_DIRECTORY_FILES}",
        )
    elif total > MAX_DIRECTORY_BYTES:
        problem(
            Path(),
            f"the manifest files total {total} bytes; the limit for a directory is "
            f"{MAX_DIRECTORY_BYTES} bytes ({MAX_DIRECTORY_BYTES // 1024 // 1024} MiB)",
        )
    else:
        return sorted(files, key=lambda f: f.rel), problems
    return [], problems


def display(rel: Path, base: Path) -> str:
    """How the file ``rel`` under the directory is named in problems: under ``base``, the directory as named."""
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


@dataclass(frozen=True, slots=True)
class FileRead:
    """One manifest file read and parsed: its text (None when it could not be read), its documents, its problems."""

    text: str | None
    documents: list[Document]
    problems: list[ManifestProblem]

    @property
    def unparsed(self) -> bool:
        """Whether some of the file may hold manifests that were not read (it could not be read, or its YAML is
        broken; an empty file is not): a name it would declare cannot be said to be missing."""
        return self.text is None or any(p.message != EMPTY_FILE for p in self.problems)


def read_file(path: Path, shown: str, *, identity: tuple[int, int] | None = None) -> FileRead:
    """:func:`read_text`, then its documents (``shown``: the file's name in problems)."""
    text, problems = read_text(path, shown, identity=identity)
    if text is None:
        return FileRead(None, [], problems)
    documents, parse_problems = parse_documents(text, shown)
    return FileRead(text, documents, problems + parse_problems)


@dataclass(frozen=True, slots=True)
class DirectoryRead:
    """Every manifest file of a directory read and parsed."""

    files: int  # found, readable or not
    documents: list[Document]
    problems: list[ManifestProblem]
    unparsed_files: bool  # some file may hold manifests that were not read
    fingerprint: str  # of exactly what was read (each file's path and text): a saved plan records it


def read_directory(root: Path, base: Path) -> DirectoryRead:
    """Every document of every manifest file under ``root``, and the problems of reading and parsing them;
    ``base``: the directory as problems name it."""
    # Links out of the directory, and its size, are checked before any file is read. A refused link
    # may be the Settings or a referenced manifest: it hides names like a file that cannot be read.
    files, problems = scan_directory(root, lambda rel: display(rel, base))
    found = len(files) + len(problems)  # a file that could not be listed is a problem of the scan
    unparsed_files = bool(problems)
    fingerprint = hashlib.sha256()
    documents: list[Document] = []
    for file in files:
        read = read_file(file.path, display(file.rel, base), identity=file.identity)
        problems.extend(read.problems)
        unparsed_files = unparsed_files or read.unparsed
        if read.text is not None:
            encoded = read.text.encode("utf-8", "surrogatepass")
            fingerprint.update(f"{file.rel.as_posix()}\0{len(encoded)}\0".encode("utf-8", "surrogatepass") + encoded)
        documents.extend(read.documents)
    return DirectoryRead(found, documents, problems, unparsed_files, "sha256:" + fingerprint.hexdigest())
