"""The Role kind: an IAM role, its trust policy, attached and inline policies, boundary."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from reconciler.aws.live import LiveRole, LiveState
from reconciler.kinds.base import Context, Kind, Target
from reconciler.kinds.iamshared import policy_refs
from reconciler.manifests.model import Resource, Role


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


class RoleKind(Kind):
    name = "Role"
    steps_module = "reconciler.kinds.role.steps"
    after = ("Policy",)

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
