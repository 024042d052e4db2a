"""The private directories a :class:`~reconciler.controller.gitsource.GitSource` writes commits into.

Each is fresh (mode 0700, under ``<cache>/.reconciler-git/work/``), written by one GitSource call only,
and owned by its process through a flock held on its ``.owner`` file until it is removed. A directory
left by a killed process (old, and its flock released) is removed by the next process that makes one.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import tempfile
import time
import weakref
from pathlib import Path

__all__ = ["STALE_AFTER", "Workspace", "sweep"]

STALE_AFTER = 600.0  # seconds: a private directory this old whose owner is gone is removed


def _remove_workspace(path: Path, fd: int) -> None:
    shutil.rmtree(path, ignore_errors=True)
    os.close(fd)  # after the removal: a sweeper sees the directory as owned until it is gone


def sweep(parent: Path) -> None:
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


class Workspace:
    """A fresh private directory (mode 0700) owned, through a held flock, by this process.

    ``tree`` is where the files go; the directory is removed by :meth:`remove`, or when the object is
    collected.
    """

    def __init__(self, parent: Path) -> None:
        parent.mkdir(parents=True, exist_ok=True)
        sweep(parent)
        self.path = Path(tempfile.mkdtemp(prefix=f"{os.getpid()}-", dir=parent))
        fd = os.open(self.path / ".owner", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        self._finalizer = weakref.finalize(self, _remove_workspace, self.path, fd)
        self.tree = Path(os.path.realpath(self.path / "tree"))
        self.tree.mkdir()

    def remove(self) -> None:
        self._finalizer()
