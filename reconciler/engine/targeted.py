"""A targeted plan: read, compare and judge only the resources a commit changed, with the verdict a plan of the whole
account would give for them.

The controller (``reconciler.controller.incremental``) makes one when a new commit arrives between two full reads
of the account: the account was converged to the previous commit (the last full read checked it, and every
change since went through the controller), so only the resources whose desired view differs between the two
commits can need a change. For those:

- the read is targeted (``ReadScope.only``): only those resources, by name where the kind can
  (``read_named``: ``GetRole``, ``ListRolePolicies``, ... instead of the account-wide IAM answer);
- the diff compares only them (``build_plan(only=...)``), in the context of the whole desired state;
- the invariant rules still run on the whole desired state, with the AWS managed policies and the users' access
  keys the last full read found (:class:`Known`), updated with what this read found: the report is a full
  plan's;
- the deletion rails count what the reconciler owns in the whole account (``Known.owned``, outside the targeted
  resources, plus what this plan found of them), not the part this plan compared: ``judge(owned=...)``.

No access diff is computed (the controller does not show one; a targeted read has not seen the principals
outside the change, which the access diff needs).
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace

import structlog

from reconciler import clock
from reconciler.aws.clients import ClientFactory
from reconciler.aws.live import LiveState
from reconciler.aws.policies import AwsPolicy
from reconciler.aws.scope import ReadScope
from reconciler.engine.converge import Planned, planned
from reconciler.engine.differ import aws_policy_references, build_plan, context, read_hints
from reconciler.engine.plan import Action, Plan
from reconciler.engine.preview import Findings, Preview
from reconciler.engine.verdict import judge, owned_count
from reconciler.kinds import REGISTRY
from reconciler.kinds.read import read_account
from reconciler.kinds.user import live_users
from reconciler.manifests.model import DesiredState
from reconciler.rules import Finding, desired_findings, finish

__all__ = ["Known", "RulesCache", "known_after", "known_from", "targeted_plan"]

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class Known:
    """What a targeted plan takes from the last full read of the account (kept up to date by every apply since)
    instead of reading the whole account again."""

    # ``Kind/name`` of every resource the reconciler owns in the account, as a full plan counts them
    # (``owned_count``: the owned resources git names, and the owned ones it no longer names when pruning).
    owned: frozenset[str] = frozenset()
    # The AWS managed policies the manifests refer to, by ARN (their documents feed the invariants).
    aws_policies: Mapping[str, AwsPolicy] = field(default_factory=dict)
    # Each existing user's access keys (KEY001), by name.
    access_keys: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


def known_from(plan: Plan, live: LiveState, desired: DesiredState, region: str, *, applied: bool) -> Known:
    """What a plan of the whole account (``plan``, from ``live``) tells a later targeted plan: as the account was
    read, or, ``applied``, as it is once the plan was applied without a failure."""
    return Known(
        owned=frozenset(_owned_refs(plan, live, desired, region, applied=applied)),
        aws_policies=dict(live.aws_policies),
        access_keys=_keys(live, plan, {}),
    )


def known_after(
    known: Known,
    only: Mapping[str, frozenset[str]],
    *,
    plan: Plan,
    live: LiveState,
    desired: DesiredState,
    region: str,
) -> Known:
    """``known`` once the targeted plan ``plan`` (of the resources ``only`` names, read into ``live``) was applied
    without a failure: those resources are as ``desired`` says, owned, with their access keys as read."""
    targeted = {f"{kind}/{name}" for kind, names in only.items() for name in names}
    owned = (known.owned - targeted) | _owned_refs(plan, live, desired, region, applied=True)
    kept = {n: k for n, k in known.access_keys.items() if n not in only.get("User", frozenset())}
    return Known(
        owned=frozenset(owned),
        aws_policies={**known.aws_policies, **live.aws_policies},
        access_keys=_keys(live, plan, kept),
    )


def _keys(live: LiveState, plan: Plan, kept: Mapping[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
    """Each user's access keys: ``kept``, and those ``live`` read, but for the users ``plan`` deletes."""
    keys = {**kept, **{name: user.access_keys or () for name, user in live_users(live).items()}}
    deleted = plan.refs(Action.DELETE)
    return {name: k for name, k in keys.items() if f"User/{name}" not in deleted}


def _owned_refs(plan: Plan, live: LiveState, desired: DesiredState, region: str, *, applied: bool) -> set[str]:
    """``Kind/name`` of what ``plan`` counts as owned (``owned_count``: what git names that is owned, or an empty
    shell the plan converges, and what the plan deletes or releases), or, ``applied``, what is owned once the plan
    is applied: what git names that the plan read, adopts or creates, and nothing it deletes or releases."""
    ctx = context(desired, region)
    leaving = plan.refs(Action.DELETE, Action.RELEASE)
    adopting = plan.refs(Action.ADOPT) if applied else frozenset()
    out: set[str] = set()
    for kind, resources in live.resources.items():
        wanted, rules = desired.of(kind), REGISTRY[kind]
        for name, resource in resources.items():
            ref = f"{kind}/{name}"
            if name in wanted and (rules.owned(resource, ctx) or rules.empty_shell(resource) or ref in adopting):
                out.add(ref)
    if applied:
        return (out | plan.refs(Action.CREATE)) - leaving
    return out | leaving


def targeted_plan(
    desired: DesiredState,
    reader: ClientFactory,
    region: str,
    only: Mapping[str, frozenset[str]],
    known: Known,
    *,
    previous: DesiredState | None = None,
    findings: Findings | None = None,
    adopt: bool = False,
    allow_deletes: int | None = None,
    commit: str | None = None,
    display_root: str = "",
) -> Planned:
    """The plan for the resources ``only`` names (kind -> names, in ``desired`` or no longer in it), judged as a
    plan of the whole account would judge them. ``previous``: the desired state the account was converged to
    (what git said of the resources no longer in ``desired``, for their reads)."""
    started = time.monotonic()
    tag = desired.settings.ownership_tag
    referenced = aws_policy_references(desired)
    hints = read_hints(previous) if previous is not None else {}
    for kind, by_name in read_hints(desired).items():
        hints[kind] = {**hints.get(kind, {}), **by_name}
    scope = ReadScope(
        account_id=desired.settings.account_id,
        region=region,
        ownership_key=tag.key,
        ownership_value=tag.value,
        names={kind: frozenset(n for n in names if n in desired.of(kind)) for kind, names in only.items()},
        deleting={kind: frozenset(n for n in names if n not in desired.of(kind)) for kind, names in only.items()},
        only=only,
        aws_policy_arns=frozenset(referenced - set(known.aws_policies)),
        hints={kind: {n: h for n, h in by_name.items() if n in only.get(kind, ())} for kind, by_name in hints.items()},
    )
    kept = {arn: p for arn, p in known.aws_policies.items() if arn in referenced}
    rules: list[Future[list[Finding]]] = []
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="invariants") as pool:

        def start_rules(fetched: Mapping[str, AwsPolicy]) -> None:
            # as plan does: the rules need nothing else from AWS, and run while the resources are read
            rules.append(pool.submit(findings or _findings, desired, kept | dict(fetched), region))

        live = read_account(reader, scope, on_aws_policies=start_rules)
        live = replace(live, aws_policies=kept | dict(live.aws_policies))
        read_seconds = time.monotonic() - started
        plan = build_plan(desired, live, only=only)
        found = rules[0].result()
    users = live_users(live)
    targeted_users = only.get("User", frozenset())
    keys = {n: k for n, k in known.access_keys.items() if n not in targeted_users}
    keys |= {n: u.access_keys or () for n, u in users.items()}
    report = finish(desired, found, {n: k for n, k in keys.items() if n in desired.of("User")})
    targeted = {f"{kind}/{name}" for kind, names in only.items() for name in names}
    owned = len(known.owned - targeted) + owned_count(plan)
    verdict = judge(
        plan, report, max_deletes=desired.settings.max_deletes, adopt=adopt, allow_deletes=allow_deletes, owned=owned
    )
    elapsed = time.monotonic() - started
    log.info(
        "targeted plan computed",
        resources=sum(len(v) for v in only.values()),
        read_seconds=round(read_seconds, 3),
        seconds=round(elapsed, 3),
        changes=len(plan.changes),
        account_id=plan.account_id,
        region=region,
    )
    current = Preview(plan, live, elapsed, report, None)
    return planned(
        desired,
        current,
        verdict,
        region,
        adopt=adopt,
        allow_deletes=allow_deletes,
        commit=commit,
        display_root=display_root,
    )


def _findings(desired: DesiredState, aws_policies: Mapping[str, AwsPolicy], region: str) -> list[Finding]:
    return desired_findings(desired, aws_policies, region=region)


class RulesCache:
    """The invariant rules' findings on the last desired state evaluated, reused while it stays the same: the same
    manifest files (``DesiredState.fingerprint``), region and AWS managed policy documents, on the same UTC day
    (:mod:`reconciler.clock`: a rule may compare a date with today). A controller's full read at an unchanged
    commit evaluates no rule again. Thread-safe (the rules run on a thread of their own)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._key: tuple[object, ...] | None = None
        self._findings: list[Finding] = []
        self.reused = 0

    def findings(self, desired: DesiredState, aws_policies: Mapping[str, AwsPolicy], region: str) -> list[Finding]:
        documents = json.dumps(
            {arn: p.document for arn, p in sorted(aws_policies.items())}, sort_keys=True, default=str
        ).encode()
        key = (desired.fingerprint, region, hashlib.sha256(documents).hexdigest(), clock.now().date())
        with self._lock:
            if key == self._key and desired.fingerprint:
                self.reused += 1
                return list(self._findings)
        found = desired_findings(desired, aws_policies, region=region)
        with self._lock:
            self._key, self._findings = key, list(found)
        return found
