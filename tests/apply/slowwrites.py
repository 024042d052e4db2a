"""An emulator whose writes are slow, the way AWS's are: an AWS round trip takes tens of milliseconds, the
emulator answers in one or two. Every write is recorded with the access key that signed it."""

from __future__ import annotations

import io
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from reconciler.aws.operations import is_read_only_operation

_CREDENTIAL = re.compile(r"Credential=([^/,\s]+)/")


def _write_operation(environ: dict[str, Any]) -> str | None:
    """``service:Operation`` of a request to the emulator that writes to the account (not the lease's
    DynamoDB table), or None for a read."""
    target = str(environ.get("HTTP_X_AMZ_TARGET", ""))
    if target:  # JSON protocols: "SageMaker.CreateNotebookInstance", "DynamoDB_20120810.PutItem"
        service, _, operation = target.rpartition(".")
        if service.startswith("DynamoDB") or is_read_only_operation("sagemaker", operation):
            return None
        return f"sagemaker:{operation}"
    method = environ.get("REQUEST_METHOD")
    if method in ("PUT", "DELETE"):
        return f"s3:{method} {environ.get('PATH_INFO', '')}"
    length = int(environ.get("CONTENT_LENGTH") or 0)
    if method != "POST" or not length:
        return None
    body = environ["wsgi.input"].read(length)
    environ["wsgi.input"] = io.BytesIO(body)
    action = next((p[7:] for p in body.decode(errors="replace").split("&") if p.startswith("Action=")), "")
    return f"iam:{action}" if action and not is_read_only_operation("iam", action) else None


@dataclass
class SlowWrites:
    """The emulator, with every write taking ``latency``; ``writes`` records (access key id, operation, time)."""

    emulator: Any
    latency: float
    writes: list[tuple[str, str, float]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def by(self, key: str, *, since: float = 0.0) -> list[str]:
        with self.lock:
            return [op for k, op, at in self.writes if k == key and at >= since]


@contextmanager
def slowed(emulator: Any, latency: float) -> Iterator[SlowWrites]:
    """For the block, every write ``emulator`` answers takes ``latency`` seconds, and is recorded."""
    slow = SlowWrites(emulator, latency)
    server = emulator._server
    app = server.app

    def middleware(environ: dict[str, Any], start_response: Any) -> Any:
        operation = _write_operation(environ)
        if operation is not None:
            match = _CREDENTIAL.search(str(environ.get("HTTP_AUTHORIZATION", "")))
            with slow.lock:
                slow.writes.append((match.group(1) if match else "", operation, time.monotonic()))
            time.sleep(slow.latency)
        return app(environ, start_response)

    server.app = middleware
    try:
        yield slow
    finally:
        server.app = app
