"""The Policy kind: a customer managed IAM policy."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from reconciler.aws.live import LiveGroup, LivePolicy, LiveRole, LiveState, LiveUser
from reconciler.kinds.base import Context, Kind
from reconciler.manifests.model import Policy, Resource


class PolicyKind(Kind):
    name = "Policy"
    steps_module = "reconciler.kinds.policy.steps"
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
