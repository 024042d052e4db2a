"""What the AWS steps of the IAM kinds share: tags, attached and inline policies, the ownership marks."""

from __future__ import annotations

from typing import Any

from reconciler.kinds.base import DELETION_POLICY_TAG
from reconciler.kinds.steps import StepContext, StepInput, doc, ignore, tag_list

GONE = ("NoSuchEntity",)


def sync_tags(step: StepContext, kind: str, name: str, *, live: dict[str, str], want: dict[str, str], key: str) -> None:
    iam: Any = step.aws.client("iam")
    added = {k: v for k, v in want.items() if live.get(k) != v}
    removed = sorted(k for k in live if k not in want)
    if added:
        getattr(iam, f"tag_{kind}")(**{key: name}, Tags=tag_list(added))
    if removed:
        getattr(iam, f"untag_{kind}")(**{key: name}, TagKeys=removed)


def sync_attached(step: StepContext, principal: str, name: str, live: list[str], want: list[str]) -> None:
    iam: Any = step.aws.client("iam")
    key = f"{principal.capitalize()}Name"
    for arn in sorted(set(want) - set(live)):
        getattr(iam, f"attach_{principal}_policy")(**{key: name}, PolicyArn=arn)
    for arn in sorted(set(live) - set(want)):
        ignore(GONE, getattr(iam, f"detach_{principal}_policy"), **{key: name}, PolicyArn=arn)


def sync_inline(
    step: StepContext,
    principal: str,
    name: str,
    live: dict[str, Any],
    want: dict[str, Any],
    *,
    fields: StepInput | None = None,
    first: str | None = None,
) -> None:
    """Put changed inline policies (``first`` before the others), delete removed ones."""
    iam: Any = step.aws.client("iam")
    key = f"{principal.capitalize()}Name"
    order = sorted(want, key=lambda n: (n != first, n))
    for policy_name in order:
        if fields is None or fields.changed("inlinePolicies", policy_name) or policy_name not in live:
            getattr(iam, f"put_{principal}_policy")(
                **{key: name}, PolicyName=policy_name, PolicyDocument=doc(want[policy_name])
            )
    for policy_name in sorted(set(live) - set(want)):
        ignore(GONE, getattr(iam, f"delete_{principal}_policy"), **{key: name}, PolicyName=policy_name)


def ownership_marks(step: StepContext, change: StepInput) -> list[str]:
    return sorted(k for k in change.live.get("tags", {}) if k in (step.ctx.ownership_key, DELETION_POLICY_TAG))
