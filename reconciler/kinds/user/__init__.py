"""The User kind: a human's IAM user; its permissions come from its groups only."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from reconciler.aws.live import LiveState
from reconciler.kinds.base import Kind
from reconciler.kinds.context import Context, Exists, Grant, Removal, Report, Target
from reconciler.kinds.iamshared import IAM_SOURCE, duplicates, policy_refs
from reconciler.manifests.model import DesiredState, Expiry, Resource, Source, ending_entries, expiry_at, is_policy_arn


@dataclass(frozen=True)
class User(Resource):
    kind: ClassVar[str] = "User"
    groups: tuple[str, ...] = ()
    path: str = "/"
    tags: Mapping[str, str] = field(default_factory=dict)
    console_access: bool = False
    permissions_boundary: str | None = None
    # When the whole user ends (spec.expiresAt), and when each membership that ends does (group name -> expiry).
    expires: Expiry | None = None
    group_expiry: Mapping[str, Expiry] = field(default_factory=dict)


def users(desired: DesiredState) -> Mapping[str, User]:
    """The User manifests of ``desired``, typed."""
    return {name: u for name, u in desired.of("User").items() if isinstance(u, User)}


@dataclass(frozen=True)
class LiveUser:
    name: str
    arn: str
    path: str
    groups: tuple[str, ...] = ()
    attached: tuple[str, ...] = ()
    inline: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    tags: Mapping[str, str] = field(default_factory=dict)
    boundary: str | None = None
    # None: not read (the user is neither named in git nor owned).
    console_access: bool | None = None
    # Whether ``console_access`` is the credential report's answer (up to 4 hours old: see read.py), not
    # confirmed by GetLoginProfile. How it was read, not a fact: not part of the fingerprint or of equality.
    console_from_report: bool = field(default=False, compare=False, metadata={"fingerprint": False})
    # The user's own credentials: "ID (Status)" per access key, read for every user named in git or
    # owned (keys of humans are not declared in git, so they are reported); MFA devices (serial
    # numbers), signing certificates and SSH public keys (IDs), read for users a plan may delete, since
    # deleting the user removes them. None: not read.
    access_keys: tuple[str, ...] | None = None
    mfa_devices: tuple[str, ...] | None = None
    signing_certificates: tuple[str, ...] | None = None
    ssh_public_keys: tuple[str, ...] | None = None


def live_users(live: LiveState) -> Mapping[str, LiveUser]:
    """The User resources of the account, typed."""
    return {name: r for name, r in live.of("User").items() if isinstance(r, LiveUser)}


class UserKind(Kind):
    name = "User"
    schema = "user.schema.json"
    folder = "users"
    sources = (IAM_SOURCE,)
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
        # console access of every user at once (read.py: when it holds the same facts)
        "iam:GenerateCredentialReport",
        "iam:GetCredentialReport",
        # what deleting a user removes, read for the users a plan may delete
        "iam:ListMFADevices",
        "iam:ListSigningCertificates",
        "iam:ListSSHPublicKeys",
        # a read by name (the controller's targeted read)
        "iam:GetUser",
        "iam:ListGroupsForUser",
        "iam:ListAttachedUserPolicies",
        "iam:ListUserPolicies",
        "iam:GetUserPolicy",
    )
    writes = (
        "iam:CreateUser",
        "iam:UpdateUser",
        "iam:DeleteUser",
        "iam:TagUser",
        "iam:UntagUser",
        "iam:CreateLoginProfile",
        "iam:DeleteLoginProfile",
        "iam:DetachUserPolicy",
        "iam:DeleteUserPolicy",
        "iam:PutUserPermissionsBoundary",
        "iam:DeleteUserPermissionsBoundary",
        # deleting a user deletes what it holds first
        "iam:DeleteAccessKey",
        "iam:DeactivateMFADevice",
        "iam:DeleteVirtualMFADevice",
        "iam:DeleteSigningCertificate",
        "iam:DeleteSSHPublicKey",
    )
    audit_reads = ("iam:ListMFADevices",)  # MFA devices of every user with a console password
    security_fields = frozenset({"policies", "inlinePolicies", "permissionsBoundary", "consoleAccess"})

    def read_hint(self, resource: Resource) -> object | None:
        """Whether git gives it console access: the credential report's answer for it is confirmed when it
        differs (see ``read.py``)."""
        assert isinstance(resource, User)
        return resource.console_access

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
            "inlinePolicies": dict(live.inline),
            "permissionsBoundary": live.boundary,
            "consoleAccess": bool(live.console_access),
            "tags": dict(live.tags),
        }

    def build(self, name: str, spec: Mapping[str, Any], source: Source) -> Resource:
        groups, group_expiry = ending_entries(spec["groups"], source, "groups", "name")
        return User(
            name,
            source,
            groups=groups,
            path=spec["path"],
            tags=dict(spec.get("tags", {})),
            console_access=spec["consoleAccess"],
            permissions_boundary=spec.get("permissionsBoundary"),
            deletion_policy=spec["deletionPolicy"],
            expires=expiry_at(spec.get("expiresAt"), source, "spec", "expiresAt"),
            group_expiry=group_expiry,
        )

    def grants(self, resource: Resource, ctx: Context) -> tuple[Grant, ...]:
        assert isinstance(resource, User)
        out: list[Grant] = []
        if resource.expires is not None:
            removes = (
                Removal(resource.ref),
                *(Removal(f"Group/{g}", "members", resource.name) for g in resource.groups),
            )
            out.append(Grant(resource.ref, resource.ref, (), resource.expires, removes))
        for index, group in enumerate(resource.groups):
            ends = resource.group_expiry.get(group)
            if ends is not None:
                removal = (Removal(f"Group/{group}", "members", resource.name),)
                out.append(
                    Grant(resource.ref, f"membership of Group/{group}", ("spec", "groups", index), ends, removal)
                )
        return tuple(out)

    def without(self, resource: Resource, ended: Collection[Grant]) -> Resource | None:
        assert isinstance(resource, User)
        if any(not grant.path for grant in ended):
            return None
        gone = {removal.ref.partition("/")[2] for grant in ended for removal in grant.removes}
        kept = tuple(g for g in resource.groups if g not in gone)
        expiry = {g: e for g, e in resource.group_expiry.items() if g in kept}
        return dataclasses.replace(resource, groups=kept, group_expiry=expiry)

    def check_references(self, resource: Resource, exists: Exists, report: Report) -> None:
        assert isinstance(resource, User)
        for i in duplicates(resource.groups):
            name = resource.groups[i]
            report(resource, ("spec", "groups", i), f"Group/{name} is named more than once", ("Group", name))
        for i, name in enumerate(resource.groups):
            if not exists("Group", name):
                report(resource, ("spec", "groups", i), f"no Group manifest named '{name}'", ("Group", name))
        boundary = resource.permissions_boundary
        if boundary and not is_policy_arn(boundary) and not exists("Policy", boundary):
            report(
                resource,
                ("spec", "permissionsBoundary"),
                f"no Policy manifest named '{boundary}'",
                ("Policy", boundary),
            )

    def policy_references(self, resource: Resource) -> tuple[str, ...]:
        assert isinstance(resource, User)
        return (resource.permissions_boundary,) if resource.permissions_boundary else ()

    import_field_reasons = {
        "policies": "users get permissions from groups only: attach these policies to a group",
        "inlinePolicies": "users get permissions from groups only: move these policies to a group",
    }

    def import_needs(self, live: Any, name_of: Callable[[str], tuple[str, str] | None]) -> list[tuple[str, str]]:
        return [("Group", g) for g in live.groups]

    def import_stub(self, name: str, live: Any) -> Resource | None:
        return User(name, None, path=live.path)


#: The kind, as the registry lists it.
KIND = UserKind()
