"""IAM kinds: Policy, Role, Group, User."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from reconciler.aws.live import LiveGroup, LivePolicy, LiveRole, LiveUser
from reconciler.aws.reader import GROUP_GUARD_POLICY, GROUP_PENDING_PATH
from reconciler.kinds import iam_steps
from reconciler.kinds.base import Context, Kind
from reconciler.manifests.model import Group, Policy, Resource, Role, User

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


def group_guard_document(group: Group, ctx: Context) -> dict[str, Any]:
    """The inline policy the reconciler keeps on each group it owns.

    It marks ownership (IAM groups cannot be tagged) and, with ``requireMFA``, denies everything
    but MFA self-service to members signed in without MFA.
    """
    arn = f"arn:aws:iam::{ctx.account_id}:group{group.path}{group.name}"
    statements: list[dict[str, Any]] = [
        {
            "Sid": "ManagedByReconciler",
            "Effect": "Deny",
            "Action": "iam:DeleteGroup",
            "Resource": arn,
            "Condition": {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}},
        }
    ]
    if group.require_mfa:
        statements.append(
            {
                "Sid": "BlockMostAccessUnlessSignedInWithMFA",
                "Effect": "Deny",
                "NotAction": list(MFA_SELF_SERVICE_ACTIONS),
                "Resource": "*",
                "Condition": {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}},
            }
        )
    return {"Version": "2012-10-17", "Statement": statements}


def trust_document(role: Role, ctx: Context) -> dict[str, Any]:
    """The trust policy: as written, or generated from trustedServices and pinned to this account."""
    if role.assume_role_policy is not None:
        return dict(role.assume_role_policy)
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": sorted(role.trusted_services)},
                "Action": "sts:AssumeRole",
                "Condition": {"StringEquals": {"aws:SourceAccount": ctx.account_id}},
            }
        ],
    }


def policy_refs(arns: Any, ctx: Context) -> set[str]:
    """``Policy/name`` for the ARNs that are customer managed policies of this account."""
    prefix = f"arn:aws:iam::{ctx.account_id}:policy/"
    return {f"Policy/{arn.rsplit('/', 1)[-1]}" for arn in arns or () if isinstance(arn, str) and arn.startswith(prefix)}


class PolicyKind(Kind):
    name = "Policy"
    steps = {"create": iam_steps.create_policy, "update": iam_steps.update_policy, "delete": iam_steps.delete_policy}
    document_fields = frozenset({"document"})
    replace_fields = frozenset({"path", "description"})
    reads = ("iam:GetAccountAuthorizationDetails", "iam:ListPolicyTags")

    def desired_view(self, resource: Resource, ctx: Context) -> dict[str, Any]:
        assert isinstance(resource, Policy)
        return {
            "path": resource.path,
            "description": resource.description,
            "document": dict(resource.document),
            "tags": ctx.owned_tags(resource.tags),
        }

    def live_view(self, live: Any, ctx: Context) -> dict[str, Any]:
        assert isinstance(live, LivePolicy)
        return {
            "path": live.path,
            "description": live.description,
            "document": dict(live.document),
            "tags": dict(live.tags),
        }


class RoleKind(Kind):
    name = "Role"
    steps = {"create": iam_steps.create_role, "update": iam_steps.update_role, "delete": iam_steps.delete_role}

    def references(self, view: Mapping[str, Any], ctx: Context) -> set[str]:
        return policy_refs([*view.get("policies", ()), view.get("permissionsBoundary")], ctx)

    document_fields = frozenset({"trust"})
    document_map_fields = frozenset({"inlinePolicies"})
    replace_fields = frozenset({"path"})
    reads = ("iam:GetAccountAuthorizationDetails", "iam:ListRoles")

    def desired_view(self, resource: Resource, ctx: Context) -> dict[str, Any]:
        assert isinstance(resource, Role)
        return {
            "path": resource.path,
            "description": resource.description,
            "trust": trust_document(resource, ctx),
            "policies": sorted(ctx.policy_arn(p) for p in resource.policies),
            "inlinePolicies": {k: dict(v) for k, v in resource.inline_policies.items()},
            "permissionsBoundary": (
                ctx.policy_arn(resource.permissions_boundary) if resource.permissions_boundary else None
            ),
            "maxSessionDuration": resource.max_session_duration,
            "tags": ctx.owned_tags(resource.tags),
        }

    def live_view(self, live: Any, ctx: Context) -> dict[str, Any]:
        assert isinstance(live, LiveRole)
        return {
            "path": live.path,
            "description": live.description,
            "trust": dict(live.trust),
            "policies": sorted(live.attached),
            "inlinePolicies": {k: dict(v) for k, v in live.inline.items()},
            "permissionsBoundary": live.boundary,
            "maxSessionDuration": live.max_session_duration,
            "tags": dict(live.tags),
        }


class GroupKind(Kind):
    name = "Group"
    steps = {"create": iam_steps.create_group, "update": iam_steps.update_group, "delete": iam_steps.delete_group}

    def references(self, view: Mapping[str, Any], ctx: Context) -> set[str]:
        return policy_refs(view.get("policies", ()), ctx)

    def empty_shell(self, live: Any) -> bool:
        return isinstance(live, LiveGroup) and not live.attached and not live.inline and not live.members

    document_map_fields = frozenset({"inlinePolicies"})
    reads = ("iam:GetAccountAuthorizationDetails",)

    def desired_view(self, resource: Resource, ctx: Context) -> dict[str, Any]:
        assert isinstance(resource, Group)
        inline = {k: dict(v) for k, v in resource.inline_policies.items()}
        inline[GROUP_GUARD_POLICY] = group_guard_document(resource, ctx)
        return {
            "path": resource.path,
            "policies": sorted(ctx.policy_arn(p) for p in resource.policies),
            "inlinePolicies": inline,
        }

    def live_view(self, live: Any, ctx: Context) -> dict[str, Any]:
        assert isinstance(live, LiveGroup)
        return {
            "path": live.path,
            "policies": sorted(live.attached),
            "inlinePolicies": {k: dict(v) for k, v in live.inline.items()},
        }

    def owned(self, live: Any, ctx: Context) -> bool:
        return isinstance(live, LiveGroup) and (GROUP_GUARD_POLICY in live.inline or live.path == GROUP_PENDING_PATH)


class UserKind(Kind):
    name = "User"
    steps = {"create": iam_steps.create_user, "update": iam_steps.update_user, "delete": iam_steps.delete_user}

    def references(self, view: Mapping[str, Any], ctx: Context) -> set[str]:
        return {f"Group/{g}" for g in view.get("groups", ())}

    document_map_fields = frozenset({"inlinePolicies"})
    reads = ("iam:GetAccountAuthorizationDetails", "iam:GetLoginProfile")

    def desired_view(self, resource: Resource, ctx: Context) -> dict[str, Any]:
        assert isinstance(resource, User)
        # Users hold no policies of their own: permissions come from groups only.
        return {
            "path": resource.path,
            "groups": sorted(resource.groups),
            "policies": [],
            "inlinePolicies": {},
            "consoleAccess": resource.console_access,
            "tags": ctx.owned_tags(resource.tags),
        }

    def live_view(self, live: Any, ctx: Context) -> dict[str, Any]:
        assert isinstance(live, LiveUser)
        return {
            "path": live.path,
            "groups": sorted(live.groups),
            "policies": sorted(live.attached),
            "inlinePolicies": {k: dict(v) for k, v in live.inline.items()},
            "consoleAccess": bool(live.console_access),
            "tags": dict(live.tags),
        }
