"""``apply DIR`` asks for ``yes`` on a terminal, and off a terminal needs ``--auto-approve``: a real child
process on a real pseudo-terminal."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path

import boto3
from clirun import REPO, child_env, cli_child

from reconciler.aws.clients import AwsConfig

PROMPT = b"Enter a value: "


def users() -> list[str]:
    return sorted(u["UserName"] for u in boto3.client("iam").list_users()["Users"])


def apply_on_a_terminal(endpoint: str, answer: bytes) -> tuple[int, str]:
    """``reconciler apply`` with stdin and stdout on a pseudo-terminal; type ``answer`` at its prompt."""
    primary, secondary = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "reconciler", "--log-format", "json", "apply", str(REPO / "desired-state")],
        cwd=REPO,
        env=child_env(endpoint),
        stdin=secondary,
        stdout=secondary,
        stderr=subprocess.DEVNULL,
        close_fds=True,
    )
    os.close(secondary)
    seen = b""
    deadline = time.monotonic() + 120
    answered = False
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([primary], [], [], 0.5)
            if ready:
                try:
                    chunk = os.read(primary, 65536)
                except OSError:  # the child closed the terminal
                    break
                if not chunk:
                    break
                seen += chunk
            if not answered and seen.endswith(PROMPT):
                os.write(primary, answer)
                answered = True
            if proc.poll() is not None and not ready:
                break
        assert answered, seen.decode(errors="replace")[-2000:]
        return proc.wait(timeout=60), seen.decode(errors="replace").replace("\r\n", "\n")
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(primary)


def test_yes_on_a_terminal_applies_the_plan_it_showed(aws: AwsConfig) -> None:
    assert aws.endpoint_url is not None
    status, screen = apply_on_a_terminal(aws.endpoint_url, b"yes\n")
    assert status == 0, screen
    before_prompt = screen[: screen.index("Do you want to apply this plan?")]
    assert "Plan: 22 to create, 0 to update, 0 to delete." in before_prompt
    assert "Apply: 22 created" in screen
    assert users() == ["alice", "bob", "carol"]


def test_anything_but_yes_writes_nothing(aws: AwsConfig) -> None:
    assert aws.endpoint_url is not None
    status, screen = apply_on_a_terminal(aws.endpoint_url, b"y\n")
    assert status == 1
    assert "Apply cancelled: nothing was changed." in screen
    assert users() == []


def test_off_a_terminal_apply_needs_auto_approve_and_writes_nothing(aws: AwsConfig, tmp_path: Path) -> None:
    result = cli_child("apply", str(REPO / "desired-state"), endpoint=aws.endpoint_url)
    assert result.returncode == 1
    assert result.stdout.startswith(
        "error: apply needs a confirmation, and there is no terminal to ask on: add --auto-approve"
    )
    assert "reconciler plan --out FILE" in result.stdout and "reconciler apply FILE" in result.stdout
    assert users() == []
    approved = cli_child("apply", "--auto-approve", str(REPO / "desired-state"), endpoint=aws.endpoint_url)
    assert approved.returncode == 0, approved.stdout
    assert users() == ["alice", "bob", "carol"]
