"""Credentials in git URLs never reach an error message, a log line or the CLI's output."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import structlog

from reconciler.aws.clients import AwsConfig
from reconciler.controller.gitsource import GitError, GitSource, redact_url
from reconciler.logs import redact_url_secrets, redact_urls

# Unreachable URLs (port 9 refuses at once), each with the secret parts that must never be shown.
URLS: list[tuple[str, list[str]]] = [
    ("https://user:s3cr%2Ft@127.0.0.1:9/repo.git", ["s3cr%2Ft", "s3cr/t", "s3cr"]),
    ("https://oauth2:glpat-Tok3nTok3n@127.0.0.1:9/repo.git", ["glpat-Tok3nTok3n", "Tok3n"]),
    ("https://ghp_0nlyT0kenValue@127.0.0.1:9/repo.git", ["ghp_0nlyT0kenValue", "T0ken"]),
    ("https://u:p@ss/w@rd@127.0.0.1:9/repo.git", ["p@ss", "w@rd", "ss/w", "p%40ss", "w%40rd"]),
    ("https://u:p%40ss%2Fw%40rd@127.0.0.1:9/repo.git", ["p%40ss", "p@ss", "w@rd", "w%40rd"]),
    ("https://127.0.0.1:9/repo.git?access_token=AcCeSsT0k", ["AcCeSsT0k"]),
    ("https://127.0.0.1:9/repo.git?ref=main&private_token=PrIvT0k#frag", ["PrIvT0k"]),
    ("https://127.0.0.1:9/repo.git?X-Amz-Signature=S1gNaTuRe&X-Amz-Credential=CrEd1", ["S1gNaTuRe", "CrEd1"]),
]


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://user:pass@host/x", "https://***@host/x"),
        ("https://token@host/x", "https://***@host/x"),
        ("https://u:p@ss/w@rd@host/repo.git", "https://***@host/repo.git"),
        ("https://u:p%40ss@host/x", "https://***@host/x"),
        ("https://u:pa?ss@host/x", "https://***@host/x"),
        ("https://host/x?access_token=abc&ref=main", "https://host/x?access_token=***&ref=main"),
        ("https://host/x?token=abc@def", "https://host/x?token=***"),
        ("https://host/x?ref=main#private_token=abc", "https://host/x?ref=main#private_token=***"),
        ("https://host/x?api_key=a;sig=b;mode=c", "https://host/x?api_key=***;sig=***;mode=c"),
        ("https://host/x?Pass%77ord=a", "https://host/x?Pass%77ord=***"),
        ("https://git.example/org/repo.git", "https://git.example/org/repo.git"),
        ("git@github.com:org/repo.git", "git@github.com:org/repo.git"),
        ("/srv/git/repo", "/srv/git/repo"),
    ],
)
def test_redact_url(url: str, expected: str) -> None:
    assert redact_url(url) == expected


def test_urls_inside_text_are_redacted_and_other_text_is_left_alone() -> None:
    text = (
        "fatal: unable to access 'https://u:pw@h/x.git/': 403; retry "
        '"https://h/y?token=t0k" or <https://a:b@c/d>, mail bob@example.com?'
    )
    assert redact_urls(text) == (
        "fatal: unable to access 'https://***@h/x.git/': 403; retry "
        '"https://h/y?token=***" or <https://***@c/d>, mail bob@example.com?'
    )
    plain = "plan: 2 to create (user@example.com asked?)"
    assert redact_urls(plain) is plain


def test_the_processor_redacts_every_string_of_the_event_and_the_rendered_exception() -> None:
    try:
        raise RuntimeError("cannot fetch https://bob:Hunter22@git.example/x.git")
    except RuntimeError as exc:
        error = exc
        event: dict[str, Any] = {
            "event": "fetching https://bob:Hunter22@git.example/x.git",
            "nested": {"urls": ["https://h/x?access_token=Hunter22", ("https://t0k:Hunter22@h/",)], "n": 3},
            "error": error,
            "exc_info": True,
            "count": 1,
        }
        event = structlog.processors.format_exc_info(None, "error", event)
    event = dict(redact_url_secrets(None, "error", event))
    assert "Hunter22" not in repr(event)
    assert "RuntimeError: cannot fetch https://***@git.example/x.git" in event["exception"]
    assert event["nested"]["n"] == 3 and event["count"] == 1 and isinstance(event["nested"]["urls"][1], tuple)
    untouched = {"event": "planned", "resources": ["create User/alice"], "summary": {"create": 1}}
    same = dict(untouched)
    assert redact_url_secrets(None, "info", same) == untouched and same["resources"] is untouched["resources"]


LOG_SCRIPT = """
import structlog, sys
from reconciler.logs import configure_logging
configure_logging(fmt=sys.argv[1])
log = structlog.get_logger("t")
log.info("cloning https://bob:Hunter22@git.example/x.git", source="https://h/x?access_token=Hunter22",
         urls=["https://tok:Hunter22@h/"])
try:
    raise ValueError("git failed for https://bob:Hunter22@git.example/x.git")
except ValueError:
    log.exception("fetch failed")
"""


@pytest.mark.parametrize("fmt", ["json", "console"])
def test_rendered_log_lines_never_hold_url_credentials(fmt: str) -> None:
    result = subprocess.run(
        [sys.executable, "-c", LOG_SCRIPT, fmt], capture_output=True, text=True, timeout=60, check=True
    )
    assert "Hunter22" not in result.stderr + result.stdout
    assert "https://***@git.example/x.git" in result.stderr and "ValueError" in result.stderr
    if fmt == "json":
        first = json.loads(result.stderr.splitlines()[0])
        assert first["event"].startswith("cloning https://***@git.example/x.git")


@pytest.mark.parametrize(("url", "secrets"), URLS)
def test_git_errors_never_hold_url_credentials(url: str, secrets: list[str], tmp_path: Path) -> None:
    source = GitSource(url, cache_dir=tmp_path / "cache", timeout=30)
    with pytest.raises(GitError) as failed:
        source.fetch()
    message = str(failed.value)
    assert "127.0.0.1" in message  # still says where
    for secret in secrets:
        assert secret not in message, message
    assert failed.value.retryable
    config = "\n".join(p.read_text() for p in (tmp_path / "cache").rglob("config"))
    for secret in secrets:
        assert secret not in config  # the URL is given to git through its environment, never written


def test_git_is_given_the_host_the_url_means(tmp_path: Path) -> None:
    """A password with an unencoded '/' or '@': git connects to the host after the last '@'."""
    source = GitSource("https://u:p@ss/w@rd@127.0.0.1:9/repo.git", cache_dir=tmp_path / "cache", timeout=30)
    with pytest.raises(GitError, match=r"127\.0\.0\.1 port 9") as failed:
        source.fetch()
    assert "resolve host" not in str(failed.value)


@pytest.mark.parametrize(("url", "secrets"), URLS[:1] + URLS[3:4] + URLS[5:6])
def test_the_cli_never_prints_url_credentials(url: str, secrets: list[str], aws: AwsConfig, tmp_path: Path) -> None:
    for fmt in ("json", "console"):
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "reconciler",
                "--log-format",
                fmt,
                "run",
                "--source",
                url,
                "--once",
                "--cache-dir",
                str(tmp_path / "cache"),
                "--endpoint-url",
                str(aws.endpoint_url),
            ],
            env=dict(os.environ),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        output = result.stdout + result.stderr
        assert result.returncode == 1, output
        assert "127.0.0.1" in output and "reconcile failed" in output
        for secret in secrets:
            assert secret not in output, output
