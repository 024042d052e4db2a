"""`reconciler plan` and `apply` as processes, at instants set with RECONCILER_NOW: the plan after an end removes the
access and says why in text and JSON (valid against its schema; Markdown: tests/apply/test_expiry.py); a saved plan
carries it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from expiring import AFTER, BEFORE, give_expiring_access
from jsonschema import Draft202012Validator
from test_cli_plan_apply import cli

from reconciler.aws.clients import AwsConfig
from reconciler.clock import ENV

REPO = Path(__file__).resolve().parents[1]
SCHEMA = json.loads((REPO / "schemas" / "plan.schema.json").read_text(encoding="utf-8"))


def test_plan_shows_expired_access_in_every_output(
    aws: AwsConfig, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "desired-state"
    shutil.copytree(REPO / "desired-state", root)
    give_expiring_access(root)

    def at(instant: str, *args: str) -> tuple[int, str]:
        monkeypatch.setenv(ENV, instant)  # the child process's clock
        done = cli(*args, endpoint=aws.endpoint_url, cwd=tmp_path)
        return done.returncode, done.stdout

    assert at(BEFORE, "apply", "--auto-approve", "desired-state")[0] == 0
    status, text = at(BEFORE, "plan", "desired-state")
    assert status == 0 and text.startswith("No changes.")
    assert (
        "Note: expires in 1 d 12 h (2026-12-01): User/bob's membership of Group/SageMakerAdministrator "
        "(desired-state/users/users.yaml:21:18)" in text
    )

    status, text = at(AFTER, "plan", "desired-state")
    assert status == 2
    assert (
        "      # expired 2026-12-01: User/bob's membership of Group/SageMakerAdministrator "
        "(desired-state/users/users.yaml:21:18)\n      members:\n        - member bob\n" in text
    )
    assert "Plan: 0 to create, 3 to update, 1 to delete." in text

    status, raw = at(AFTER, "plan", "desired-state", "--output", "json")
    data = json.loads(raw)
    assert status == 2 and not list(Draft202012Validator(SCHEMA).iter_errors(data))
    assert [g["entry"] for g in data["expired"]] == [
        "attachment of policy notebook-logs",
        "membership of Group/SageMakerAdministrator",
        "User/carol",
    ]
    assert data["expired"][2]["removes"] == [
        {"ref": "User/carol", "field": "", "value": ""},
        {"ref": "Group/SageMakerEngineer", "field": "members", "value": "carol"},
    ]

    # Saved at the end, applied later: exactly what was reviewed.
    assert at(AFTER, "plan", "desired-state", "--out", "reviewed.plan")[0] == 2
    status, out = at(AFTER, "apply", "reviewed.plan")
    assert status == 0, out
    status, text = at(AFTER, "plan", "desired-state")
    assert status == 0 and text.startswith("No changes.")
    assert "Note: 3 expired entries are still in the manifests (no longer in force)" in text
