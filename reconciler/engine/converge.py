"""One convergence, shared by ``apply`` and the controller.

plan (read-only) -> gate (invariants) -> nothing to do? stop -> take the lease -> plan again under
the lease (the account may have changed while waiting) -> rails -> execute -> release.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass

from reconciler.aws.clients import ClientFactory
from reconciler.engine.differ import context
from reconciler.engine.executor import ApplyOptions, ApplyResult, Executor, Outcome, check_rails
from reconciler.engine.plan import Action, Plan
from reconciler.engine.preview import Preview, preview
from reconciler.manifests.model import DesiredState

# A gate looks at the desired state and the preview and raises to refuse (before any write).
Gate = Callable[[DesiredState, Preview], None]


@dataclass(frozen=True)
class Converged:
    plan: Plan
    result: ApplyResult | None  # None: nothing was executed (the plan was empty)


def owned_count(plan: Plan) -> int:
    """Resources the reconciler owns in the account, as the plan saw them."""
    return sum(plan.unchanged.values()) + sum(plan.count(a) for a in (Action.UPDATE, Action.DELETE, Action.RELEASE))


def converge(desired: DesiredState, *, reader: ClientFactory, writer: ClientFactory, region: str,
             options: ApplyOptions, gate: Gate | None = None,
             lease: Callable[[], AbstractContextManager[object]] | None = None,
             on_plan: Callable[[Plan], None] | None = None, on_outcome: Callable[[Outcome], None] | None = None,
             log_changes: bool = True, stop: Callable[[], bool] | None = None) -> Converged:
    first = preview(desired, reader, region, invariants=gate is not None)
    if gate is not None:
        gate(desired, first)
    if first.plan.empty:
        if on_plan is not None:
            on_plan(first.plan)
        return Converged(first.plan, None)
    with (lease() if lease is not None else nullcontext()):
        current = preview(desired, reader, region, invariants=gate is not None) if lease is not None else first
        if gate is not None and current is not first:
            gate(desired, current)
        plan = current.plan
        if on_plan is not None:
            on_plan(plan)
        if plan.empty:
            return Converged(plan, None)
        check_rails(plan, max_deletes=desired.settings.max_deletes, owned=owned_count(plan), options=options)
        executor = Executor(writer, context(desired, region), options,
                            notebook_updates=desired.settings.notebook_updates, on_outcome=on_outcome,
                            log_changes=log_changes, stop=stop)
        return Converged(plan, executor.run(plan))
