"""The apply tests' environment: the example manifests in a temporary directory, planned and applied through
the product's API (the preview, the rails, the executor)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from reconciler.aws.clients import AwsConfig, CallRecorder, ClientFactory
from reconciler.engine.differ import context
from reconciler.engine.executor import ApplyOptions, ApplyResult, Executor, check_rails
from reconciler.engine.plan import Plan
from reconciler.engine.preview import preview
from reconciler.kinds import load_directory

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
