"""Fixtures of the controller tests: a real git repository holding the shipped example."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from gitrepo import REPO, git


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A git repository whose main branch holds the shipped example under desired-state/."""
    root = tmp_path / "repo"
    shutil.copytree(REPO / "desired-state", root / "desired-state")
    git(root, "init", "--quiet", "--initial-branch", "main")
    git(root, "add", "-A")
    git(root, "commit", "--quiet", "-m", "initial")
    return root
