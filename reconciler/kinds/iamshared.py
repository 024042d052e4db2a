"""What the IAM kinds' views share."""

from __future__ import annotations

from typing import Any

from reconciler.kinds.context import Exists, Report, Target
from reconciler.manifests.model import Resource, is_policy_arn

#: The answer the IAM kinds read from together (IAM's GetAccountAuthorizationDetails, see ``iamread``): each
#: declares it in ``Kind.sources``.
IAM_SOURCE = "iam"


def policy_refs(arns: Any, ctx: Target) -> set[str]:
    """``Policy/name`` for the ARNs that are customer managed policies of this account."""
    prefix = f"arn:aws:iam::{ctx.account_id}:policy/"
    return {f"Policy/{arn.rsplit('/', 1)[-1]}" for arn in arns or () if isinstance(arn, str) and arn.startswith(prefix)}


def check_policy_refs(resource: Resource, refs: tuple[str, ...], field: str, exists: Exists, report: Report) -> None:
    """Report each of ``refs`` (spec.FIELD[i]) that is neither a Policy manifest nor a policy ARN."""
    for i, ref in enumerate(refs):
        if not is_policy_arn(ref) and not exists("Policy", ref):
            report(
                resource,
                ("spec", field, i),
                f"no Policy manifest named '{ref}' (and not a policy ARN)",
                ("Policy", ref),
            )
