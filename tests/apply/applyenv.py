"""The apply tests' environment: the example manifests in a temporary directory, planned and applied the way the
product does it (``reconciler.engine.converge``: the plan, its verdict, the check of what it touches, the
executor), the one path of ``reconciler apply`` and of the controller."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from example_edits import without_documents

from reconciler.aws.clients import AwsConfig, CallRecorder, ClientFactory
from reconciler.engine.converge import apply_saved, make_plan
from reconciler.engine.executor import ApplyResult
from reconciler.engine.plan import Plan
from reconciler.engine.preview import preview
from reconciler.kinds import load_directory

REPO = Path(__file__).resolve().parents[2]
REGION = "ap-northeast-1"


def without_profile(name: str) -> Callable[[str], str]:
    """An edit of studio/studio.yaml that removes the StudioUserProfile ``name`` (a profile for a user git no
    longer declares is a manifest error)."""
    return lambda text: without_documents(text, "StudioUserProfile", name)


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
        self,
        *,
        recorder: CallRecorder | None = None,
        factory: ClientFactory | None = None,
        adopt: bool = False,
        allow_deletes: int | None = None,
        max_workers: int = 8,
        consistency_timeout: float = 1.0,
        poll_interval: float = 0.05,
    ) -> ApplyResult:
        """``reconciler apply --auto-approve DIR`` without the lease: plan (with its verdict), then apply exactly
        that plan, after checking that nothing it touches moved. ``factory``: the writer (``recorder`` records the
        writes of the default one).

        Raises what apply refuses with, before anything is written: ``PlanRefused`` (a ``RefusedError``: adoption
        without ``adopt``, a blocker, the deletion rails, the invariants), ``PlanStale``. An empty plan gives an
        empty result."""
        desired = load_directory(self.root)
        reader = ClientFactory(self.aws, read_only=True)
        planned = make_plan(desired, reader, REGION, adopt=adopt, allow_deletes=allow_deletes)
        result = apply_saved(
            planned.saved,
            reader=reader,
            writer=factory or ClientFactory(self.aws, read_only=False, recorder=recorder),
            workers=max_workers,
            consistency_timeout=consistency_timeout,
            poll_interval=poll_interval,
        )
        return result if result is not None else ApplyResult()
