"""``apply --replace``: delete and recreate what IAM cannot change in place, with the relations kept."""

from __future__ import annotations

import shutil
from pathlib import Path

import boto3
import pytest
from clirun import cli_here

from reconciler.aws.clients import AwsConfig

REPO = Path(__file__).resolve().parents[2]
ROLES = ["notebook-for-administrator-role", "notebook-for-engineer-role"]


def attached_to(arn: str) -> list[str]:
    entities = boto3.client("iam").list_entities_for_policy(PolicyArn=arn)
    return sorted(r["RoleName"] for r in entities["PolicyRoles"])


@pytest.fixture
def ds(aws: AwsConfig, tmp_path: Path) -> Path:
    target = tmp_path / "ds"
    shutil.copytree(REPO / "desired-state", target)
    code, out = cli_here("apply", str(target), "--auto-approve")
    assert code == 0, out
    return target


def edit_logs_policy(ds: Path, old: str, new: str) -> None:
    path = ds / "policies" / "notebook-data.yaml"
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


def test_a_new_description_replaces_the_policy_and_reattaches_it_where_it_was(ds: Path) -> None:
    arn = "arn:aws:iam::123456789012:policy/notebook-logs"
    assert attached_to(arn) == ROLES
    edit_logs_policy(ds, "description: SageMaker notebook instances write", "description: Notebooks write")
    code, out = cli_here("plan", str(ds))
    assert code == 3 and "rerun with --replace Policy/notebook-logs" in out
    code, out = cli_here("plan", str(ds), "--replace", "Policy/notebook-logs")
    assert code == 2, out
    assert "-/+ Policy/notebook-logs" in out and "(1 to replace)" in out
    code, out = cli_here("apply", str(ds), "--replace", "Policy/notebook-logs", "--auto-approve")
    assert code == 0, out
    assert "1 replaced" in out
    policy = boto3.client("iam").get_policy(PolicyArn=arn)["Policy"]
    assert policy["Description"] == "Notebooks write their CloudWatch logs"
    assert attached_to(arn) == ROLES  # same ARN: the roles, unchanged in the plan, have it again
    code, out = cli_here("plan", str(ds))
    assert code == 0, out


def test_a_new_path_replaces_the_policy_and_the_roles_attach_the_new_arn(ds: Path) -> None:
    edit_logs_policy(ds, "  description: SageMaker notebook", "  path: /notebooks/\n  description: SageMaker notebook")
    code, out = cli_here("apply", str(ds), "--replace", "Policy/notebook-logs", "--auto-approve")
    assert code == 0, out
    assert attached_to("arn:aws:iam::123456789012:policy/notebooks/notebook-logs") == ROLES
    with pytest.raises(boto3.client("iam").exceptions.NoSuchEntityException):
        boto3.client("iam").get_policy(PolicyArn="arn:aws:iam::123456789012:policy/notebook-logs")
    code, out = cli_here("plan", str(ds))
    assert code == 0, out


@pytest.mark.parametrize(
    ("ref", "message"),
    [
        ("Bucket/sagemaker-rawdata", "Bucket is never replaced"),
        ("Policy/nowhere", "no such manifest"),
        ("Widget/x", "not Kind/name of a known kind"),
    ],
)
def test_replace_of_what_cannot_be_replaced_is_refused_before_reading(ds: Path, ref: str, message: str) -> None:
    code, out = cli_here("plan", str(ds), "--replace", ref)
    assert code == 1
    assert f"--replace: {ref}: {message}" in out
