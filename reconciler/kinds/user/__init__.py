"""The User kind: a human's IAM user; its permissions come from its groups only."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from reconciler.aws.live import LiveState, LiveUser
from reconciler.kinds.base import Context, Kind, Target
from reconciler.kinds.iamshared import policy_refs
from reconciler.manifests.model import Resource, User


class UserKind(Kind):
    name = "User"
    steps_module = "reconciler.kinds.user.steps"
    after = ("Policy",)

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
