"""Logging: JSON lines off a terminal, and credentials never reach a log line."""

from __future__ import annotations

import io
import json
import subprocess
import sys

import pytest
import structlog

from reconciler.logs import configure_logging

SCRIPT = """
import structlog
from reconciler.logs import configure_logging
configure_logging(fmt="auto")
log = structlog.get_logger("t")
log.info("connecting", aws_secret_access_key="AKIA-SECRET-1", password="hunter2", session_token="tok-3",
         Authorization="Bearer abc", kind="Role", name="r", action="create")
"""


def test_off_a_terminal_logs_are_json_lines_without_credentials() -> None:
    result = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=60, check=True)
    (line,) = result.stderr.splitlines()
    event = json.loads(line)
    assert event["event"] == "connecting" and event["kind"] == "Role" and event["action"] == "create"
    for secret in ("AKIA-SECRET-1", "hunter2", "tok-3", "Bearer abc"):
        assert secret not in result.stderr
    assert event["password"] == "[redacted]" and event["aws_secret_access_key"] == "[redacted]"
    assert result.stdout == ""


def test_lines_go_to_standard_error_as_it_is_when_written(monkeypatch: pytest.MonkeyPatch) -> None:
    """Configured while one stream is standard error, logging writes to the one that replaced it since (the
    first may be closed by then: a log line must never fail because of it)."""
    first = io.StringIO()
    monkeypatch.setattr(sys, "stderr", first)
    configure_logging(fmt="json", level="info")
    first.close()
    second = io.StringIO()
    monkeypatch.setattr(sys, "stderr", second)
    structlog.get_logger("t").info("after the swap", n=1)
    assert json.loads(second.getvalue())["event"] == "after the swap"
