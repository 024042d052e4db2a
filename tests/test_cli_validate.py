"""`reconciler validate`: exit statuses and output, through the real console script."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "desired-state"


def reconciler(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "reconciler", *args], cwd=cwd, capture_output=True, text=True, timeout=60, check=False
    )


def test_valid_example_exits_0_with_a_summary() -> None:
    result = reconciler("validate", "desired-state")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout == (
        "desired-state: valid: 1 Settings, 2 Bucket, 2 Group, 3 KmsKey, 2 NotebookInstance, 5 Policy, 2 Role, "
        "1 StudioDomain, 2 StudioUserProfile, 3 User (22 resources)\n"
    )


def test_invalid_manifests_exit_1_with_every_problem_and_no_traceback(tmp_path: Path) -> None:
    shutil.copytree(EXAMPLE, tmp_path / "ds")
    roles = tmp_path / "ds" / "roles" / "notebook-roles.yaml"
    roles.write_text(roles.read_text().replace("- notebook-admin-data", "- notebook-admin-dat"))
    users = tmp_path / "ds" / "users" / "users.yaml"
    users.write_text(
        users.read_text().replace(
            "consoleAccess: true\n  tags:\n    team: ml-platform",
            "consoleAccess: yes please\n  tags:\n    team: ml-platform",
        )
    )
    result = reconciler("validate", "ds", cwd=tmp_path)
    assert result.returncode == 1
    assert "Traceback" not in result.stdout + result.stderr
    assert result.stdout.splitlines() == [
        "ds/roles/notebook-roles.yaml:13:7: Role/notebook-for-administrator-role: spec.policies[0]: "
        "no Policy manifest named 'notebook-admin-dat' (and not a policy ARN)",
        'ds/users/users.yaml:9:18: User/alice: spec.consoleAccess: expected boolean, got string "yes please"',
        "2 problem(s) found; nothing was planned or applied.",
    ]


def test_default_directory_is_desired_state() -> None:
    assert reconciler("validate").returncode == 0


def test_version() -> None:
    result = reconciler("--version")
    assert result.returncode == 0
    assert result.stdout.startswith("reconciler ")


def test_missing_directory_exit_1(tmp_path: Path) -> None:
    result = reconciler("validate", str(tmp_path / "absent"))
    assert result.returncode == 1
    assert "not a directory" in result.stdout
