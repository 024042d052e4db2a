"""Fixtures for the rule tests: small manifest directories written on the fly."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml
from rules_support import ACCOUNT, Evaluator, Loader, manifest, seed_aws_policies

from reconciler.kinds import load_directory
from reconciler.manifests import DesiredState
from reconciler.rules import Report, evaluate


@pytest.fixture
def load(tmp_path: Path) -> Loader:
    """``load(*manifests, exceptions=[...])``: a DesiredState from manifests written to a temp directory."""

    def _load(*docs: Mapping[str, Any], exceptions: list[dict[str, str]] | None = None) -> DesiredState:
        settings = manifest(
            "Settings", "test", {"accountId": ACCOUNT, "region": "ap-northeast-1", "exceptions": exceptions or []}
        )
        (tmp_path / "settings.yaml").write_text(yaml.safe_dump(settings, sort_keys=False), encoding="utf-8")
        (tmp_path / "resources.yaml").write_text(yaml.safe_dump_all(list(docs), sort_keys=False), encoding="utf-8")
        return load_directory(tmp_path, display_root="m")

    return _load


@pytest.fixture
def check(load: Loader) -> Evaluator:
    """``check(*manifests, aws=..., exceptions=...)``: evaluate the rules on the manifests."""

    def _check(
        *docs: Mapping[str, Any], aws: Mapping[str, Any] | None = None, exceptions: list[dict[str, str]] | None = None
    ) -> Report:
        return evaluate(load(*docs, exceptions=exceptions), aws if aws is not None else seed_aws_policies())

    return _check
