"""Logging, configured once at the entry point: structlog, JSON lines off a terminal.

Two processors keep credentials out of every line: ``redact_secrets`` blanks fields whose name looks
like a credential, and ``redact_url_secrets`` removes the credentials of any URL inside any string of
the event (the message, nested lists and dicts, the rendered exception): the userinfo of
``https://user:token@host/x`` and secret-looking query parameters such as ``?access_token=...``.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import MutableMapping
from typing import Any
from urllib.parse import quote, unquote

_SECRET_KEYS = ("secret", "password", "token", "credential", "authorization")

REDACTED = "***"

# A URL inside free text: a scheme, then everything up to white space, a quote or an angle bracket
# (git quotes URLs in its messages: fatal: unable to access 'https://...').
_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*://[^\s'\"<>`]*")
# One key=value of a query string or fragment; the value ends at the next separator.
_PARAM = re.compile(r"([?&#;])([^=&#;?]*)=([^&#;]*)")
#: A query parameter is secret when its name (lower case, URL-decoded) contains one of these.
SECRET_PARAM_WORDS = ("token", "secret", "pass", "pwd", "key", "sig", "auth", "cred", "session")


def split_userinfo(rest: str) -> tuple[str | None, str]:
    """``user:pass@host/x`` (what follows ``scheme://``) -> (``user:pass``, ``host/x``).

    The userinfo ends at the LAST ``@`` before the path or the query, so that a password with an
    unencoded ``/`` or ``@`` (``u:p@ss/w@rd@host/repo.git``) is taken whole rather than cut where a
    strict parser would cut it. ``None`` when there is no userinfo.
    """
    query = len(rest)
    for mark in ("?", "#"):
        found = rest.find(mark)
        if found >= 0:
            query = min(query, found)
    slash = rest.find("/")
    end = max(query, slash if slash >= 0 else len(rest))
    at = rest.rfind("@", 0, end)
    if at < 0:
        return None, rest
    return rest[:at], rest[at + 1 :]


def secret_param(name: str) -> bool:
    """Whether a query parameter of this name carries a credential."""
    lowered = unquote(name).lower()
    return any(word in lowered for word in SECRET_PARAM_WORDS)


def url_secrets(url: str) -> list[str]:
    """The credential strings of one URL (userinfo, password, secret query values), as written,
    percent-encoded and decoded, longest first: to remove them from text that quotes them otherwise
    (a tool's message may cut the URL elsewhere than ``redact_urls`` does)."""
    found: set[str] = set()
    scheme, sep, rest = url.partition("://")
    if not sep:
        return []
    userinfo, after = split_userinfo(rest)
    if userinfo and (":" in userinfo or scheme.lower() in ("http", "https")):  # not the user of ssh://git@
        for part in (userinfo, *userinfo.split(":", 1)[1:]):
            found.update({part, unquote(part), quote(part, safe="")})
    for match in _PARAM.finditer(after):
        if secret_param(match.group(2)) and match.group(3):
            found.update({match.group(3), unquote(match.group(3))})
    return sorted((s for s in found if len(s) >= 3), key=len, reverse=True)


def _redact_params(text: str) -> str:
    def one(match: re.Match[str]) -> str:
        sep, name, _value = match.groups()
        return f"{sep}{name}={REDACTED}" if secret_param(name) else match.group(0)

    return _PARAM.sub(one, text)


def _redact_one_url(match: re.Match[str]) -> str:
    url = match.group(0)
    scheme, _, rest = url.partition("://")
    userinfo, after = split_userinfo(rest)
    if "?" in after or "#" in after:
        after = _redact_params(after)
    if userinfo is None:
        return f"{scheme}://{after}"
    return f"{scheme}://{REDACTED}@{after}"


def redact_urls(text: str) -> str:
    """Every URL in ``text`` without its credentials.

    ``https://user:pass@host/x`` and ``https://token@host/x`` -> ``https://***@host/x``;
    ``https://host/x?access_token=abc&ref=main`` -> ``https://host/x?access_token=***&ref=main``.
    Text without ``://`` followed somewhere by ``@``, ``?`` or ``#`` is returned as it is, at once.
    """
    if "://" not in text or ("@" not in text and "?" not in text and "#" not in text):
        return text
    return _URL.sub(_redact_one_url, text)


_MAX_DEPTH = 8


def _redact_value(value: Any, depth: int = 0) -> Any:
    if isinstance(value, str):
        return redact_urls(value)
    if depth >= _MAX_DEPTH:
        return value
    if isinstance(value, dict):
        items = {k: _redact_value(v, depth + 1) for k, v in value.items()}
        return items if any(items[k] is not value[k] for k in value) else value
    if isinstance(value, list | tuple):
        redacted = [_redact_value(v, depth + 1) for v in value]
        if all(new is old for new, old in zip(redacted, value, strict=True)):
            return value
        return redacted if isinstance(value, list) else tuple(redacted)
    if isinstance(value, BaseException):
        text = str(value)
        clean = redact_urls(text)
        return clean if clean != text else value
    return value


def redact_url_secrets(_: Any, __: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """Processor: remove URL credentials from every string value of the event, nested ones included."""
    for key, value in event_dict.items():
        clean = _redact_value(value)
        if clean is not value:
            event_dict[key] = clean
    return event_dict


def redact_secrets(_: Any, __: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """Processor: never let a credential-looking field reach a log line."""
    for key in list(event_dict):
        if any(word in key.lower() for word in _SECRET_KEYS):
            event_dict[key] = "[redacted]"
    return event_dict


class _CurrentStderr:
    """Standard error as it is when a line is written, not when logging was configured: whoever replaces
    ``sys.stderr`` later (a test's capture, an embedding program) gets the lines, and a stream closed since is
    never written to."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


class _Logger:
    """A structlog logger of ``name`` that imports structlog when it first logs, not when it is made: a module
    that logs only on some paths (``--version`` and ``validate`` log nothing) does not pay the import."""

    __slots__ = ("_name",)

    def __init__(self, name: str) -> None:
        self._name = name

    def __getattr__(self, method: str) -> Any:
        import structlog  # noqa: PLC0415 - imported on first use (start-up time)

        return getattr(structlog.get_logger(self._name), method)


def get_logger(name: str) -> Any:
    """``structlog.get_logger(name)``, structlog imported at the first line logged."""
    return _Logger(name)


def configure_logging(*, fmt: str = "auto", level: str = "info") -> None:
    """Configure structlog and stdlib logging for the process. Call once, from the CLI."""
    import structlog  # noqa: PLC0415 - imported only by the commands that log (start-up time)

    json_lines = fmt == "json" or (fmt == "auto" and not sys.stderr.isatty())
    renderer: Any = (
        structlog.processors.JSONRenderer(sort_keys=True)
        if json_lines
        else structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            redact_secrets,
            structlog.processors.format_exc_info,
            redact_url_secrets,  # after format_exc_info: the rendered exception is a string by now
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelNamesMapping()[level.upper()]),
        logger_factory=structlog.PrintLoggerFactory(file=_CurrentStderr()),  # type: ignore[arg-type]
        cache_logger_on_first_use=False,
    )
    for noisy in ("botocore", "boto3", "urllib3", "werkzeug"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
