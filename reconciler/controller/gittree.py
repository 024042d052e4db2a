"""Writing the files of one commit, from git's object database, into a private directory.

``ls-tree`` lists the commit's entries and ``cat-file --batch`` streams their raw blobs: no attributes,
filters or hooks run, and nothing is checked out. Unsafe paths are refused, directories are made without
ever going through a symbolic link, and links are written last, after every file, so that no file is
ever written through one; a link that leads out of the manifest directory makes the commit invalid
(it is never followed).
"""

from __future__ import annotations

import os
import posixpath
from pathlib import Path
from typing import IO

from reconciler.controller.gitrun import Git, GitError
from reconciler.errors import ManifestError, ManifestProblem

__all__ = ["check_links", "write_files"]

_LINK_TARGET_MAX = 4096  # bytes: a longer link target than a path can be is left out


def write_files(git: Git, sha: str, repo_paths: list[str], tree: Path) -> list[Path]:
    """Write the files of ``sha`` at ``repo_paths`` (trees or entries; none: every file) under ``tree``; return
    the links."""
    listing = git("ls-tree", "-r", "-z", "--full-tree", sha, "--", *repo_paths)
    files: list[tuple[Path, bytes, bool]] = []
    for entry in listing.stdout.split(b"\0"):
        if not entry:
            continue
        meta, _, name = entry.partition(b"\t")
        mode, kind, obj = meta.split(b" ")
        parts = name.split(b"/")
        if any(p in (b"", b".", b"..") for p in parts):
            raise GitError(f"commit {sha[:12]} has an unsafe path: {name.decode(errors='replace')!r}")
        path = tree.joinpath(*(os.fsdecode(p) for p in parts))
        if kind == b"blob":
            files.append((path, obj, mode == b"120000"))
        elif kind == b"commit":  # a submodule: an empty directory, as a checkout leaves it
            _make_dirs(path, tree)
    links: list[tuple[Path, bytes]] = []
    if not files:
        return []
    made: set[Path] = set()
    for path, _obj, _is_link in files:
        if path.parent not in made:
            _make_dirs(path.parent, tree)
            made.add(path.parent)
    with git.blobs([obj for _, obj, _ in files]) as stream:
        for path, obj, is_link in files:
            size = _next_blob(stream, obj)
            if is_link:
                links.append((path, stream.read(size) if size <= _LINK_TARGET_MAX else _skip(stream, size)))
            else:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
                with os.fdopen(fd, "wb") as out:
                    _copy(stream, out, size)
            if stream.read(1) != b"\n":
                raise GitError(f"git cat-file answered out of step for commit {sha[:12]}")
    made_links = []
    for path, target in links:  # links last: no file is written through one
        if target and b"\0" not in target:
            os.symlink(os.fsdecode(target), path)
            made_links.append(path)
    return made_links


def check_links(links: list[Path], root: Path, manifest_path: str) -> None:
    """Refuse a commit whose manifest directory (``root``, shown as ``manifest_path``) holds a link
    leading out of it (hidden ones are never read)."""
    real_root = os.path.realpath(root)
    problems = []
    for link in links:
        rel = link.relative_to(root)
        if any(part.startswith(".") for part in rel.parts) or _within(os.path.realpath(link), real_root):
            continue
        problems.append(
            ManifestProblem(
                posixpath.join(manifest_path, rel.as_posix()),
                0,
                0,
                None,
                None,
                "symbolic link pointing outside the manifest directory",
            )
        )
    if problems:
        raise ManifestError(problems)


def _within(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def _skip(stream: IO[bytes], size: int) -> bytes:
    _copy(stream, None, size)
    return b""  # a link target longer than a path can be: left out


def _make_dirs(path: Path, tree: Path) -> None:
    """``mkdir -p`` inside ``tree`` that refuses to go through a symbolic link."""
    current = tree
    for part in path.relative_to(tree).parts:
        current = current / part
        try:
            current.mkdir()
        except FileExistsError:
            if current.is_symlink() or not current.is_dir():
                raise GitError(f"cannot write {current.relative_to(tree)}: a file or link is in the way") from None


def _next_blob(stream: IO[bytes], obj: bytes) -> int:
    header = stream.readline().split()
    if len(header) != 3 or header[0] != obj or header[1] != b"blob":
        raise GitError(
            f"git cat-file did not answer blob {obj.decode(errors='replace')} (killed at the timeout, "
            "or the object is missing)"
        )
    return int(header[2])


def _copy(stream: IO[bytes], out: IO[bytes] | None, size: int) -> None:
    left = size
    while left:
        chunk = stream.read(min(left, 1 << 20))
        if not chunk:
            raise GitError("git cat-file ended early")
        if out is not None:
            out.write(chunk)
        left -= len(chunk)
