"""`reconciler plan` and `apply` start the account's read from the Settings while the manifests load
(``load_reading``): the same plans and exit statuses as when the directory is loaded first, and a manifest error
is still the error reported, at once."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from clirun import REPO, cli_child, cli_here

import reconciler.kinds.read as read_module
from reconciler.aws.clients import AwsConfig
from reconciler.kinds.read import EarlyRead


@pytest.fixture
def started(monkeypatch: pytest.MonkeyPatch) -> list[EarlyRead]:
    """Every early read the commands start."""
    reads: list[EarlyRead] = []

    class Watched(EarlyRead):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            reads.append(self)

    monkeypatch.setattr(read_module, "EarlyRead", Watched)
    return reads


def settings_below_the_top(directory: Path) -> None:
    """The same manifests, with the Settings where no early read looks for them."""
    (directory / "account").mkdir()
    (directory / "settings.yaml").rename(directory / "account" / "settings.yaml")


def test_plan_and_apply_read_early_and_show_what_a_plain_load_shows(
    aws: AwsConfig, tmp_path: Path, started: list[EarlyRead]
) -> None:
    shutil.copytree(REPO / "desired-state", tmp_path / "ds")
    shutil.copytree(REPO / "desired-state", tmp_path / "plain")
    settings_below_the_top(tmp_path / "plain")

    status, early_text = cli_here("plan", str(tmp_path / "ds"), "--output", "json")
    assert status == 2
    assert len(started) == 1
    assert started[0].scope.later.exception() is None  # given its scope: the plan is the early read's
    plain_status, plain_text = cli_here("plan", str(tmp_path / "plain"), "--output", "json")
    assert len(started) == 1  # no Settings at the top: loaded first, no early read
    assert (plain_status, plain_text.replace("/plain", "/ds")) == (status, early_text)

    status, _ = cli_here("apply", "--auto-approve", str(tmp_path / "ds"))
    assert status == 0
    assert len(started) == 2
    assert started[1].scope.later.exception() is None
    assert cli_here("plan", str(tmp_path / "ds"))[0] == 0
    assert cli_here("plan", str(tmp_path / "plain"))[0] == 0


def test_flags_that_select_accounts_or_a_sandbox_load_first(
    aws: AwsConfig, tmp_path: Path, started: list[EarlyRead]
) -> None:
    shutil.copytree(REPO / "desired-state", tmp_path / "ds")
    status, out = cli_here("plan", str(tmp_path / "ds"), "--shard-count", "2", "--shard-index", "0")
    assert status in (0, 2), out
    status, out = cli_here("plan", str(tmp_path / "ds"), "--region", "us-west-2")
    assert status == 1
    assert "--region us-west-2 conflicts with Settings.region ap-northeast-1" in out
    assert started == []


def test_a_manifest_error_is_reported_at_once_while_the_read_has_started(tmp_path: Path) -> None:
    shutil.copytree(REPO / "desired-state", tmp_path / "ds")
    users = tmp_path / "ds" / "users" / "users.yaml"
    users.write_text(users.read_text().replace("kind: User", "kind: Usr", 1))
    # the Settings are valid: the read starts, and fails (nothing listens there) while the load fails
    result = cli_child("plan", str(tmp_path / "ds"), "--endpoint-url", "http://127.0.0.1:9", endpoint=None)
    assert result.returncode == 1
    assert "users/users.yaml" in result.stdout
    assert "unknown kind 'Usr'" in result.stdout
    assert "cannot reach AWS" not in result.stdout
    assert "Traceback" not in result.stdout + result.stderr
