"""Fetch the manifests from git with the git command line; each run reads its own private copy.

Layout under the cache directory (``--cache-dir``, shared by every process given the same one)::

    .reconciler-git/repos/<key>.git    a bare repository per source URL (key: hash of the URL
                                       without its credentials), full history for ancestry checks
    .reconciler-git/repos/<key>.lock   taken (flock, exclusive) around a fetch into that repository
    .reconciler-git/work/<private>/    the files of one commit, for one GitSource call only

A fetch updates one ref per branch in the shared bare repository under the lock and resolves it to a
commit id; the files of exactly that commit are then written from git's object database (``ls-tree``
and ``cat-file``: raw blobs, no attributes, filters or hooks) into a fresh private directory that no
other process or call ever writes to, and which is removed when done with. Two processes sharing a
cache directory, on the same branch or not, thus never see each other's files. A directory left by a
killed process is removed by a later one (its owner's flock is gone).

Symbolic links are written as links, after every file, so that no file is ever written through one;
a link that leads out of the manifest directory makes the commit invalid (it is never followed).

Every git operation is a subprocess with a timeout. The URL, with its credentials, is given to git
through the environment (never the command line or a config file), and credentials never reach an
error message or a log line (``redact_url``).

Here: the cache layout, fetching and resolving a branch, ancestry. Running git is in ``gitrun``, the
private directories in ``gitworkspace``, writing a commit's files in ``gittree``.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import posixpath
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from reconciler.controller.gitrun import Git, GitError, InvalidSource
from reconciler.controller.gittree import check_links, write_files
from reconciler.controller.gitworkspace import Workspace
from reconciler.logs import redact_urls, split_userinfo, url_secrets

__all__ = ["LAYOUT", "Changed", "Checkout", "GitError", "GitSource", "InvalidSource", "redact_url"]

LAYOUT = ".reconciler-git"
_USERINFO_SAFE = "!$&'()*+,;=:%"  # RFC 3986 sub-delims, ':' and existing %XX escapes
_SHA = re.compile(r"[0-9a-fA-F]{4,64}")
LINK_MODE = "120000"


def redact_url(url: str) -> str:
    """``https://user:token@host/x`` -> ``https://***@host/x``; secret query parameters too."""
    return redact_urls(url)


def _canonical_url(url: str) -> str:
    """Percent-encode what a http(s) userinfo may not hold, so that git reads the host we read.

    ``https://u:p@ss/w@rd@host/x`` means password ``p@ss/w@rd`` at ``host``; git would connect to
    ``ss`` (and print the password's tail). Well-formed URLs are unchanged.
    """
    scheme, sep, rest = url.partition("://")
    if not sep or scheme.lower() not in ("http", "https"):
        return url
    userinfo, after = split_userinfo(rest)
    if userinfo is None:
        return url
    return f"{scheme}://{quote(userinfo, safe=_USERINFO_SAFE)}@{after}"


@dataclass(frozen=True)
class Changed:
    """A file of the manifest directory that differs between two commits (paths relative to the directory; a
    rename or copy has both, an addition no ``old``, a deletion no ``new``)."""

    status: str  # git's letter: A, M, D, R, C, T
    old: str | None
    new: str | None
    link: bool = False  # a symbolic link before or after


@dataclass(frozen=True)
class Checkout:
    sha: str
    root: Path  # the manifest directory of exactly this commit, private to one GitSource


class GitSource:
    def __init__(
        self, source: str, *, branch: str = "main", path: str = "desired-state", cache_dir: Path, timeout: float = 120.0
    ) -> None:
        self.source = source if "://" in source or source.startswith("git@") else str(Path(source).resolve())
        self.branch = branch
        self.path = path
        self.cache = cache_dir
        self.timeout = timeout
        url = _canonical_url(self.source)
        self._display = redact_url(self.source)
        key = hashlib.sha256(redact_url(url).encode()).hexdigest()[:32]
        base = cache_dir / LAYOUT
        self._repo = base / "repos" / f"{key}.git"
        self._lock = base / "repos" / f"{key}.lock"
        self._work = base / "work"
        self._ref = f"refs/reconciler/{hashlib.sha256(branch.encode()).hexdigest()[:32]}"
        self._git = Git(
            self._repo,
            url,
            display=self._display,
            branch=branch,
            timeout=timeout,
            secrets=sorted({*url_secrets(self.source), *url_secrets(url)}),
        )
        self._current: Workspace | None = None

    # -- public API ------------------------------------------------------------------------------

    def fetch(self) -> Checkout:
        """Fetch the branch; return its newest commit and that commit's manifest directory.

        The directory is private to this object and valid until the next ``fetch`` or ``close``.
        """
        self.close()
        sha = self.resolve()
        workspace, root = self._materialise(sha)
        self._current = workspace
        return Checkout(sha, root)

    def resolve(self) -> str:
        """Fetch the branch and return the id of its newest commit, without writing any file of it."""
        self._check_branch()
        try:
            self._repo.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise GitError(f"cannot use the cache directory {self.cache}: {exc.strerror}") from exc
        with self._exclusive():
            if not (self._repo / "HEAD").is_file():
                self._git.run(["git", "-c", "init.defaultBranch=main", "init", "--bare", "--quiet", str(self._repo)])
            self._remove_stale_git_locks()
            self._git(
                "-c",
                "gc.autoDetach=false",
                "-c",
                "maintenance.autoDetach=false",
                "fetch",
                "--quiet",
                "--no-tags",
                "--no-write-fetch-head",
                "--no-recurse-submodules",
                "origin",
                f"+refs/heads/{self.branch}:{self._ref}",
                remote=True,
            )
            return self._git("rev-parse", "--verify", f"{self._ref}^{{commit}}").stdout.decode().strip()

    @contextlib.contextmanager
    def files(self, sha: str, only: list[str] | None = None) -> Iterator[Path]:
        """The manifest directory of any commit the cache holds, in a private directory removed on exit; with
        ``only`` (paths relative to the directory), only those of its files.

        When the commit has no such directory, the path given does not exist.
        """
        workspace, root = self._materialise(sha, only)
        try:
            yield root
        finally:
            workspace.remove()

    def is_ancestor(self, older: str, newer: str) -> bool:
        """Whether ``older`` is ``newer`` or one of its ancestors (False when ``older`` is unknown)."""
        if older == newer:
            return True
        if not (_SHA.fullmatch(older) and _SHA.fullmatch(newer)):
            return False
        known = self._git("cat-file", "-e", f"{older}^{{commit}}", check=False).returncode == 0
        if not known:
            return False
        return self._git("merge-base", "--is-ancestor", older, newer, check=False).returncode == 0

    def changed(self, older: str, newer: str) -> list[Changed]:
        """The files of the manifest directory that differ from commit ``older`` to ``newer`` (``git diff --raw``,
        renames found), whatever their names: the caller tells manifests from other files."""
        if not (_SHA.fullmatch(older) and _SHA.fullmatch(newer)):
            raise GitError(f"not a commit id: {older!r} or {newer!r}")
        rel = self._relpath()
        out = self._git(
            "diff", "--raw", "-z", "-M", "--no-abbrev", "--no-ext-diff", "--no-textconv", older, newer, "--", rel or "."
        ).stdout.decode("utf-8", "surrogateescape")
        fields = out.split("\0")
        changed: list[Changed] = []
        i = 0
        while i < len(fields) and fields[i].startswith(":"):
            old_mode, new_mode, _, _, status = fields[i][1:].split(" ")
            old: str | None
            new: str | None
            if status[0] in "RC":
                old, new, i = fields[i + 1], fields[i + 2], i + 3
            else:
                path, i = fields[i + 1], i + 2
                old, new = (None, path) if status == "A" else (path, None) if status == "D" else (path, path)
            link = LINK_MODE in (old_mode, new_mode)
            changed.append(Changed(status[0], self._inside(old, rel), self._inside(new, rel), link))
        return changed

    @staticmethod
    def _inside(path: str | None, rel: str) -> str | None:
        """``path`` (from the repository's root) relative to the manifest directory ``rel``; None when outside."""
        if path is None:
            return None
        if not rel:
            return path
        return path[len(rel) + 1 :] if path.startswith(rel + "/") else None

    def tree(self, sha: str) -> str:
        """The id of the manifest directory's tree at commit ``sha`` (what identifies its content)."""
        if not _SHA.fullmatch(sha):
            raise GitError(f"not a commit id: {sha!r}")
        rel = self._relpath()
        return self._git("rev-parse", "--verify", f"{sha}^{{commit}}:{rel}").stdout.decode().strip()

    def parents(self, sha: str, count: int) -> list[str]:
        """Up to ``count`` commits before ``sha`` on its first-parent line, newest first."""
        if not _SHA.fullmatch(sha):
            return []
        found = self._git("rev-list", "--first-parent", f"--max-count={count + 1}", sha, check=False)
        if found.returncode != 0:
            return []
        return found.stdout.decode().split()[1:]

    def close(self) -> None:
        """Remove the files of the last fetch."""
        if self._current is not None:
            self._current.remove()
            self._current = None

    def __enter__(self) -> GitSource:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # -- the repository --------------------------------------------------------------------------

    @contextlib.contextmanager
    def _exclusive(self) -> Iterator[None]:
        """The repository's lock file, flocked: one fetch at a time (git's ref locks fail the others)."""
        fd = os.open(self._lock, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            deadline, pause = time.monotonic() + self.timeout, 0.01
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        raise GitError(
                            f"another process held the git cache lock {self._lock} for {self.timeout:.0f}s"
                        ) from None
                    time.sleep(pause)
                    pause = min(pause * 2, 0.2)
            yield
        finally:
            os.close(fd)  # releases the flock

    def _remove_stale_git_locks(self) -> None:
        """Under our lock no git process writes to the repository: a ``*.lock`` is a killed fetch's."""
        for stale in [*self._repo.glob("*.lock"), *(self._repo / "refs").rglob("*.lock")]:
            with contextlib.suppress(OSError):
                stale.unlink()

    def _check_branch(self) -> None:
        branch = self.branch
        if (
            not branch
            or branch.startswith(("-", "/"))
            or branch.endswith(("/", ".", ".lock"))
            or re.search(r"[\x00-\x20\x7f~^:?*\[\\]|\.\.|@\{|//|/\.", branch)
            or branch == "@"
        ):
            raise InvalidSource(f"not a valid branch name: {branch!r}")

    def _relpath(self) -> str:
        """The manifest directory, relative to the repository root ('' for the root itself)."""
        path = self.path.replace(os.sep, "/")
        rel = posixpath.normpath(path).strip("/") if path else "."
        if posixpath.isabs(path) or rel == ".." or rel.startswith("../") or "\n" in rel or "\x00" in rel:
            raise InvalidSource(f"the manifest path {self.path!r} is not inside the repository")
        return "" if rel == "." else rel

    # -- writing a commit's files ----------------------------------------------------------------

    def _materialise(self, sha: str, only: list[str] | None = None) -> tuple[Workspace, Path]:
        rel = self._relpath()
        if not _SHA.fullmatch(sha):
            raise GitError(f"not a commit id: {sha!r}")
        probe = f"{sha}^{{commit}}\n{sha}^{{commit}}:{rel}\n" if rel else f"{sha}^{{commit}}\n{sha}^{{tree}}\n"
        answer = [
            line.split(" ")
            for line in self._git("cat-file", "--batch-check", stdin=probe.encode()).stdout.decode().splitlines()
        ]
        if len(answer) != 2 or answer[0][1:2] != ["commit"]:
            raise GitError(f"commit {sha[:12]} is not in the git cache of {self._display}")
        try:
            workspace = Workspace(self._work)
        except OSError as exc:
            raise GitError(f"cannot create a private directory under {self._work}: {exc}") from exc
        try:
            root = workspace.tree / rel if rel else workspace.tree
            if answer[1][1:2] == ["tree"]:  # else: no such directory in this commit (root does not exist)
                paths = [rel] if rel else []
                if only is not None:
                    paths = [posixpath.join(rel, path) if rel else path for path in only]
                if paths or only is None:
                    check_links(write_files(self._git, sha, paths, workspace.tree), root, self.path)
                root.mkdir(parents=True, exist_ok=True)
            return workspace, root
        except OSError as exc:
            workspace.remove()
            raise GitError(f"cannot write the files of commit {sha[:12]}: {exc}") from exc
        except BaseException:
            workspace.remove()
            raise
