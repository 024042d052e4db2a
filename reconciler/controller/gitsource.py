"""Fetch the manifests from git with the git command line into a cache directory.

The cache holds a full-history clone (ancestry checks need it) and a detached checkout of the
fetched commit. Every operation is a plain ``git`` subprocess with a timeout; credentials in a URL
are never logged (``redact_url``).
"""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from reconciler.errors import ReconcilerError


class GitError(ReconcilerError):
    """git failed (unreachable remote, unknown branch); retrying later may help."""

    retryable = True


def redact_url(url: str) -> str:
    """``https://user:token@host/x`` -> ``https://***@host/x``."""
    return re.sub(r"://[^/@]+@", "://***@", url)


@dataclass(frozen=True)
class Checkout:
    sha: str
    root: Path  # the manifest directory inside the checkout


class GitSource:
    def __init__(self, source: str, *, branch: str = "main", path: str = "desired-state",
                 cache_dir: Path, timeout: float = 120.0) -> None:
        self.source = source if "://" in source or source.startswith("git@") else str(Path(source).resolve())
        self.branch = branch
        self.path = path
        self.cache = cache_dir
        self.timeout = timeout

    def _git(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        env = dict(os.environ, GIT_TERMINAL_PROMPT="0", GIT_ASKPASS="true", LC_ALL="C")
        try:
            result = subprocess.run(["git", "-C", str(self.cache), *args], capture_output=True, text=True,
                                    timeout=self.timeout, env=env, check=False)
        except subprocess.TimeoutExpired as exc:
            raise GitError(f"git {args[0]} timed out after {self.timeout:.0f}s") from exc
        if check and result.returncode != 0:
            detail = redact_url(result.stderr.strip().splitlines()[-1] if result.stderr.strip() else "")
            raise GitError(f"git {args[0]} failed for {redact_url(self.source)} ({self.branch}): {detail}")
        return result

    def fetch(self) -> Checkout:
        """Fetch the branch and check out its newest commit; return it."""
        self.cache.mkdir(parents=True, exist_ok=True)
        if not (self.cache / ".git").exists():
            self._git("init", "--quiet")
            self._git("remote", "add", "origin", self.source)
        else:
            self._git("remote", "set-url", "origin", self.source)
        self._git("fetch", "--quiet", "--prune", "--no-tags", "origin",
                  f"+refs/heads/{self.branch}:refs/remotes/origin/{self.branch}")
        sha = self._git("rev-parse", "--verify", f"refs/remotes/origin/{self.branch}^{{commit}}").stdout.strip()
        self._git("-c", "advice.detachedHead=false", "checkout", "--quiet", "--force", "--detach", sha)
        self._git("clean", "--quiet", "-ffdx")
        return Checkout(sha, self.cache / self.path)

    def is_ancestor(self, older: str, newer: str) -> bool:
        """Whether ``older`` is ``newer`` or one of its ancestors (False when ``older`` is unknown)."""
        if older == newer:
            return True
        known = self._git("cat-file", "-e", f"{older}^{{commit}}", check=False).returncode == 0
        if not known:
            return False
        return self._git("merge-base", "--is-ancestor", older, newer, check=False).returncode == 0
