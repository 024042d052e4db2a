"""Fixtures for apply tests: a manifest directory to edit, and plan/apply through the product's API."""

from __future__ import annotations

import io
import re
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from reconciler.aws.clients import AwsConfig, CallRecorder, ClientFactory
from reconciler.aws.operations import is_read_only_operation
from reconciler.engine.differ import context
from reconciler.engine.executor import ApplyOptions, ApplyResult, Executor, check_rails
from reconciler.engine.plan import Plan
from reconciler.engine.preview import preview
from reconciler.manifests import load_directory

REPO = Path(__file__).resolve().parents[2]
REGION = "ap-northeast-1"


@dataclass
class Env:
    """The example manifests copied to a temporary directory, and the emulator to apply them to."""

    aws: AwsConfig
    root: Path

    def edit(self, rel: str, transform: Callable[[str], str]) -> None:
        path = self.root / rel
        path.write_text(transform(path.read_text()))

    def plan(self) -> Plan:
        desired = load_directory(self.root)
        return preview(desired, ClientFactory(self.aws, read_only=True), REGION).plan

    def apply(
        self, *, recorder: CallRecorder | None = None, factory: ClientFactory | None = None, **options: object
    ) -> ApplyResult:
        desired = load_directory(self.root)
        plan = preview(desired, ClientFactory(self.aws, read_only=True), REGION).plan
        opts = ApplyOptions(consistency_timeout=1.0, poll_interval=0.05, **options)  # type: ignore[arg-type]
        check_rails(plan, max_deletes=desired.settings.max_deletes, options=opts)
        writer = factory or ClientFactory(self.aws, read_only=False, recorder=recorder)
        executor = Executor(writer, context(desired, REGION), opts, notebook_updates=desired.settings.notebook_updates)
        return executor.run(plan)


@pytest.fixture
def env(aws: AwsConfig, tmp_path: Path) -> Env:
    shutil.copytree(REPO / "desired-state", tmp_path / "ds")
    return Env(aws, tmp_path / "ds")


# --------------------------------------------------------------------------------------------------
# Slow writes: an AWS round trip takes tens of milliseconds; the emulator answers in one or two.
# --------------------------------------------------------------------------------------------------

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


@pytest.fixture
def slow_writes(emulator: Any) -> Iterator[SlowWrites]:
    """Every write the emulator answers takes 40 ms: the write phase of the example then lasts long enough, on
    any machine, for a kill or a pause to land inside it; and every write is recorded with its access key."""
    slow = SlowWrites(emulator, 0.04)
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
    yield slow
    server.app = app
