"""The preview: read the account (read-only clients only) and compute the plan."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, replace
from typing import Any

import structlog

from reconciler import clock
from reconciler.aws.clients import ClientFactory
from reconciler.aws.live import LiveState
from reconciler.aws.policies import AwsPolicy
from reconciler.engine.differ import build_plan, read_scope
from reconciler.engine.expiry import Effective, annotate, effective
from reconciler.engine.plan import Action, Plan
from reconciler.kinds.read import EarlyRead, read_account
from reconciler.kinds.user import live_users
from reconciler.kinds.user.read import confirm_console_access
from reconciler.manifests.model import DesiredState
from reconciler.rules import Finding, Report, desired_findings, finish
from reconciler.rules.access import access_of
from reconciler.rules.accessdiff import AccessDiff, diff_access
from reconciler.rules.fromdesired import from_desired
from reconciler.rules.planmodels import account_model, after_apply

log = structlog.get_logger(__name__)

#: How the invariant rules' findings on a desired state are had (its AWS managed policies, the region):
#: ``desired_findings`` by default, or a cache of them (``reconciler.engine.targeted.RulesCache``).
Findings = Callable[[DesiredState, Mapping[str, AwsPolicy], str], list[Finding]]


def _desired_findings(desired: DesiredState, aws_policies: Mapping[str, AwsPolicy], region: str) -> list[Finding]:
    return desired_findings(desired, aws_policies, region=region)


@dataclass(frozen=True)
class Preview:
    plan: Plan
    live: LiveState
    seconds: float
    # The invariant rules on the desired state, when asked for (``preview(..., invariants=True)``).
    report: Report | None = None
    # With the invariants: the change in effective access, the account now -> the account after apply.
    access: AccessDiff | None = None
    # The desired state the plan was made from: the manifests as in force when it was made (expired access out).
    current: Effective | None = None


def plan_access(desired: DesiredState, live: LiveState, plan: Plan, region: str) -> AccessDiff:
    """The access diff of a plan: the account's model (built from what the plan read, AWS managed documents
    included, with no further read; what the plan leaves unchanged shared with the manifests' model) against
    the account as apply leaves it.

    A plan that changes nothing changes no access: apply leaves the account as it is (every field the
    models read is one the plan compares), so nothing is computed. Otherwise the manifests' model is built
    again here rather than kept from the invariant rules: held through the rest of the read, it would add
    its size to plan's peak memory.
    """
    if plan.empty:
        return AccessDiff()
    model = from_desired(desired, live.aws_policies, region)
    tag = desired.settings.ownership_tag
    before = account_model(model, live, plan.refs(), ownership=(tag.key, tag.value))
    after = after_apply(model, before, plan.refs(Action.DELETE))
    return diff_access(access_of(before), access_of(after))


def _confirmed(
    desired: DesiredState, live: LiveState, plan: Plan, factory: ClientFactory, *, replacing: frozenset[str]
) -> tuple[LiveState, Plan]:
    """The users ``plan`` changes whose console access is the credential report's answer (up to 4 hours old),
    read again one by one, and the plan made again when one of them differs: what apply verifies before writing
    (each resource the plan touches, read again) must be what the plan read."""
    users = live_users(live)
    touched = {c.name: users[c.name] for c in plan if c.kind == "User" and c.name in users}
    fresh = confirm_console_access(factory, touched)
    if not fresh:
        return live, plan
    live = replace(live, resources={**live.resources, "User": {**live.of("User"), **fresh}})
    if all(user.console_access == touched[name].console_access for name, user in fresh.items()):
        return live, plan
    return live, build_plan(desired, live, replace=replacing)


def _early_live(early: EarlyRead, on_aws_policies: Callable[[Mapping[str, AwsPolicy]], None] | None) -> LiveState:
    """The early read's account, ``on_aws_policies`` called when ``read_account`` hands them over (as it would have
    called it)."""
    if on_aws_policies is not None:
        either: tuple[Future[Any], ...] = (early.aws_policies, early.live)
        wait(either, return_when=FIRST_COMPLETED)
        if early.aws_policies.done():
            on_aws_policies(early.aws_policies.result())
    return early.live.result()


def preview(
    desired: DesiredState,
    factory: ClientFactory,
    region: str,
    *,
    invariants: bool = False,
    replace: frozenset[str] = frozenset(),
    findings: Findings | None = None,
    early: EarlyRead | None = None,
) -> Preview:
    """Read the account and diff it against ``desired``. Sends read operations only.

    With ``invariants``, the security rules are evaluated on ``desired`` too, on a thread of their own
    that starts once the AWS managed policies they need are read and the account-wide answers are parsed
    (``read_account``): the per-resource calls that follow mostly wait on AWS, so the rules cost little wall
    time (``Preview.report``). The access diff is computed
    then, from the models of ``desired`` and of the account as read (``Preview.access``). ``findings``: how
    the rules' findings are had (default: evaluated).

    ``desired`` is the manifests as loaded: the plan is made from them as in force now (``reconciler.clock``),
    without the access whose ``expiresAt`` passed (:mod:`reconciler.engine.expiry`), and says so.

    ``early``: a read of the account started (with ``factory``) while ``desired`` was loading; it is given the
    manifests' scope and used, unless it was started from other Settings (then the account is read anew).
    """
    evaluate = findings or _desired_findings
    started = time.monotonic()
    current = effective(desired, clock.now())
    desired = current.desired
    rules: list[Future[list[Finding]]] = []
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="invariants") as pool:

        def start_rules(aws_policies: Mapping[str, AwsPolicy]) -> None:
            rules.append(pool.submit(evaluate, desired, aws_policies, region))

        on_aws_policies = start_rules if invariants else None
        scope = read_scope(desired, region)
        if early is not None and early.factory is factory and early.resolve(scope):
            live = _early_live(early, on_aws_policies)
        else:
            if early is not None:  # started with other clients: let it go now rather than when its owner closes it
                early.scope.abandon()
            live = read_account(factory, scope, on_aws_policies=on_aws_policies)
        read_seconds = time.monotonic() - started
        plan = build_plan(desired, live, replace=replace)
        live, plan = _confirmed(desired, live, plan, factory, replacing=replace)
        plan = annotate(plan, current)
        report: Report | None = None
        access: AccessDiff | None = None
        access_seconds: dict[str, float] = {}
        if rules:
            users = live_users(live)
            keys = {name: users[name].access_keys or () for name in desired.of("User") if name in users}
            report = finish(desired, rules[0].result(), keys)
            access_started = time.monotonic()
            try:
                access = plan_access(desired, live, plan, region)
            except Exception:  # a report about the plan never stops the plan itself (logged with its traceback)
                log.exception("the access diff could not be computed; the plan shows none")
            access_seconds["access_seconds"] = round(time.monotonic() - access_started, 3)
    elapsed = time.monotonic() - started
    log.info(
        "plan computed",
        read_seconds=round(read_seconds, 3),
        seconds=round(elapsed, 3),
        changes=len(plan.changes),
        **access_seconds,
        account_id=plan.account_id,
        region=region,
    )
    return Preview(plan, live, elapsed, report, access, current)
