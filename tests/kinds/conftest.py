"""Fixtures for the Studio kinds' tests: the example manifests plus a Studio domain and two user profiles."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from apply.applyenv import REPO, Env
from studioenv import STUDIO_YAML

from reconciler.aws.clients import AwsConfig


@pytest.fixture
def env(aws: AwsConfig, tmp_path: Path) -> Env:
    """The example manifests with the tests' own ``studio/studio.yaml`` (a domain, a profile for alice, one for a
    group) in place of the example's (its domain of the same name, a profile for bob and one for carol): the
    tests change, remove and look up exactly the domain and profiles they declare."""
    shutil.copytree(REPO / "desired-state", tmp_path / "ds")
    (tmp_path / "ds" / "studio" / "studio.yaml").write_text(STUDIO_YAML)
    return Env(aws, tmp_path / "ds")
