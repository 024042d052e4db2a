"""Logging, configured once at the entry point: structlog, JSON lines off a terminal."""

from __future__ import annotations

import logging
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog

_SECRET_KEYS = ("secret", "password", "token", "credential", "authorization")


def redact_secrets(_: Any, __: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """Processor: never let a credential-looking field reach a log line."""
    for key in list(event_dict):
        if any(word in key.lower() for word in _SECRET_KEYS):
            event_dict[key] = "[redacted]"
    return event_dict


def configure_logging(*, fmt: str = "auto", level: str = "info") -> None:
    """Configure structlog and stdlib logging for the process. Call once, from the CLI."""
    json_lines = fmt == "json" or (fmt == "auto" and not sys.stderr.isatty())
    renderer: Any = (structlog.processors.JSONRenderer(sort_keys=True) if json_lines
                     else structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty()))
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            redact_secrets,
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelNamesMapping()[level.upper()]),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=False,
    )
    for noisy in ("botocore", "boto3", "urllib3", "werkzeug"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
