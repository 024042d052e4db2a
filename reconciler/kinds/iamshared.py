"""What the IAM kinds' views share."""

from __future__ import annotations

from typing import Any

from reconciler.kinds.base import Target


def policy_refs(arns: Any, ctx: Target) -> set[str]:
    """``Policy/name`` for the ARNs that are customer managed policies of this account."""
    prefix = f"arn:aws:iam::{ctx.account_id}:policy/"
    return {f"Policy/{arn.rsplit('/', 1)[-1]}" for arn in arns or () if isinstance(arn, str) and arn.startswith(prefix)}
