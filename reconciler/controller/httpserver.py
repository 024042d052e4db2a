"""The controller's HTTP port: ``/metrics``, ``/healthz``, ``/readyz`` and, when configured, ``POST /hooks/git``.

One small threaded server (standard library), in a daemon thread. Every answer but ``/metrics`` is one
line of text. A request must arrive within ``request_timeout`` seconds, so a slow client cannot hold a
thread; a webhook body larger than its bound is refused (413) unread.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from prometheus_client.exposition import CONTENT_TYPE_LATEST

from reconciler.controller.webhook import (
    DELIVERY_HEADER,
    EVENT_HEADER,
    SIGNATURE_HEADER,
    WEBHOOK_PATH,
    WebhookConfig,
    receive,
)

if TYPE_CHECKING:
    from reconciler.controller.metrics import Metrics

__all__ = ["HealthServer"]

_TEXT = "text/plain; charset=utf-8"


class HealthServer:
    """Serves the controller's endpoints on ``host``:``port`` (0: any free port, see :attr:`port`).

    With ``webhook`` (and then ``trigger``, called for each authenticated delivery, e.g. an Event's
    ``set``), ``POST /hooks/git`` exists; without, it is a 404 like any unknown path.
    """

    def __init__(
        self,
        metrics: Metrics,
        port: int,
        *,
        host: str = "0.0.0.0",  # noqa: S104 - a container port
        webhook: WebhookConfig | None = None,
        trigger: Callable[[], None] | None = None,
        request_timeout: float = 10.0,
    ) -> None:
        if webhook is not None and trigger is None:
            raise ValueError("a webhook needs a trigger")
        handler = _handler(metrics, webhook, trigger, request_timeout)
        self.server = ThreadingHTTPServer((host, port), handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, name="metrics", daemon=True)

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    def start(self) -> HealthServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        if self.thread.is_alive():
            self.server.shutdown()
        self.server.server_close()


def _handler(
    metrics: Metrics, webhook: WebhookConfig | None, trigger: Callable[[], None] | None, request_timeout: float
) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        timeout = request_timeout  # the socket's timeout: a stalled client gets dropped
        server_version = "reconciler"
        sys_version = ""

        def do_GET(self) -> None:
            path = urlsplit(self.path).path
            if path == "/metrics":
                self._send(200, metrics.render(), CONTENT_TYPE_LATEST)
            elif path == "/healthz":
                self._verdict(*metrics.liveness())
            elif path == "/readyz":
                self._verdict(*metrics.readiness())
            elif path == WEBHOOK_PATH and webhook is not None:
                self._line(405, "method not allowed: POST only", extra={"Allow": "POST"})
            else:
                self._line(404, "not found")

        def do_POST(self) -> None:
            if urlsplit(self.path).path != WEBHOOK_PATH or webhook is None or trigger is None:
                self.close_connection = True  # its body, if any, is not read
                self._line(404, "not found")
                return
            length = self._content_length(webhook.max_body)
            if length is None:
                return
            body = self.rfile.read(length)
            if len(body) != length:
                self._refuse(400, "bad request: body shorter than Content-Length", "bad_request")
                return
            answer = receive(
                webhook,
                body=body,
                signature=self.headers.get(SIGNATURE_HEADER),
                event=self.headers.get(EVENT_HEADER),
                delivery=self.headers.get(DELIVERY_HEADER),
                trigger=trigger,
            )
            metrics.webhook_requests.labels(answer.result).inc()
            self._line(answer.status, answer.text)

        def _content_length(self, limit: int) -> int | None:
            """The body's length, or None after answering 400/411/413 (the body is then not read)."""
            raw = self.headers.get("Content-Length")
            if self.headers.get("Transfer-Encoding") or raw is None:
                self._refuse(411, "length required", "bad_request")
                return None
            if not raw.strip().isdigit():
                self._refuse(400, "bad request: Content-Length", "bad_request")
                return None
            length = int(raw)
            if length > limit:
                self._refuse(413, f"payload too large: at most {limit} bytes", "too_large")
                return None
            return length

        def _refuse(self, code: int, line: str, result: str) -> None:
            """Answer an error and close the connection (whatever body follows is not read)."""
            metrics.webhook_requests.labels(result).inc()
            self.close_connection = True
            self._line(code, line)

        def _verdict(self, good: bool, line: str) -> None:
            self._line(200 if good else 503, line)

        def _line(self, code: int, line: str, *, extra: dict[str, str] | None = None) -> None:
            self._send(code, (line + "\n").encode(), _TEXT, extra)

        def _send(self, code: int, body: bytes, content_type: str, extra: dict[str, str] | None = None) -> None:
            self.send_response(code)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            for name, value in (extra or {}).items():
                self.send_header(name, value)
            if self.close_connection:
                self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_: Any) -> None:  # quiet: the controller logs what matters, never a body
            return

    return Handler
