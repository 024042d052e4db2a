"""The Policy kind: a customer managed IAM policy."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from reconciler.aws.live import LiveState
from reconciler.kinds.base import Kind
from reconciler.kinds.context import Context
from reconciler.kinds.iamshared import IAM_SOURCE
from reconciler.manifests.model import DesiredState, Resource, Source


@dataclass(frozen=True)
class Policy(Resource):
    kind: ClassVar[str] = "Policy"
    document: Mapping[str, Any] = field(default_factory=dict)
    description: str | None = None
    path: str = "/"
    tags: Mapping[str, str] = field(default_factory=dict)


def policies(desired: DesiredState) -> Mapping[str, Policy]:
    """The Policy manifests of ``desired``, typed."""
    return {name: r for name, r in desired.of("Policy").items() if isinstance(r, Policy)}


@dataclass(frozen=True)
class LivePolicy:
    name: str
    arn: str
    path: str
    document: Mapping[str, Any]
    default_version_id: str
    version_ids: tuple[str, ...] = ()
    description: str | None = None
    tags: Mapping[str, str] = field(default_factory=dict)
    attachment_count: int = 0


def live_policies(live: LiveState) -> Mapping[str, LivePolicy]:
    """The Policy resources of the account, typed."""
    return {name: r for name, r in live.of("Policy").items() if isinstance(r, LivePolicy)}


class PolicyKind(Kind):
    name = "Policy"
    schema = "policy.schema.json"
    folder = "policies"
    sources = (IAM_SOURCE,)
    document_fields = frozenset({"document"})
    replace_fields = frozenset({"path", "description"})
    replace_hint = (
        "give the policy a new name (a new policy is created and attached, the old one deleted), "
        "or change the field back in the manifest"
    )
    reads = (
        "iam:GetAccountAuthorizationDetails",
        "iam:ListPolicyTags",
        # a read by name (the controller's targeted read)
        "iam:GetPolicy",
        "iam:ListPolicyVersions",
        "iam:GetPolicyVersion",
        "iam:ListPolicies",
    )
    writes = (
        "iam:CreatePolicy",
        "iam:CreatePolicyVersion",
        "iam:DeletePolicyVersion",
        "iam:ListEntitiesForPolicy",
        "iam:DeletePolicy",
        # A replacement attaches the policy again where it was (same ARN): the roles and groups do not change.
        "iam:AttachRolePolicy",
        "iam:AttachGroupPolicy",
        "iam:TagPolicy",
        "iam:UntagPolicy",
    )
    security_fields = frozenset({"document"})

    def destroys(self, live: Any, state: LiveState) -> tuple[str, ...]:
        assert isinstance(live, LivePolicy)
        # The principals of every kind that attaches managed policies (their live models' ``attached``).
        return tuple(
            f"detached from {kind}/{name}"
            for kind, resources in state.resources.items()
            for name, principal in sorted(resources.items())
            if live.arn in getattr(principal, "attached", ())
        )

    def read_hint(self, resource: Resource) -> object | None:
        """Its path: a read by name finds the policy by its ARN."""
        assert isinstance(resource, Policy)
        return resource.path

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
            "document": live.document,
            "tags": dict(live.tags),
        }

    def build(self, name: str, spec: Mapping[str, Any], source: Source) -> Resource:
        return Policy(
            name,
            source,
            document=spec["document"],
            description=spec.get("description"),
            path=spec["path"],
            tags=dict(spec.get("tags", {})),
            deletion_policy=spec["deletionPolicy"],
        )

    def import_stub(self, name: str, live: Any) -> Resource | None:
        return Policy(name, None, path=live.path)


#: The kind, as the registry lists it.
KIND = PolicyKind()
