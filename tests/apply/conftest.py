"""Fixtures for apply tests: a manifest directory to edit (``applyenv.Env``), and a slow emulator."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from applyenv import REPO, Env
from slowwrites import SlowWrites, slowed

from reconciler.aws.clients import AwsConfig


@pytest.fixture
def env(aws: AwsConfig, tmp_path: Path) -> Env:
    shutil.copytree(REPO / "desired-state", tmp_path / "ds")
    return Env(aws, tmp_path / "ds")


@pytest.fixture
def slow_writes(emulator: Any) -> Iterator[SlowWrites]:
    """The emulator with every write taking 40 ms, and every write recorded (see ``slowwrites``)."""
    with slowed(emulator, 0.04) as slow:
        yield slow
