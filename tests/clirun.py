"""Running the real command line from tests: in this process (fast) or as a child process (real signals,
terminals and exit statuses). Both talk HTTP to the emulator of the ``aws`` fixture."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
from pathlib import Path

from reconciler.cli import run

REPO = Path(__file__).resolve().parents[1]


def cli_here(*args: str) -> tuple[int, str]:
    """``reconciler ARGS`` in this process: (exit status, stdout). apply's signal handlers are put back after."""
    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    out = io.StringIO()
    try:
        return run(["--log-level", "error", *args], out), out.getvalue()
    finally:
        for sig, handler in saved.items():
            signal.signal(sig, handler)


def child_env(endpoint: str | None, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_DEFAULT_REGION="ap-northeast-1",
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
        AWS_MAX_ATTEMPTS="2",
        NO_PROXY="127.0.0.1",
    )
    if endpoint:
        env["AWS_ENDPOINT_URL"] = endpoint
    env.update(extra)
    return env


def cli_child(*args: str, endpoint: str | None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """``reconciler --log-format json ARGS`` as a child process, stdin not a terminal."""
    return subprocess.run(
        [sys.executable, "-m", "reconciler", "--log-format", "json", *args],
        cwd=REPO,
        env=child_env(endpoint),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
