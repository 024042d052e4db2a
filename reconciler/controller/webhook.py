"""The git webhook: a push tells the controller to fetch and reconcile now, instead of at the next interval.

GitHub's format (Gitea, Forgejo and GitLab-with-a-proxy send the same header): ``POST /hooks/git``
with ``X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the raw body, keyed with the shared secret>``.

The delivery only says "something was pushed": nothing in its body is used, so nothing in it needs
to be trusted or parsed. The controller then fetches the branch from git as always, and applies what
git says. A replayed delivery therefore costs one more fetch, never a different result. Deliveries
that arrive while a reconcile runs coalesce into one more reconcile (the trigger sets an Event).

The body and the signature are never logged; only the event name and the delivery id are.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import structlog

from reconciler.errors import ReconcilerError

__all__ = [
    "DELIVERY_HEADER",
    "EVENT_HEADER",
    "MAX_BODY",
    "SIGNATURE_HEADER",
    "WEBHOOK_PATH",
    "Answer",
    "WebhookConfig",
    "WebhookConfigError",
    "receive",
    "sign",
]

log = structlog.get_logger(__name__)

WEBHOOK_PATH: Final = "/hooks/git"
SIGNATURE_HEADER: Final = "X-Hub-Signature-256"
EVENT_HEADER: Final = "X-GitHub-Event"
DELIVERY_HEADER: Final = "X-GitHub-Delivery"
#: Larger bodies are refused (413) unread. GitHub caps payloads at 25 MB, but a push of a few commits
#: is a few kB; the body is not used anyway, only authenticated.
MAX_BODY: Final = 1024 * 1024
_PREFIX: Final = "sha256="


class WebhookConfigError(ReconcilerError):
    """The webhook secret cannot be read, or is empty. The message never holds the secret."""


@dataclass(frozen=True)
class WebhookConfig:
    """The shared secret (never in ``repr``) and the largest body accepted."""

    secret: bytes = field(repr=False)
    max_body: int = MAX_BODY

    def __post_init__(self) -> None:
        if not self.secret:
            raise WebhookConfigError("the webhook secret is empty")
        if self.max_body < 1:
            raise ValueError(f"max_body must be positive, not {self.max_body}")

    @classmethod
    def from_file(cls, path: str | Path, *, max_body: int = MAX_BODY) -> WebhookConfig:
        """The secret is the file's content, without its trailing newline (e.g. a mounted Secret)."""
        try:
            text = Path(path).read_bytes()
        except OSError as exc:
            raise WebhookConfigError(f"cannot read the webhook secret file {path}: {exc.strerror}") from None
        secret = text.rstrip(b"\r\n")
        if not secret:
            raise WebhookConfigError(f"the webhook secret file {path} is empty")
        return cls(secret, max_body)

    @classmethod
    def from_env(
        cls,
        name: str,
        *,
        max_body: int = MAX_BODY,
        environ: Mapping[str, str] | None = None,
    ) -> WebhookConfig:
        """The secret is the value of the environment variable ``name``, without a trailing newline."""
        value = (os.environ if environ is None else environ).get(name)
        if value is None:
            raise WebhookConfigError(f"the environment variable {name} (the webhook secret) is not set")
        secret = value.rstrip("\r\n").encode()
        if not secret:
            raise WebhookConfigError(f"the environment variable {name} (the webhook secret) is empty")
        return cls(secret, max_body)

    def verify(self, body: bytes, signature: str | None) -> bool:
        """Whether ``signature`` (the header's value) is ``sha256=`` and the body's HMAC, in constant time."""
        if not signature:
            return False
        # Headers arrive decoded as latin-1: encoding back cannot fail, whatever the sender put there.
        return hmac.compare_digest(sign(self.secret, body).encode(), signature.strip().encode("latin-1"))


def sign(secret: bytes, body: bytes) -> str:
    """The ``X-Hub-Signature-256`` value for ``body``: ``sha256=<hex>``."""
    return _PREFIX + hmac.new(secret, body, hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class Answer:
    """What to answer a delivery: HTTP status, a one-line body, and the result (a metric label)."""

    status: int
    text: str
    result: str


def receive(
    config: WebhookConfig,
    *,
    body: bytes,
    signature: str | None,
    event: str | None,
    delivery: str | None,
    trigger: Callable[[], None],
) -> Answer:
    """Authenticate one delivery; a valid one other than ``ping`` calls ``trigger`` (202)."""
    delivery = _short(delivery)
    if not config.verify(body, signature):
        log.warning("webhook delivery refused: signature missing or wrong", delivery=delivery, signed=bool(signature))
        return Answer(401, "unauthorized: missing or wrong X-Hub-Signature-256", "unauthorized")
    if event == "ping":
        log.info("webhook ping", delivery=delivery)
        return Answer(200, "pong", "ping")
    trigger()
    log.info("webhook: fetch and reconcile requested", hook_event=_short(event), delivery=delivery)
    return Answer(202, "accepted: fetch and reconcile requested", "accepted")


def _short(value: str | None) -> str | None:
    """A header value fit for a log line: printable, bounded."""
    if value is None:
        return None
    return "".join(c for c in value if c.isprintable())[:80]
