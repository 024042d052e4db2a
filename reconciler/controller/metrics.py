"""Prometheus metrics and health endpoints for the long-running controller.

The metrics live in their own registry (nothing global), served with /healthz (liveness: the loop
has completed an iteration recently) and /readyz (readiness: at least one reconcile finished).
"""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Info
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.duration = Histogram("reconciler_reconcile_duration_seconds", "Duration of one reconcile",
                                  ["mode"], registry=r, buckets=(0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600))
        self.changes = Counter("reconciler_changes_total", "Changes executed, by kind, action and status",
                               ["kind", "action", "status"], registry=r)
        self.drift = Gauge("reconciler_drift_resources", "Resources that differ from git at the last plan",
                           ["kind"], registry=r)
        self.findings = Gauge("reconciler_invariant_findings", "Invariant findings at the last plan",
                              ["severity"], registry=r)
        self.failures = Counter("reconciler_failures_total", "Reconciles that failed, by reason", ["reason"],
                                registry=r)
        self.last_success = Gauge("reconciler_last_success_timestamp_seconds",
                                  "Unix time of the last successful reconcile", registry=r)
        self.commit = Info("reconciler_last_applied_commit", "The last commit applied", registry=r)
        self.heartbeat = time.time()
        self.ready = False

    def beat(self) -> None:
        self.heartbeat = time.time()

    def render(self) -> bytes:
        return bytes(generate_latest(self.registry))


class HealthServer:
    """Serves /metrics, /healthz and /readyz on a port, in a daemon thread."""

    def __init__(self, metrics: Metrics, port: int, *, host: str = "0.0.0.0",  # noqa: S104 - a container port
                 stale_after: float = 600.0) -> None:
        metrics_ref = metrics

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path == "/metrics":
                    self._send(200, metrics_ref.render(), CONTENT_TYPE_LATEST)
                elif self.path == "/healthz":
                    fresh = time.time() - metrics_ref.heartbeat < stale_after
                    self._send(200 if fresh else 503, b"ok\n" if fresh else b"stale\n", "text/plain")
                elif self.path == "/readyz":
                    ready = metrics_ref.ready
                    self._send(200 if ready else 503, b"ready\n" if ready else b"not ready\n", "text/plain")
                else:
                    self._send(404, b"not found\n", "text/plain")

            def _send(self, code: int, body: bytes, content_type: str) -> None:
                self.send_response(code)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_: Any) -> None:  # quiet: the controller logs what matters
                return

        self.server = ThreadingHTTPServer((host, port), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, name="metrics", daemon=True)

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    def start(self) -> HealthServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
