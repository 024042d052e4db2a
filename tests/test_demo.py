"""`reconciler demo`, the README's first command: the whole loop on an embedded AWS."""

from __future__ import annotations

import os
import subprocess
import sys


def test_demo_converges_repairs_drift_follows_commits_and_ends_with_a_clean_audit() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    result = subprocess.run(
        [sys.executable, "-m", "reconciler", "--log-format", "json", "demo"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    out = result.stdout
    assert result.returncode == 0, out[-3000:] + result.stderr[-3000:]
    assert "Plan: 22 to create, 0 to update, 0 to delete." in out
    assert "Plan: 1 to create, 3 to update, 0 to delete." in out  # the drift: a role, two groups, a bucket
    assert "      members:\n        - member mallory\n" in out
    assert "SageMakerAdministrator members now: alice " in out
    assert "SageMakerEngineer members now: bob, dave" in out
    # a broken head: reported, and drift still reverted meanwhile
    assert "/readyz: not ready: head commit " in out and " is invalid: 1 manifest problem(s)" in out
    assert "SageMakerEngineer policies now: use-notebook-for-engineer (drift reverted" in out
    # the saved plan a reviewer approves is the plan applied
    assert "   Saved the plan to " in out and "   Applying the saved plan " in out
    assert "   Apply: 0 created, 1 updated, 0 deleted, 0 adopted" in out
    assert "Invariants passed: 0 error(s)" in out
    assert out.rstrip().endswith("Demo succeeded: the account matches git.")
