"""`reconciler plan` and `apply` through the real entry point, against the embedded AWS."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from jsonschema import Draft202012Validator

from reconciler.aws.clients import AwsConfig

REPO = Path(__file__).resolve().parents[1]


def cli(*args: str, endpoint: str | None, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_DEFAULT_REGION="ap-northeast-1",
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
        AWS_MAX_ATTEMPTS="2",
    )
    if endpoint:
        env["AWS_ENDPOINT_URL"] = endpoint
    return subprocess.run(
        [sys.executable, "-m", "reconciler", "--log-format", "json", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_plan_apply_plan_cycle_and_exit_statuses(aws: AwsConfig) -> None:
    first = cli("plan", endpoint=aws.endpoint_url)
    assert first.returncode == 2, first.stdout + first.stderr
    assert first.stdout.rstrip().endswith("Plan: 22 to create, 0 to update, 0 to delete.")
    applied = cli("apply", "--auto-approve", endpoint=aws.endpoint_url)
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert "Apply: 22 created, 0 updated, 0 deleted" in applied.stdout
    change_lines = [json.loads(line) for line in applied.stderr.splitlines() if '"event": "change"' in line]
    assert len(change_lines) == 22 and {c["status"] for c in change_lines} == {"done"}
    again = cli("plan", endpoint=aws.endpoint_url)
    assert again.returncode == 0
    assert again.stdout.startswith("No changes.")


def test_plan_json_matches_its_schema_and_is_deterministic(aws: AwsConfig) -> None:
    one = cli("plan", "--output", "json", endpoint=aws.endpoint_url)
    two = cli("plan", "--output", "json", endpoint=aws.endpoint_url)
    assert one.returncode == two.returncode == 2
    assert one.stdout == two.stdout
    schema = json.loads((REPO / "schemas" / "plan.schema.json").read_text())
    Draft202012Validator(schema).validate(json.loads(one.stdout))


def test_plan_markdown_has_a_summary_table(aws: AwsConfig) -> None:
    result = cli("plan", "--output", "markdown", endpoint=aws.endpoint_url)
    assert result.returncode == 2
    assert "create | 22 |" in result.stdout
    assert "<details>" in result.stdout


def test_unreachable_endpoint_exits_1_without_traceback() -> None:
    result = cli("plan", "--endpoint-url", "http://127.0.0.1:9", endpoint=None)
    assert result.returncode == 1
    assert "cannot reach AWS" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr


def test_wrong_account_exits_1_before_reading(aws: AwsConfig, tmp_path: Path) -> None:
    shutil.copytree(REPO / "desired-state", tmp_path / "ds")
    settings = tmp_path / "ds" / "settings.yaml"
    settings.write_text(settings.read_text().replace('"123456789012"', '"999999999999"'))
    result = cli("plan", str(tmp_path / "ds"), endpoint=aws.endpoint_url)
    assert result.returncode == 1
    assert "the credentials are for account 123456789012, but Settings.accountId is 999999999999" in result.stdout


def test_region_flag_contradicting_settings_is_an_error(aws: AwsConfig) -> None:
    result = cli("plan", "--region", "us-west-2", endpoint=aws.endpoint_url)
    assert result.returncode == 1
    assert "--region us-west-2 conflicts with Settings.region ap-northeast-1" in result.stdout


def test_invalid_manifests_exit_1_and_nothing_is_read(tmp_path: Path) -> None:
    (tmp_path / "ds").mkdir()
    (tmp_path / "ds" / "x.yaml").write_text("kind: Nope\n")
    result = cli("apply", "--auto-approve", str(tmp_path / "ds"), "--endpoint-url", "http://127.0.0.1:9", endpoint=None)
    assert result.returncode == 1
    assert "unknown kind 'Nope'" in result.stdout
    assert "cannot reach AWS" not in result.stdout


def test_plan_and_apply_with_an_embedded_sandbox() -> None:
    result = cli("apply", "--auto-approve", "--sandbox", endpoint=None)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Apply: 22 created" in result.stdout


def test_plan_adopt_shows_what_apply_adopt_takes_over(aws: AwsConfig) -> None:
    import boto3
    from clirun import cli_here  # in this process: five runs in seconds
    from handmade import build

    from reconciler.kinds import load_directory

    # The example, built by hand without the ownership mark; then one field changed by hand.
    build(load_directory(REPO / "desired-state"), "ap-northeast-1", tag=False)
    boto3.client("iam").attach_group_policy(
        GroupName="SageMakerEngineer", PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess"
    )
    code, plain = cli_here("plan", str(REPO / "desired-state"))
    # apply would refuse the whole plan without --adopt: plan says so first, and exits 3
    assert code == 3, plain
    assert plain.startswith(
        "REFUSED: apply would write nothing: 22 resource(s) named in git exist without the "
        "ownership mark (Policy/notebook-admin-data, "
    ), plain.splitlines()[0]
    assert "rerun with --adopt to take them over" in plain.splitlines()[1]
    assert "# adopt (needs --adopt)" in plain
    assert "Adoption:" not in plain
    assert "Plan: 0 to create, 0 to update, 0 to delete. (22 to adopt)" in plain

    code, adopt = cli_here("plan", "--adopt", str(REPO / "desired-state"))
    assert code == 2, adopt
    assert "# adopt: apply --adopt takes it over (adds the ownership mark) and converges it" in adopt
    assert "# adopt (needs --adopt)" not in adopt
    assert adopt.rstrip().endswith(
        "Adoption: 22 resource(s) taken over; 21 get only the ownership mark, 1 also change:\n"
        "  Group/SageMakerEngineer: policies"
    )
    code, markdown = cli_here("plan", "--adopt", "--output", "markdown", str(REPO / "desired-state"))
    assert code == 2
    assert (
        "> **Note:** Adoption: 22 resource\\(s\\) taken over; 21 get only the ownership mark, 1 also "
        "change: Group/SageMakerEngineer: policies\n"
    ) in markdown
    code, applied = cli_here("apply", "--auto-approve", "--adopt", "--no-lease", str(REPO / "desired-state"))
    assert code == 0, applied
    code, again = cli_here("plan", "--adopt", str(REPO / "desired-state"))
    assert code == 0
    assert again.startswith("No changes.")
    assert again.rstrip().endswith("Adoption: nothing to take over.")
