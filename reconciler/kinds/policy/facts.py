"""What the rules see of a customer managed policy: its document."""

from __future__ import annotations

from reconciler.facts.builder import Facts
from reconciler.facts.model import DocKind, fixed_locator, statement_locator, where
from reconciler.kinds.context import Context
from reconciler.kinds.policy import LivePolicy, Policy


def desired(policy: Policy, facts: Facts, ctx: Context) -> None:
    ref, arn = policy.ref, ctx.policy_arn(policy.name)
    doc = facts.docs.build(
        DocKind.MANAGED,
        policy.name,
        ref,
        ref,
        where(policy.source, "spec", "document"),
        policy.document,
        statement_locator(policy.source, "spec", "document"),
        arn=arn,
    )
    facts.add_policy(policy.name, arn, doc)


def live(policy: LivePolicy, facts: Facts) -> None:
    ref = f"Policy/{policy.name}"
    doc = facts.docs.build(
        DocKind.MANAGED, policy.name, ref, ref, None, policy.document, fixed_locator(None), arn=policy.arn
    )
    facts.add_policy(policy.name, policy.arn, doc)
