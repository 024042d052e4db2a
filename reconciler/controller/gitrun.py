"""Running git for a :class:`~reconciler.controller.gitsource.GitSource`: one subprocess per operation.

Every git command has a timeout and runs in an environment that cannot point it at another repository
than ours (``GIT_DIR`` and the like are removed) and never prompts. The remote URL, with its
credentials, reaches git through the environment only (never the command line, where ``ps`` shows it,
nor a config file), and no credential reaches an error message: a failure is reported by git's first
``fatal:``/``error:`` line, redacted.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from reconciler.errors import ReconcilerError
from reconciler.logs import REDACTED, redact_urls

__all__ = ["Git", "GitError", "InvalidSource"]

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


class Git:
    """git commands on one bare repository whose ``origin`` is ``url``.

    ``display`` (the URL without credentials) and ``branch`` name the source in error messages;
    ``secrets`` are the strings no message may contain.
    """

    def __init__(self, repo: Path, url: str, *, display: str, branch: str, timeout: float, secrets: list[str]) -> None:
        self.repo = repo
        self.timeout = timeout
        self._url = url
        self._display = display
        self._branch = branch
        self._secrets = sorted(secrets, key=len, reverse=True)

    def __call__(
        self, *args: str, check: bool = True, remote: bool = False, stdin: bytes | None = None
    ) -> subprocess.CompletedProcess[bytes]:
        """``git <args>`` on the repository (pathspecs taken literally)."""
        return self.run(
            ["git", f"--git-dir={self.repo}", "--literal-pathspecs", *args], check=check, remote=remote, stdin=stdin
        )

    def run(
        self, argv: list[str], *, check: bool = True, remote: bool = False, stdin: bytes | None = None
    ) -> subprocess.CompletedProcess[bytes]:
        """Run ``argv`` (a git command line); with ``check``, a non-zero exit raises :class:`GitError`.

        ``remote=True`` gives git the URL (as ``remote.origin.url``, through the environment).
        """
        name = next((a for a in argv[1:] if not a.startswith("-") and "=" not in a), "git")
        try:
            result = subprocess.run(
                argv, input=stdin, capture_output=True, timeout=self.timeout, env=self.env(remote=remote), check=False
            )
        except subprocess.TimeoutExpired as exc:
            raise GitError(f"git {name} timed out after {self.timeout:.0f}s for {self._display}") from exc
        except OSError as exc:
            raise GitError(f"cannot run git: {exc.strerror}") from exc
        if check and result.returncode != 0:
            lines = [line.strip() for line in result.stderr.decode(errors="replace").splitlines() if line.strip()]
            first = next((line for line in lines if line.startswith(("fatal:", "error:"))), None)
            detail = self.redact(first or (lines[-1] if lines else f"exit status {result.returncode}"))
            raise GitError(f"git {name} failed for {self._display} ({self._branch}): {detail}")
        return result

    def env(self, *, remote: bool = False) -> dict[str, str]:
        """The environment of a git command: ours only, no prompt; ``remote``: with the URL."""
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

    def redact(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, REDACTED)
        return redact_urls(text)

    @contextlib.contextmanager
    def blobs(self, objects: list[bytes]) -> Iterator[IO[bytes]]:
        """``git cat-file --batch`` fed ``objects`` in order, killed after the timeout."""
        proc = subprocess.Popen(
            ["git", f"--git-dir={self.repo}", "cat-file", "--batch"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=self.env(),
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
