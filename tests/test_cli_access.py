"""The access diff through ``reconciler plan`` and ``apply FILE``, on the embedded AWS: someone attached
AdministratorAccess to a group by hand, and git adds a writer to the raw data bucket."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import boto3
import pytest
from clirun import REPO, cli_here
from jsonschema import Draft202012Validator

from reconciler import clock
from reconciler.aws.clients import AwsConfig

ADMIN = "arn:aws:iam::aws:policy/AdministratorAccess"
RAW_WRITE = """---
apiVersion: reconciler/v1
kind: Policy
metadata:
  name: raw-write
spec:
  document:
    Version: "2012-10-17"
    Statement:
      - Effect: Allow
        Action: s3:PutObject
        Resource: arn:aws:s3:::sagemaker-rawdata/*
"""
GAIN = "+ members of Group/SageMakerEngineer (bob, carol) gain s3:PutObject on sagemaker-rawdata/* via Policy/raw-write"
LOSE = (
    "- members of Group/SageMakerEngineer (bob, carol) lose administrator access via AWS managed policy "
    "AdministratorAccess"
)


def _edit(ds: Path) -> None:
    """Git: Group/SageMakerEngineer gets raw-write for a week (a human's write access to protected data must end:
    DATA003), and is declared a writer of the raw data bucket."""
    policies = ds / "policies" / "notebook-users.yaml"
    policies.write_text(policies.read_text() + RAW_WRITE)
    groups = ds / "groups" / "groups.yaml"
    text = groups.read_text()
    line = "    - use-notebook-for-engineer\n"
    week = (clock.now() + dt.timedelta(days=7)).date().isoformat()
    groups.write_text(text.replace(line, line + f"    - {{policy: raw-write, expiresAt: {week}}}\n"))
    buckets = ds / "buckets" / "buckets.yaml"
    text = buckets.read_text()
    old = "    write:\n      - Role/notebook-for-administrator-role\n  deletionPolicy"
    assert old in text
    buckets.write_text(
        text.replace(old, old.replace("  deletionPolicy", "      - Group/SageMakerEngineer\n  deletionPolicy"))
    )


def _section(text: str) -> str:
    """The access section of a text plan: from its heading to the blank line after it."""
    start = text.index("Access changes")
    return text[start : text.index("\n\n", start)]


@pytest.fixture
def ds(aws: AwsConfig, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    shutil.copytree(REPO / "desired-state", tmp_path / "ds")
    monkeypatch.chdir(tmp_path)
    code, out = cli_here("apply", "--auto-approve", "ds")
    assert code == 0, out
    return tmp_path / "ds"


def test_plan_shows_the_access_diff_in_every_format_and_apply_file_shows_the_same(ds: Path) -> None:
    code, out = cli_here("plan", "ds")
    assert code == 0 and out.startswith("No changes.")  # in sync: no access section either
    code, raw = cli_here("plan", "ds", "--output", "json")
    assert json.loads(raw)["access"] == {"changes": [], "notes": []}

    boto3.client("iam").attach_group_policy(GroupName="SageMakerEngineer", PolicyArn=ADMIN)
    _edit(ds)

    code, text = cli_here("plan", "ds", "--out", "plan.json")
    assert code == 2, text
    section = _section(text)
    assert section.splitlines() == [
        "Access changes:",
        "  Protected data (write, delete or re-open objects):",
        f"    {GAIN}",
        "  Administrator access:",
        f"    {LOSE}",
        "  Note: Group/SageMakerEngineer attaches arn:aws:iam::aws:policy/AdministratorAccess (before only), whose "
        "document was not read: only the administrator access it names is counted",
    ]
    assert text.index("Access changes:") < text.index("Planned changes in account")

    code, raw = cli_here("plan", "ds", "--output", "json")
    data = json.loads(raw)
    schema = json.loads((REPO / "schemas" / "plan.schema.json").read_text())
    Draft202012Validator(schema).validate(data)
    assert [(c["category"], c["change"], c["subject"], c["members"], c["what"]) for c in data["access"]["changes"]] == [
        ("data", "gain", "Group/SageMakerEngineer", ["bob", "carol"], ["s3:PutObject"]),
        ("admin", "lose", "Group/SageMakerEngineer", ["bob", "carol"], ["*"]),
    ]
    assert [c["text"] for c in data["access"]["changes"]] == [GAIN[2:], LOSE[2:]]

    code, markdown = cli_here("plan", "ds", "--output", "markdown")
    assert f"### Access changes\n\n```diff\n# Protected data (write, delete or re-open objects)\n{GAIN}\n" in markdown
    assert f"# Administrator access\n{LOSE}\n" in markdown
    assert markdown.index("### Access changes") < markdown.index("### Changes")

    # The plan file holds the diff: apply FILE shows exactly the section plan printed, then applies.
    saved = json.loads(Path("plan.json").read_text())
    assert saved["plan"]["access"] == data["access"]
    code, applied = cli_here("apply", "plan.json")
    assert code == 0, applied
    assert _section(applied) == section

    code, again = cli_here("plan", "ds")
    assert code == 0 and again.startswith("No changes.")


def test_a_failing_access_diff_never_stops_the_plan(aws: AwsConfig, monkeypatch: pytest.MonkeyPatch) -> None:
    from reconciler.engine import preview

    def broken(*_args: object) -> None:
        raise ValueError("boom")

    monkeypatch.setattr(preview, "plan_access", broken)
    code, text = cli_here("plan", str(REPO / "desired-state"))
    assert code == 2 and "Access changes" not in text and "Plan: 22 to create" in text
    code, raw = cli_here("plan", str(REPO / "desired-state"), "--output", "json")
    assert code == 2 and "access" not in json.loads(raw)
