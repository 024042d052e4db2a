"""IAM kinds: Policy, Role, Group, User."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from reconciler.aws.live import LiveGroup, LivePolicy, LiveRole, LiveState, LiveUser
from reconciler.kinds import iam_steps
from reconciler.kinds.base import Context, Kind, Target
from reconciler.kinds.guard import (
    GROUP_GUARD_POLICY,
    GROUP_PENDING_PATH,
    GUARD_SID,
    group_guard_document,
    group_release,
    statements,
)
from reconciler.manifests.model import Group, Policy, Resource, Role, User


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


def policy_refs(arns: Any, ctx: Target) -> set[str]:
    """``Policy/name`` for the ARNs that are customer managed policies of this account."""
    prefix = f"arn:aws:iam::{ctx.account_id}:policy/"
    return {f"Policy/{arn.rsplit('/', 1)[-1]}" for arn in arns or () if isinstance(arn, str) and arn.startswith(prefix)}


class PolicyKind(Kind):
    name = "Policy"
    steps = {
        "create": iam_steps.create_policy,
        "update": iam_steps.update_policy,
        "delete": iam_steps.delete_policy,
        "release": iam_steps.release_policy,
    }
    document_fields = frozenset({"document"})
    replace_fields = frozenset({"path", "description"})
    replace_hint = (
        "give the policy a new name (a new policy is created and attached, the old one deleted), "
        "or change the field back in the manifest"
    )
    reads = ("iam:GetAccountAuthorizationDetails", "iam:ListPolicyTags")

    def destroys(self, live: Any, state: LiveState) -> tuple[str, ...]:
        assert isinstance(live, LivePolicy)
        holders: list[tuple[str, Mapping[str, LiveRole | LiveGroup | LiveUser]]] = [
            ("Role", state.roles),
            ("Group", state.groups),
            ("User", state.users),
        ]
        return tuple(
            f"detached from {kind}/{name}"
            for kind, principals in holders
            for name, principal in sorted(principals.items())
            if live.arn in principal.attached
        )

    def desired_view(self, resource: Resource, ctx: Context) -> dict[str, Any]:
        assert isinstance(resource, Policy)
        return {
            "path": resource.path,
            "description": resource.description,
            "document": dict(resource.document),
            "tags": {**ctx.owned_tags(resource.tags), **self.deletion_tags(resource)},
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
    steps = {
        "create": iam_steps.create_role,
        "update": iam_steps.update_role,
        "delete": iam_steps.delete_role,
        "release": iam_steps.release_role,
    }

    def references(self, view: Mapping[str, Any], ctx: Target) -> set[str]:
        return policy_refs([*view.get("policies", ()), view.get("permissionsBoundary")], ctx)

    def destroys(self, live: Any, state: LiveState) -> tuple[str, ...]:
        assert isinstance(live, LiveRole)
        return tuple(f"removed from instance profile {name}" for name in live.instance_profiles)

    document_fields = frozenset({"trust"})
    document_map_fields = frozenset({"inlinePolicies"})
    replace_fields = frozenset({"path"})
    replace_hint = "give the role a new name, or delete it by hand and apply again"
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
            "tags": {**ctx.owned_tags(resource.tags), **self.deletion_tags(resource)},
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
    steps = {
        "create": iam_steps.create_group,
        "update": iam_steps.update_group,
        "delete": iam_steps.delete_group,
        "release": iam_steps.release_group,
    }

    def references(self, view: Mapping[str, Any], ctx: Target) -> set[str]:
        # Members are added once the users exist (and removed before they are deleted).
        return policy_refs(view.get("policies", ()), ctx) | {f"User/{m}" for m in view.get("members", ())}

    def destroys(self, live: Any, state: LiveState) -> tuple[str, ...]:
        assert isinstance(live, LiveGroup)
        return tuple(f"membership of User/{name}" for name in live.members)

    def empty_shell(self, live: Any) -> bool:
        return isinstance(live, LiveGroup) and not live.attached and not live.inline and not live.members

    def plan_notes(self, action: str, changed: Sequence[str], live: Any, ctx: Context) -> tuple[str, ...]:
        if "members" not in changed or not isinstance(live, LiveGroup):
            return ()
        undeclared = sorted(
            m for m in live.members if m not in ctx.desired.users or live.name not in ctx.desired.users[m].groups
        )
        if not undeclared:
            return ()
        return (
            f"member(s) not declared in git, removed from the group (the users themselves are kept): "
            f"{', '.join(undeclared)}",
        )

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
            # Exactly the users whose manifests name the group: a member git does not declare (a user
            # added by hand, managed or not) is drift, removed from the group (the user is kept).
            "members": sorted(u.name for u in ctx.desired.users.values() if resource.name in u.groups),
        }

    def live_view(self, live: Any, ctx: Context) -> dict[str, Any]:
        assert isinstance(live, LiveGroup)
        return {
            "path": live.path,
            "policies": sorted(live.attached),
            "inlinePolicies": {k: dict(v) for k, v in live.inline.items()},
            "members": sorted(live.members),
        }

    def owned(self, live: Any, ctx: Context) -> bool:
        return isinstance(live, LiveGroup) and (GROUP_GUARD_POLICY in live.inline or live.path == GROUP_PENDING_PATH)

    def recorded_deletion_policy(self, live: Any) -> str:
        assert isinstance(live, LiveGroup)
        sids = {s.get("Sid") for s in statements(live.inline.get(GROUP_GUARD_POLICY))}
        return "Retain" if GUARD_SID["Retain"] in sids else "Delete"

    def release_fields(self, live: Any, ctx: Context) -> list[tuple[str, Any, Any]]:
        assert isinstance(live, LiveGroup)
        guard = live.inline.get(GROUP_GUARD_POLICY)
        keep, path = group_release(guard, live.path)
        fields: list[tuple[str, Any, Any]] = [(f"inlinePolicies.{GROUP_GUARD_POLICY}", guard, None)]
        fields += [(f"inlinePolicies.{name}", None, document) for name, document in sorted(keep.items())]
        if path is not None:
            fields.append(("path", live.path, path))
        return fields


class UserKind(Kind):
    name = "User"
    steps = {
        "create": iam_steps.create_user,
        "update": iam_steps.update_user,
        "delete": iam_steps.delete_user,
        "release": iam_steps.release_user,
    }

    def references(self, view: Mapping[str, Any], ctx: Target) -> set[str]:
        return policy_refs([view.get("permissionsBoundary")], ctx)

    def destroys(self, live: Any, state: LiveState) -> tuple[str, ...]:
        assert isinstance(live, LiveUser)
        out = ["login profile (console password)"] if live.console_access else []
        out += [f"access key {key}" for key in live.access_keys or ()]
        out += [f"MFA device {serial}" for serial in live.mfa_devices or ()]
        out += [f"signing certificate {cert}" for cert in live.signing_certificates or ()]
        out += [f"SSH public key {key}" for key in live.ssh_public_keys or ()]
        return tuple(out)

    document_map_fields = frozenset({"inlinePolicies"})
    reads = (
        "iam:GetAccountAuthorizationDetails",
        "iam:GetLoginProfile",
        "iam:ListAccessKeys",
        # what deleting a user removes, read for the users a plan may delete
        "iam:ListMFADevices",
        "iam:ListSigningCertificates",
        "iam:ListSSHPublicKeys",
    )

    def desired_view(self, resource: Resource, ctx: Context) -> dict[str, Any]:
        assert isinstance(resource, User)
        # Users hold no policies of their own: permissions come from groups only. Group membership is
        # the groups' field (``members``), so that a member added by hand is seen even when the user is
        # not managed.
        return {
            "path": resource.path,
            "policies": [],
            "inlinePolicies": {},
            "permissionsBoundary": (
                ctx.policy_arn(resource.permissions_boundary) if resource.permissions_boundary else None
            ),
            "consoleAccess": resource.console_access,
            "tags": {**ctx.owned_tags(resource.tags), **self.deletion_tags(resource)},
        }

    def live_view(self, live: Any, ctx: Context) -> dict[str, Any]:
        assert isinstance(live, LiveUser)
        return {
            "path": live.path,
            "policies": sorted(live.attached),
            "inlinePolicies": {k: dict(v) for k, v in live.inline.items()},
            "permissionsBoundary": live.boundary,
            "consoleAccess": bool(live.console_access),
            "tags": dict(live.tags),
        }
