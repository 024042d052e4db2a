"""The Role kind: an IAM role, its trust policy, attached and inline policies, boundary."""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from reconciler.aws.live import LiveState
from reconciler.kinds.base import Kind
from reconciler.kinds.context import Context, Exists, Grant, Report, Target
from reconciler.kinds.iamshared import (
    IAM_SOURCE,
    attachment_grants,
    attachments,
    check_policy_refs,
    policy_refs,
    without_attachments,
)
from reconciler.manifests.model import DesiredState, Expiry, Resource, Source, is_policy_arn


@dataclass(frozen=True)
class Role(Resource):
    kind: ClassVar[str] = "Role"
    trusted_services: tuple[str, ...] = ()
    assume_role_policy: Mapping[str, Any] | None = None
    policies: tuple[str, ...] = ()
    inline_policies: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    permissions_boundary: str | None = None
    max_session_duration: int = 3600
    path: str = "/"
    description: str | None = None
    tags: Mapping[str, str] = field(default_factory=dict)
    # Attachments that end (policy reference -> expiry), and where each of ``policies`` is in spec.policies as
    # written (empty: in order; an expired attachment taken out shifts the others).
    policy_expiry: Mapping[str, Expiry] = field(default_factory=dict)
    policy_index: tuple[int, ...] = ()


def roles(desired: DesiredState) -> Mapping[str, Role]:
    """The Role manifests of ``desired``, typed."""
    return {name: r for name, r in desired.of("Role").items() if isinstance(r, Role)}


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


def trust_inputs(role: Role, ctx: Context) -> tuple[str, ...] | None:
    """What :func:`trust_document` generates a role's trust policy from (trustedServices), as strings: equal for
    two roles exactly when their generated documents are; None for a written one, or inputs that are not strings."""
    if role.assume_role_policy is not None:
        return None
    inputs = (ctx.account_id, *sorted(role.trusted_services))
    return inputs if all(type(value) is str for value in inputs) else None


#: Role paths AWS reserves for roles it creates and manages itself: users cannot change these roles.
UNMANAGED_ROLE_PATHS: Mapping[str, str] = {
    "/aws-service-role/": "service-linked role: AWS creates and manages it",
    "/aws-reserved/": "AWS-reserved role (IAM Identity Center): AWS creates and manages it",
}


@dataclass(frozen=True)
class LiveRole:
    name: str
    arn: str
    path: str
    trust: Mapping[str, Any]
    attached: tuple[str, ...] = ()
    inline: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    boundary: str | None = None
    max_session_duration: int = 3600
    description: str | None = None
    tags: Mapping[str, str] = field(default_factory=dict)
    # None: not read (a read by name reads them only for a role the plan may delete).
    instance_profiles: tuple[str, ...] | None = ()


class RoleKind(Kind):
    name = "Role"
    schema = "role.schema.json"
    folder = "roles"
    sources = (IAM_SOURCE,)
    after = ("Policy",)

    def references(self, view: Mapping[str, Any], ctx: Target) -> set[str]:
        return policy_refs([*view.get("policies", ()), view.get("permissionsBoundary")], ctx)

    def destroys(self, live: Any, state: LiveState) -> tuple[str, ...]:
        assert isinstance(live, LiveRole)
        return tuple(f"removed from instance profile {name}" for name in live.instance_profiles or ())

    document_fields = frozenset({"trust"})
    document_map_fields = frozenset({"inlinePolicies"})
    replace_fields = frozenset({"path"})
    replace_hint = "give the role a new name, or change the path back in the manifest"
    reads = (
        "iam:GetAccountAuthorizationDetails",
        "iam:ListRoles",
        # a read by name (the controller's targeted read)
        "iam:GetRole",
        "iam:ListAttachedRolePolicies",
        "iam:ListRolePolicies",
        "iam:GetRolePolicy",
        "iam:ListInstanceProfilesForRole",
    )
    writes = (
        "iam:CreateRole",
        "iam:UpdateRole",
        "iam:UpdateAssumeRolePolicy",
        "iam:DeleteRole",
        "iam:TagRole",
        "iam:UntagRole",
        "iam:AttachRolePolicy",
        "iam:DetachRolePolicy",
        "iam:PutRolePolicy",
        "iam:DeleteRolePolicy",
        "iam:PutRolePermissionsBoundary",
        "iam:DeleteRolePermissionsBoundary",
        # deleting a role takes it out of its instance profiles first (the lists it reads are declared in reads)
        "iam:RemoveRoleFromInstanceProfile",
    )
    security_fields = frozenset({"trust", "policies", "inlinePolicies", "permissionsBoundary"})

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
            "trust": live.trust,
            "policies": sorted(live.attached),
            "inlinePolicies": dict(live.inline),
            "permissionsBoundary": live.boundary,
            "maxSessionDuration": live.max_session_duration,
            "tags": dict(live.tags),
        }

    def build(self, name: str, spec: Mapping[str, Any], source: Source) -> Resource:
        policies, ends = attachments(spec["policies"], source)
        return Role(
            name,
            source,
            trusted_services=tuple(spec.get("trustedServices", ())),
            assume_role_policy=spec.get("assumeRolePolicy"),
            policies=policies,
            policy_expiry=ends,
            inline_policies=dict(spec["inlinePolicies"]),
            permissions_boundary=spec.get("permissionsBoundary"),
            max_session_duration=spec["maxSessionDuration"],
            path=spec["path"],
            description=spec.get("description"),
            tags=dict(spec.get("tags", {})),
            deletion_policy=spec["deletionPolicy"],
        )

    def grants(self, resource: Resource, ctx: Context) -> tuple[Grant, ...]:
        assert isinstance(resource, Role)
        return attachment_grants(resource, resource.policies, resource.policy_index, resource.policy_expiry, ctx)

    def without(self, resource: Resource, ended: Collection[Grant]) -> Resource | None:
        assert isinstance(resource, Role)
        fields = without_attachments(resource.policies, resource.policy_index, resource.policy_expiry, ended)
        return dataclasses.replace(resource, **fields)

    def check_references(self, resource: Resource, exists: Exists, report: Report) -> None:
        assert isinstance(resource, Role)
        check_policy_refs(resource, resource.policies, "policies", exists, report)
        boundary = resource.permissions_boundary
        if boundary and not is_policy_arn(boundary) and not exists("Policy", boundary):
            report(
                resource,
                ("spec", "permissionsBoundary"),
                f"no Policy manifest named '{boundary}'",
                ("Policy", boundary),
            )

    def policy_references(self, resource: Resource) -> tuple[str, ...]:
        assert isinstance(resource, Role)
        return (*resource.policies, *((resource.permissions_boundary,) if resource.permissions_boundary else ()))

    def import_skip(self, live: Any) -> str | None:
        for prefix, reason in UNMANAGED_ROLE_PATHS.items():
            if str(live.path).startswith(prefix):
                return reason
        return None

    def import_aws_policies(self, live: Any) -> tuple[str, ...]:
        return (*live.attached, *([live.boundary] if live.boundary else []))

    def import_stub(self, name: str, live: Any) -> Resource | None:
        return Role(name, None, path=live.path)


#: The kind, as the registry lists it.
KIND = RoleKind()
