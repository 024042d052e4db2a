"""`reconciler demo`, the README's first command: the whole loop on an embedded AWS."""

from __future__ import annotations

import os
import subprocess
import sys


def test_demo_converges_repairs_drift_follows_commits_and_ends_with_a_clean_audit() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    result = subprocess.run([sys.executable, "-m", "reconciler", "--log-format", "json", "demo"], env=env,
                            capture_output=True, text=True, timeout=300, check=False)
    out = result.stdout
    assert result.returncode == 0, out[-3000:] + result.stderr[-3000:]
    assert "Plan: 16 to create, 0 to update, 0 to delete." in out
    assert "Plan: 1 to create, 2 to update, 0 to delete." in out  # the drift: a role, a group, a bucket
    assert "SageMakerEngineer members now: bob, dave" in out
    assert "Invariants passed: 0 error(s)" in out
    assert out.rstrip().endswith("Demo succeeded: the account matches git.")
