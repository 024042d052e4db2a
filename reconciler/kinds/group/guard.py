"""The guard: the inline policy the reconciler keeps on every group it owns (IAM groups cannot be tagged).

It is the group's ownership mark, records its deletion policy, and carries the MFA requirement of
``requireMFA``. While the reconciler creates or deletes a group, the group sits at a reserved path
instead, its other ownership mark.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from reconciler.kinds.context import Context
from reconciler.manifests.model import Expiry, Resource


@dataclass(frozen=True)
class Group(Resource):
    kind: ClassVar[str] = "Group"
    policies: tuple[str, ...] = ()
    inline_policies: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    require_mfa: bool = True
    path: str = "/"
    # Attachments that end (policy reference -> expiry), and where each of ``policies`` is in spec.policies as
    # written (empty: in order; an expired attachment taken out shifts the others).
    policy_expiry: Mapping[str, Expiry] = field(default_factory=dict)
    policy_index: tuple[int, ...] = ()


# The inline policy the reconciler keeps on every group it owns (IAM groups cannot be tagged, so
# this is how ownership of a group is recorded; it also carries the MFA guard).
GROUP_GUARD_POLICY = "reconciler-group-guard"
# The path a group has while the reconciler creates or deletes it: CreateGroup and UpdateGroup set a
# path atomically, so a group is marked as owned from its first call to its last (between CreateGroup
# and the guard, and between deleting the guard and DeleteGroup, the guard is not there). Reserved:
# manifests cannot use it.
GROUP_PENDING_PATH = "/reconciler-pending/"

# AWS's documented "BlockMostAccessUnlessSignedInWithMFA": what a user may do without MFA is only
# what is needed to enrol and manage their own MFA device.
MFA_SELF_SERVICE_ACTIONS: tuple[str, ...] = (
    "iam:CreateVirtualMFADevice",
    "iam:EnableMFADevice",
    "iam:GetUser",
    "iam:ListMFADevices",
    "iam:ListUsers",
    "iam:ListVirtualMFADevices",
    "iam:ResyncMFADevice",
    "iam:ChangePassword",
    "iam:GetAccountPasswordPolicy",
    "sts:GetSessionToken",
)


# The Sid of the guard's ownership statement: it also records the group's deletion policy (a group
# cannot be tagged), so that the policy recorded when the group was last applied is the one in force.
GUARD_SID = {"Delete": "ManagedByReconciler", "Retain": "ManagedByReconcilerDeletionPolicyRetain"}
MFA_SID = "BlockMostAccessUnlessSignedInWithMFA"
# What a released group keeps of its guard: the MFA requirement, as an ordinary inline policy.
RELEASED_MFA_POLICY = "require-mfa"


def mfa_statement() -> dict[str, Any]:
    """AWS's "deny most access unless signed in with MFA", with the self-service a new user needs."""
    return {
        "Sid": MFA_SID,
        "Effect": "Deny",
        "NotAction": list(MFA_SELF_SERVICE_ACTIONS),
        "Resource": "*",
        "Condition": {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}},
    }


def group_guard_document(group: Group, ctx: Context) -> dict[str, Any]:
    """The inline policy the reconciler keeps on each group it owns.

    It marks ownership (IAM groups cannot be tagged), records the deletion policy (its first Sid) and,
    with ``requireMFA``, denies everything but MFA self-service to members signed in without MFA.
    """
    arn = f"arn:aws:iam::{ctx.account_id}:group{group.path}{group.name}"
    found: list[dict[str, Any]] = [
        {
            "Sid": GUARD_SID[group.deletion_policy],
            "Effect": "Deny",
            "Action": "iam:DeleteGroup",
            "Resource": arn,
            "Condition": {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}},
        }
    ]
    if group.require_mfa:
        found.append(mfa_statement())
    return {"Version": "2012-10-17", "Statement": found}


def statements(document: Mapping[str, Any] | None) -> list[Mapping[str, Any]]:
    found = (document or {}).get("Statement", [])
    return [s for s in ([found] if isinstance(found, Mapping) else found) if isinstance(s, Mapping)]


def group_release(guard: Mapping[str, Any] | None, path: str) -> tuple[dict[str, Any], str | None]:
    """What releasing a group puts in place of its guard: (inline policies to keep, the path to move it to,
    or None). Its MFA requirement stays, so its members are never left without it; a group left at the
    pending path by an interrupted run gets the root path."""
    keep: dict[str, Any] = {}
    if any(s.get("Sid") == MFA_SID for s in statements(guard)):
        keep[RELEASED_MFA_POLICY] = {"Version": "2012-10-17", "Statement": [mfa_statement()]}
    return keep, ("/" if path == GROUP_PENDING_PATH else None)
