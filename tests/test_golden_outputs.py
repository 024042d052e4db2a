"""The outputs a user reads, byte for byte: plan (text, JSON, Markdown), apply, validate, audit and import on
the shipped example, against the embedded AWS in fixed states.

A change of any of these outputs must be deliberate: rerun with ``RECONCILER_UPDATE_GOLDEN=1`` to write
the new files, and review their diff like any other change.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import boto3
import pytest
from clirun import REPO, cli_here
from example_edits import remove_users
from handmade import build

from reconciler.aws.clients import AwsConfig
from reconciler.kinds import load_directory

GOLDEN = REPO / "tests" / "fixtures" / "golden"
UPDATE = os.environ.get("RECONCILER_UPDATE_GOLDEN") == "1"
ADMIN = "arn:aws:iam::aws:policy/AdministratorAccess"


def check(name: str, text: str) -> None:
    path = GOLDEN / name
    if UPDATE:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert path.is_file(), f"no golden file {path}: run with RECONCILER_UPDATE_GOLDEN=1"
    assert text == path.read_text(encoding="utf-8"), f"{name} differs from its golden file"


@pytest.fixture
def here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working directory holding the example as ``ds``: outputs name ``ds/...``, never a temporary path."""
    shutil.copytree(REPO / "desired-state", tmp_path / "ds")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def run(*args: str) -> str:
    code, out = cli_here(*args)
    return f"exit {code}\n{out}"


def test_plan_apply_and_validate_of_the_example(aws: AwsConfig, here: Path) -> None:
    check("validate.txt", run("validate", "ds"))
    for fmt in ("text", "json", "markdown"):
        check(f"plan-empty-account.{fmt}", run("plan", "ds", "--output", fmt))
    check("apply-empty-account.txt", run("apply", "--auto-approve", "ds"))
    check("plan-in-sync.txt", run("plan", "ds"))
    # drift by hand, and a manifest change: the plan a reviewer reads
    iam, s3 = boto3.client("iam"), boto3.client("s3")
    iam.attach_group_policy(GroupName="SageMakerEngineer", PolicyArn=ADMIN)
    iam.create_user(UserName="mallory")
    iam.add_user_to_group(GroupName="SageMakerAdministrator", UserName="mallory")
    s3.delete_public_access_block(Bucket="sagemaker-rawdata")
    remove_users(here / "ds", "carol")  # and her Studio profile, which names her
    for fmt in ("text", "json", "markdown"):
        check(f"plan-drift.{fmt}", run("plan", "ds", "--output", fmt))
    check("audit-drift.txt", run("audit", "ds"))
    check("audit-drift.json", run("audit", "ds", "--output", "json"))


def test_import_and_adopt_of_a_hand_made_account(aws: AwsConfig, here: Path) -> None:
    build(load_directory(here / "ds"), "ap-northeast-1", tag=False)
    check("import.txt", run("import", "--out", "imported", "--region", "ap-northeast-1"))
    files = sorted(p for p in (here / "imported").rglob("*.yaml"))
    check("import-files.txt", "".join(f"# {p.relative_to(here)}\n{p.read_text()}" for p in files))
    check("plan-adopt.txt", run("plan", "--adopt", "imported"))
    check("plan-adopt.markdown", run("plan", "--adopt", "imported", "--output", "markdown"))
