"""Saved plans: ``plan --out FILE`` then ``apply FILE`` executes exactly that plan, or nothing at all."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

import boto3
import pytest
from clirun import REPO, cli_child, cli_here
from example_edits import remove_users

from reconciler import __version__
from reconciler.aws.clients import AwsConfig

ADMIN = "arn:aws:iam::aws:policy/AdministratorAccess"


@pytest.fixture
def ds(tmp_path: Path) -> Path:
    shutil.copytree(REPO / "desired-state", tmp_path / "ds")
    return tmp_path / "ds"


def users() -> list[str]:
    return sorted(u["UserName"] for u in boto3.client("iam").list_users()["Users"])


def remove_carol(ds: Path) -> None:
    remove_users(ds, "carol")


def rewrite(path: Path, edit: Any) -> None:
    """Change a plan file's content and give it a correct digest again (what a forger could do)."""
    data = json.loads(path.read_text())
    data.pop("digest")
    edit(data)
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()
    data["digest"] = "sha256:" + hashlib.sha256(canonical).hexdigest()
    path.write_text(json.dumps(data))


def test_apply_of_a_saved_plan_executes_exactly_it_not_the_manifests_of_now(
    aws: AwsConfig, ds: Path, tmp_path: Path
) -> None:
    plan_file = tmp_path / "reviewed.plan"
    code, shown = cli_here("plan", str(ds), "--out", str(plan_file))
    assert code == 2, shown
    assert f"Saved the plan to {plan_file} (sha256:" in shown
    digest = shown.rsplit("(sha256:", 1)[1].split(")", 1)[0]
    remove_carol(ds)  # the manifests change after the review: apply FILE must not see it
    code, applied = cli_here("apply", str(plan_file))
    assert code == 0, applied
    assert applied.startswith(f"Applying the saved plan {plan_file} (sha256:{digest}), made from {ds}")
    assert "Apply: 22 created, 0 updated, 0 deleted, 0 adopted, 0 released" in applied
    assert users() == ["alice", "bob", "carol"]
    # The same file again: what it creates exists now, so every resource it touches moved.
    code, again = cli_here("apply", str(plan_file))
    assert code == 1
    assert "the account changed since the plan was made; plan again (22 resource(s) moved:" in again


def test_a_saved_plan_is_refused_when_what_it_touches_moved_and_nothing_is_written(
    aws: AwsConfig, ds: Path, tmp_path: Path
) -> None:
    assert cli_here("apply", "--auto-approve", str(ds))[0] == 0
    (ds / "users" / "dave.yaml").write_text(
        "apiVersion: reconciler/v1\nkind: User\nmetadata:\n  name: dave\nspec:\n  groups: [SageMakerEngineer]\n"
    )
    plan_file = tmp_path / "p.plan"
    assert cli_here("plan", str(ds), "--out", str(plan_file))[0] == 2
    iam = boto3.client("iam")
    # By hand, after the review: the group the plan changes gets another policy, and dave already exists.
    iam.attach_group_policy(GroupName="SageMakerEngineer", PolicyArn=ADMIN)
    iam.create_user(UserName="dave")
    code, out = cli_here("apply", str(plan_file))
    assert code == 1
    assert (
        "error: the account changed since the plan was made; plan again (2 resource(s) moved: "
        "Group/SageMakerEngineer, User/dave)"
    ) in out
    assert "Nothing was changed." in out
    # Nothing written: dave is not in the group and carries no ownership tag.
    members = [u["UserName"] for u in iam.get_group(GroupName="SageMakerEngineer")["Users"]]
    assert "dave" not in members and iam.list_user_tags(UserName="dave")["Tags"] == []


def test_a_refused_plan_is_saved_as_refused_and_apply_of_it_writes_nothing(
    aws: AwsConfig, ds: Path, tmp_path: Path
) -> None:
    boto3.client("iam").create_user(UserName="alice")  # made by hand: the plan needs --adopt
    plan_file = tmp_path / "p.plan"
    code, shown = cli_here("plan", str(ds), "--out", str(plan_file))
    assert code == 3 and shown.startswith(
        "REFUSED: apply would write nothing: 1 resource(s) named in git exist without the ownership mark (User/alice)"
    )
    code, out = cli_here("apply", str(plan_file))
    assert code == 1
    assert "REFUSED: apply would write nothing" in out and "Refused: nothing was changed." in out
    assert users() == ["alice"]
    assert cli_here("apply", str(plan_file), "--adopt")[1].startswith(
        "error: a saved plan was made with its own --adopt, --allow-deletes, --replace and --allow-destroy-retained"
    )


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (
            lambda p: p.write_text(p.read_text()[: len(p.read_text()) // 2]),
            "not a plan file, or a truncated one (not valid JSON)",
        ),
        (
            lambda p: p.write_text(p.read_text().replace('"create"', '"delete"', 1)),
            "the plan file was modified or damaged after it was written (its digest does not match); plan again",
        ),
        (lambda p: p.write_text('{"hello": "world"}'), "not a reconciler plan file"),
        (
            lambda p: rewrite(p, lambda d: d.update(reconcilerVersion="0.0.1")),
            f"made by reconciler 0.0.1, this is {__version__}; apply it with the version that made it, or plan again",
        ),
        (lambda p: rewrite(p, lambda d: d.update(reconcilerPlanFile=99)), "plan file format 99 is not supported"),
        (
            lambda p: rewrite(p, lambda d: d["computedFrom"].update(accountId="111111111111")),
            "the credentials are for account 123456789012, but Settings.accountId is 111111111111; "
            "refusing to read or change anything",
        ),
    ],
    ids=["truncated", "tampered", "not-a-plan", "other-version", "other-format", "other-account"],
)
def test_a_damaged_foreign_or_other_version_plan_file_is_refused_in_one_line(
    aws: AwsConfig, ds: Path, tmp_path: Path, damage: Any, message: str
) -> None:
    plan_file = tmp_path / "p.plan"
    assert cli_here("plan", str(ds), "--out", str(plan_file))[0] == 2
    damage(plan_file)
    result = cli_child("apply", str(plan_file), endpoint=aws.endpoint_url)
    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stdout.count("\n") == 1 and message in result.stdout, result.stdout
    assert "Traceback" not in result.stderr
    assert users() == []  # nothing written


def test_plan_json_names_the_verdict_first_and_matches_the_file(aws: AwsConfig, ds: Path, tmp_path: Path) -> None:
    plan_file = tmp_path / "p.plan"
    result = cli_child("plan", str(ds), "--output", "json", "--out", str(plan_file), endpoint=aws.endpoint_url)
    assert result.returncode == 2
    printed = json.loads(result.stdout)
    assert next(iter(printed)) == "verdict" and printed["verdict"]["applies"] is True
    saved = json.loads(plan_file.read_text())
    # The file holds the documented JSON plan, and what it was computed from.
    assert saved["plan"] == printed
    source = saved["computedFrom"]
    assert (source["accountId"], source["region"]) == ("123456789012", "ap-northeast-1")
    assert source["manifests"]["fingerprint"].startswith("sha256:")
    assert set(source["resources"]) == {f"{c['kind']}/{c['name']}" for c in printed["changes"]}
    assert {r["fingerprint"] for r in source["resources"].values()} == {"absent"}
    assert saved["reconcilerVersion"] == __version__
