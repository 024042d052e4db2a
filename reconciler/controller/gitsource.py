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
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import posixpath
import re
import shutil
import subprocess
import tempfile
import threading
import time
import weakref
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO
from urllib.parse import quote

from reconciler.errors import ManifestError, ManifestProblem, ReconcilerError
from reconciler.logs import REDACTED, redact_urls, split_userinfo, url_secrets

LAYOUT = ".reconciler-git"
STALE_AFTER = 600.0  # seconds: a private directory this old whose owner is gone is removed
_USERINFO_SAFE = "!$&'()*+,;=:%"  # RFC 3986 sub-delims, ':' and existing %XX escapes
_SHA = re.compile(r"[0-9a-fA-F]{4,64}")
# Environment that would point git at another repository than ours.
_LOCATION_VARS = (
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_INDEX_FILE",
    "GIT_OBJECT_DIRECTORY",
    "GIT_COMMON_DIR",
    "GIT_ALTERNATE_OBJECT_DIRECTORIES",
    "GIT_NAMESPACE",
    "GIT_PREFIX",
)


class GitError(ReconcilerError):
    """git failed (unreachable remote, unknown branch); retrying later may help."""

    retryable = True


class InvalidSource(GitError):
    """The branch or path given cannot be used (retrying will not help)."""

    retryable = False


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
class Checkout:
    sha: str
    root: Path  # the manifest directory of exactly this commit, private to one GitSource


def _remove_workspace(path: Path, fd: int) -> None:
    shutil.rmtree(path, ignore_errors=True)
    os.close(fd)  # after the removal: a sweeper sees the directory as owned until it is gone


def _sweep(parent: Path) -> None:
    """Remove private directories of processes that are gone (their flock was released)."""
    now = time.time()
    try:
        entries = list(os.scandir(parent))
    except OSError:
        return
    for entry in entries:
        try:
            if now - entry.stat(follow_symlinks=False).st_mtime < STALE_AFTER:
                continue
            fd = os.open(os.path.join(entry.path, ".owner"), os.O_RDONLY | os.O_CLOEXEC | os.O_NOFOLLOW)
        except FileNotFoundError:
            shutil.rmtree(entry.path, ignore_errors=True)  # killed between creating it and locking it
            continue
        except OSError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)  # its owner is alive
            continue
        shutil.rmtree(entry.path, ignore_errors=True)
        os.close(fd)


class _Workspace:
    """A fresh private directory (mode 0700) owned, through a held flock, by this process."""

    def __init__(self, parent: Path) -> None:
        parent.mkdir(parents=True, exist_ok=True)
        _sweep(parent)
        self.path = Path(tempfile.mkdtemp(prefix=f"{os.getpid()}-", dir=parent))
        fd = os.open(self.path / ".owner", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        self._finalizer = weakref.finalize(self, _remove_workspace, self.path, fd)
        self.tree = Path(os.path.realpath(self.path / "tree"))
        self.tree.mkdir()

    def remove(self) -> None:
        self._finalizer()


def _within(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


class GitSource:
    def __init__(
        self, source: str, *, branch: str = "main", path: str = "desired-state", cache_dir: Path, timeout: float = 120.0
    ) -> None:
        self.source = source if "://" in source or source.startswith("git@") else str(Path(source).resolve())
        self.branch = branch
        self.path = path
        self.cache = cache_dir
        self.timeout = timeout
        self._url = _canonical_url(self.source)
        self._display = redact_url(self.source)
        self._secrets = sorted({*url_secrets(self.source), *url_secrets(self._url)}, key=len, reverse=True)
        key = hashlib.sha256(redact_url(self._url).encode()).hexdigest()[:32]
        base = cache_dir / LAYOUT
        self._repo = base / "repos" / f"{key}.git"
        self._lock = base / "repos" / f"{key}.lock"
        self._work = base / "work"
        self._ref = f"refs/reconciler/{hashlib.sha256(branch.encode()).hexdigest()[:32]}"
        self._current: _Workspace | None = None

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
                self._run(["git", "-c", "init.defaultBranch=main", "init", "--bare", "--quiet", str(self._repo)])
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
    def files(self, sha: str) -> Iterator[Path]:
        """The manifest directory of any commit the cache holds, in a private directory removed on exit.

        When the commit has no such directory, the path given does not exist.
        """
        workspace, root = self._materialise(sha)
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

    def close(self) -> None:
        """Remove the files of the last fetch."""
        if self._current is not None:
            self._current.remove()
            self._current = None

    def __enter__(self) -> GitSource:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # -- git -------------------------------------------------------------------------------------

    def _redact(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, REDACTED)
        return redact_urls(text)

    def _env(self, *, remote: bool = False) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in _LOCATION_VARS}
        env.update(GIT_TERMINAL_PROMPT="0", GIT_ASKPASS="true", LC_ALL="C")
        if remote:  # the URL through the environment: not in argv (ps) nor in a config file
            try:
                count = int(env.get("GIT_CONFIG_COUNT", "0") or "0")
            except ValueError:
                count = 0
            env.update(
                {
                    f"GIT_CONFIG_KEY_{count}": "remote.origin.url",
                    f"GIT_CONFIG_VALUE_{count}": self._url,
                    "GIT_CONFIG_COUNT": str(count + 1),
                }
            )
        return env

    def _run(
        self, argv: list[str], *, check: bool = True, remote: bool = False, stdin: bytes | None = None
    ) -> subprocess.CompletedProcess[bytes]:
        name = next((a for a in argv[1:] if not a.startswith("-") and "=" not in a), "git")
        try:
            result = subprocess.run(
                argv, input=stdin, capture_output=True, timeout=self.timeout, env=self._env(remote=remote), check=False
            )
        except subprocess.TimeoutExpired as exc:
            raise GitError(f"git {name} timed out after {self.timeout:.0f}s for {self._display}") from exc
        except OSError as exc:
            raise GitError(f"cannot run git: {exc.strerror}") from exc
        if check and result.returncode != 0:
            lines = [line.strip() for line in result.stderr.decode(errors="replace").splitlines() if line.strip()]
            first = next((line for line in lines if line.startswith(("fatal:", "error:"))), None)
            detail = self._redact(first or (lines[-1] if lines else f"exit status {result.returncode}"))
            raise GitError(f"git {name} failed for {self._display} ({self.branch}): {detail}")
        return result

    def _git(
        self, *args: str, check: bool = True, remote: bool = False, stdin: bytes | None = None
    ) -> subprocess.CompletedProcess[bytes]:
        return self._run(
            ["git", f"--git-dir={self._repo}", "--literal-pathspecs", *args], check=check, remote=remote, stdin=stdin
        )

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

    def _materialise(self, sha: str) -> tuple[_Workspace, Path]:
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
            workspace = _Workspace(self._work)
        except OSError as exc:
            raise GitError(f"cannot create a private directory under {self._work}: {exc}") from exc
        try:
            root = workspace.tree / rel if rel else workspace.tree
            if answer[1][1:2] == ["tree"]:  # else: no such directory in this commit (root does not exist)
                self._check_links(self._write(sha, rel, workspace.tree), root)
            return workspace, root
        except OSError as exc:
            workspace.remove()
            raise GitError(f"cannot write the files of commit {sha[:12]}: {exc}") from exc
        except BaseException:
            workspace.remove()
            raise

    def _write(self, sha: str, repo_path: str, tree: Path) -> list[Path]:
        """Write the files of ``sha`` at ``repo_path`` (a tree or one entry) under ``tree``; return the links."""
        listing = self._git("ls-tree", "-r", "-z", "--full-tree", sha, "--", *([repo_path] if repo_path else []))
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
                self._make_dirs(path, tree)
        links: list[tuple[Path, bytes]] = []
        if not files:
            return []
        made: set[Path] = set()
        for path, _obj, _is_link in files:
            if path.parent not in made:
                self._make_dirs(path.parent, tree)
                made.add(path.parent)
        with self._blobs([obj for _, obj, _ in files]) as stream:
            for path, obj, is_link in files:
                size = self._next_blob(stream, obj)
                if is_link:
                    links.append((path, stream.read(size) if size <= 4096 else self._skip(stream, size)))
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

    @staticmethod
    def _skip(stream: IO[bytes], size: int) -> bytes:
        _copy(stream, None, size)
        return b""  # a link target longer than a path can be: left out

    @staticmethod
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

    @contextlib.contextmanager
    def _blobs(self, objects: list[bytes]) -> Iterator[IO[bytes]]:
        """``git cat-file --batch`` fed ``objects`` in order, killed after the timeout."""
        proc = subprocess.Popen(
            ["git", f"--git-dir={self._repo}", "cat-file", "--batch"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=self._env(),
        )
        assert proc.stdin is not None and proc.stdout is not None

        def feed(pipe: IO[bytes]) -> None:
            with contextlib.suppress(OSError):
                pipe.write(b"".join(obj + b"\n" for obj in objects))
                pipe.close()

        feeder = threading.Thread(target=feed, args=(proc.stdin,), daemon=True)
        timer = threading.Timer(self.timeout, proc.kill)
        feeder.start()
        timer.start()
        try:
            yield proc.stdout
        finally:
            timer.cancel()
            if proc.poll() is None:
                proc.kill()
            proc.wait()
            feeder.join()
            proc.stdout.close()

    @staticmethod
    def _next_blob(stream: IO[bytes], obj: bytes) -> int:
        header = stream.readline().split()
        if len(header) != 3 or header[0] != obj or header[1] != b"blob":
            raise GitError(
                f"git cat-file did not answer blob {obj.decode(errors='replace')} (killed at the timeout, "
                "or the object is missing)"
            )
        return int(header[2])

    def _check_links(self, links: list[Path], root: Path) -> None:
        """Refuse a commit whose manifest directory holds a link leading out of it (hidden ones are never read)."""
        real_root = os.path.realpath(root)
        problems = []
        for link in links:
            rel = link.relative_to(root)
            if any(part.startswith(".") for part in rel.parts) or _within(os.path.realpath(link), real_root):
                continue
            problems.append(
                ManifestProblem(
                    posixpath.join(self.path, rel.as_posix()),
                    0,
                    0,
                    None,
                    None,
                    "symbolic link pointing outside the manifest directory",
                )
            )
        if problems:
            raise ManifestError(problems)


def _copy(stream: IO[bytes], out: IO[bytes] | None, size: int) -> None:
    left = size
    while left:
        chunk = stream.read(min(left, 1 << 20))
        if not chunk:
            raise GitError("git cat-file ended early")
        if out is not None:
            out.write(chunk)
        left -= len(chunk)
