"""A writer that lost the lease never writes: an apply paused (SIGSTOP) past the lease's lifetime, while
another apply takes the lease and converges the account to other manifests, makes no further write
when it resumes, lists the changes it did not make, and exits 1."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import boto3
from applyenv import without_profile
from clirun import REPO, child_env, cli_here
from slowwrites import SlowWrites

TTL = 3.0
PAUSED_KEY = "AKIAPAUSEDWRITER0001"
OTHER_KEY = "AKIASECONDWRITER0002"


def apply_command(manifests: Path, url: str, *extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "reconciler",
        "--log-format",
        "json",
        "apply",
        "--auto-approve",
        str(manifests),
        "--endpoint-url",
        url,
        "--lease-ttl",
        str(TTL),
        "--lease-timeout",
        "60",
        *extra,
    ]


def test_an_apply_paused_past_its_lease_writes_nothing_more_and_says_what_it_did_not_do(
    slow_writes: SlowWrites, aws: object, tmp_path: Path
) -> None:
    url = slow_writes.emulator.url
    first, second = tmp_path / "first", tmp_path / "second"
    shutil.copytree(REPO / "desired-state", first)
    shutil.copytree(REPO / "desired-state", second)
    users = second / "users" / "users.yaml"
    users.write_text("---".join(users.read_text().split("---")[:2]))  # the second writer's git: no carol
    studio = second / "studio" / "studio.yaml"
    studio.write_text(without_profile("carol")(studio.read_text()))  # nor her Studio profile

    paused = subprocess.Popen(
        apply_command(first, url, "--workers", "1"),
        cwd=REPO,
        env=child_env(url, AWS_ACCESS_KEY_ID=PAUSED_KEY),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    watchdog = threading.Timer(180, paused.kill)
    watchdog.start()
    try:
        assert paused.stderr is not None
        for line in paused.stderr:
            if '"event": "change"' in line:  # one change made, the next one in flight
                os.kill(paused.pid, signal.SIGSTOP)
                break
        else:
            raise AssertionError("the first apply made no change")
        time.sleep(TTL + 1)  # its lease has expired now

        other = subprocess.run(
            apply_command(second, url),
            cwd=REPO,
            env=child_env(url, AWS_ACCESS_KEY_ID=OTHER_KEY),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert other.returncode == 0, other.stdout + other.stderr
        assert slow_writes.by(OTHER_KEY), "the second apply wrote nothing"
        resumed_at = time.monotonic()
        os.kill(paused.pid, signal.SIGCONT)
        out, err = paused.communicate(timeout=120)
    finally:
        watchdog.cancel()
        if paused.poll() is None:
            paused.kill()
    assert paused.returncode == 1, out + err
    assert slow_writes.by(PAUSED_KEY, since=resumed_at) == []  # not a single write after it resumed
    assert "The lease was lost (another writer holds it now): no further change was started. Not made:" in out
    not_made = out.split("Not made:\n", 1)[1].splitlines()
    assert any(line.startswith("  Group/") for line in not_made), out
    # The account is what the second apply made it: a plan of its manifests is empty.
    code, plan = cli_here("plan", str(second))
    assert code == 0, plan
    assert plan.startswith("No changes.")
    assert "carol" not in [u["UserName"] for u in boto3.client("iam").list_users()["Users"]]
