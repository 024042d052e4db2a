"""The typed desired model: one immutable value per manifest, built after validation.

Every resource keeps where it came from (``Source``), so that later layers (the plan, the invariant
rules) can name ``file:line`` for any field.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from reconciler.manifests.yamlsource import Document, Pos

KINDS: tuple[str, ...] = ("Settings", "Policy", "Role", "Group", "User", "Bucket", "NotebookInstance")

POLICY_ARN_PREFIX = "arn:aws"


def is_policy_arn(ref: str) -> bool:
    return ref.startswith(POLICY_ARN_PREFIX)


@dataclass(frozen=True)
class Source:
    """Where a resource is defined: its file and document, with positions of every field."""

    document: Document = field(repr=False, compare=False)

    @property
    def file(self) -> str:
        return self.document.file

    @property
    def line(self) -> int:
        return self.document.start.line

    def at(self, *path: str | int) -> Pos:
        """Position of ``path`` inside the document (``at("spec", "policies", 0)``)."""
        return self.document.pos(tuple(path))

    def where(self, *path: str | int) -> str:
        pos = self.at(*path)
        return f"{self.file}:{pos.line}:{pos.col}"


@dataclass(frozen=True)
class Resource:
    kind: ClassVar[str] = ""
    name: str
    source: Source | None = field(compare=False, repr=False)
    # What removing the manifest does: "Delete" the resource, or "Retain" it (release: the ownership
    # mark is removed, the resource stays). Each kind's schema gives its default.
    deletion_policy: str = "Delete"

    @property
    def ref(self) -> str:
        return f"{self.kind}/{self.name}"


@dataclass(frozen=True)
class OwnershipTag:
    key: str
    value: str


@dataclass(frozen=True)
class PolicyException:
    rule: str
    resource: str
    reason: str


@dataclass(frozen=True)
class Settings(Resource):
    kind: ClassVar[str] = "Settings"
    account_id: str = ""
    region: str | None = None
    ownership_tag: OwnershipTag = OwnershipTag("managed-by", "reconciler")
    prune: bool = True
    max_deletes: int = 10
    notebook_updates: str = "when-stopped"
    exceptions: tuple[PolicyException, ...] = ()


@dataclass(frozen=True)
class Policy(Resource):
    kind: ClassVar[str] = "Policy"
    document: Mapping[str, Any] = field(default_factory=dict)
    description: str | None = None
    path: str = "/"
    tags: Mapping[str, str] = field(default_factory=dict)


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


@dataclass(frozen=True)
class Group(Resource):
    kind: ClassVar[str] = "Group"
    policies: tuple[str, ...] = ()
    inline_policies: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    require_mfa: bool = True
    path: str = "/"


@dataclass(frozen=True)
class User(Resource):
    kind: ClassVar[str] = "User"
    groups: tuple[str, ...] = ()
    path: str = "/"
    tags: Mapping[str, str] = field(default_factory=dict)
    console_access: bool = False
    permissions_boundary: str | None = None


@dataclass(frozen=True)
class BucketAccess:
    read: tuple[str, ...] = ()
    write: tuple[str, ...] = ()


@dataclass(frozen=True)
class Encryption:
    type: str = "SSE-S3"
    kms_key_id: str | None = None


@dataclass(frozen=True)
class Bucket(Resource):
    kind: ClassVar[str] = "Bucket"
    region: str | None = None
    versioning: bool = True
    encryption: Encryption = Encryption()
    access: BucketAccess = BucketAccess()
    policy: tuple[Mapping[str, Any], ...] = ()
    deletion_policy: str = "Retain"
    tags: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class NotebookInstance(Resource):
    kind: ClassVar[str] = "NotebookInstance"
    instance_type: str = ""
    role: str = ""
    root_access: str = "Disabled"
    direct_internet_access: str = "Disabled"
    subnet_id: str | None = None
    security_group_ids: tuple[str, ...] = ()
    kms_key_id: str | None = None
    volume_size_in_gb: int = 5
    lifecycle_config_name: str | None = None
    tags: Mapping[str, str] = field(default_factory=dict)
    deletion_policy: str = "Retain"  # its volume holds people's work


def build(kind: str, name: str, spec: Mapping[str, Any], document: Document) -> Resource:
    """Build the typed value of a manifest whose spec passed its schema (defaults filled in)."""
    src = Source(document)
    if kind == "Settings":
        tag = spec["ownershipTag"]
        return Settings(
            name,
            src,
            account_id=spec["accountId"],
            region=spec.get("region"),
            ownership_tag=OwnershipTag(tag["key"], tag["value"]),
            prune=spec["prune"],
            max_deletes=spec["maxDeletes"],
            notebook_updates=spec["notebookUpdates"],
            exceptions=tuple(PolicyException(e["rule"], e["resource"], e["reason"]) for e in spec["exceptions"]),
        )
    if kind == "Policy":
        return Policy(
            name,
            src,
            document=spec["document"],
            description=spec.get("description"),
            path=spec["path"],
            tags=dict(spec.get("tags", {})),
            deletion_policy=spec["deletionPolicy"],
        )
    if kind == "Role":
        return Role(
            name,
            src,
            trusted_services=tuple(spec.get("trustedServices", ())),
            assume_role_policy=spec.get("assumeRolePolicy"),
            policies=tuple(spec["policies"]),
            inline_policies=dict(spec["inlinePolicies"]),
            permissions_boundary=spec.get("permissionsBoundary"),
            max_session_duration=spec["maxSessionDuration"],
            path=spec["path"],
            description=spec.get("description"),
            tags=dict(spec.get("tags", {})),
            deletion_policy=spec["deletionPolicy"],
        )
    if kind == "Group":
        return Group(
            name,
            src,
            policies=tuple(spec["policies"]),
            inline_policies=dict(spec["inlinePolicies"]),
            require_mfa=spec["requireMFA"],
            path=spec["path"],
            deletion_policy=spec["deletionPolicy"],
        )
    if kind == "User":
        return User(
            name,
            src,
            groups=tuple(spec["groups"]),
            path=spec["path"],
            tags=dict(spec.get("tags", {})),
            console_access=spec["consoleAccess"],
            permissions_boundary=spec.get("permissionsBoundary"),
            deletion_policy=spec["deletionPolicy"],
        )
    if kind == "Bucket":
        enc = spec["encryption"]
        access = spec["access"]
        return Bucket(
            name,
            src,
            region=spec.get("region"),
            versioning=spec["versioning"],
            encryption=Encryption(enc.get("type", "SSE-S3"), enc.get("kmsKeyId")),
            access=BucketAccess(tuple(access.get("read", ())), tuple(access.get("write", ()))),
            policy=tuple(spec["policy"]),
            deletion_policy=spec["deletionPolicy"],
            tags=dict(spec.get("tags", {})),
        )
    if kind == "NotebookInstance":
        return NotebookInstance(
            name,
            src,
            instance_type=spec["instanceType"],
            role=spec["role"],
            root_access=spec["rootAccess"],
            direct_internet_access=spec["directInternetAccess"],
            subnet_id=spec.get("subnetId"),
            security_group_ids=tuple(spec["securityGroupIds"]),
            kms_key_id=spec.get("kmsKeyId"),
            volume_size_in_gb=spec["volumeSizeInGB"],
            lifecycle_config_name=spec.get("lifecycleConfigName"),
            tags=dict(spec.get("tags", {})),
            deletion_policy=spec["deletionPolicy"],
        )
    raise ValueError(f"unknown kind {kind}")


@dataclass(frozen=True)
class DesiredState:
    """Every manifest of a directory, validated: one Settings and the resources by kind and name."""

    settings: Settings
    resources: Mapping[str, Mapping[str, Resource]]
    root: str = ""
    # sha256 over every manifest file's path and text, as loaded (a saved plan records what it came from).
    fingerprint: str = ""

    def of(self, kind: str) -> Mapping[str, Resource]:
        return self.resources.get(kind, {})

    def get(self, kind: str, name: str) -> Resource | None:
        return self.of(kind).get(name)

    @property
    def policies(self) -> Mapping[str, Policy]:
        return self.of("Policy")  # type: ignore[return-value]

    @property
    def roles(self) -> Mapping[str, Role]:
        return self.of("Role")  # type: ignore[return-value]

    @property
    def groups(self) -> Mapping[str, Group]:
        return self.of("Group")  # type: ignore[return-value]

    @property
    def users(self) -> Mapping[str, User]:
        return self.of("User")  # type: ignore[return-value]

    @property
    def buckets(self) -> Mapping[str, Bucket]:
        return self.of("Bucket")  # type: ignore[return-value]

    @property
    def notebooks(self) -> Mapping[str, NotebookInstance]:
        return self.of("NotebookInstance")  # type: ignore[return-value]

    def __iter__(self) -> Iterator[Resource]:
        for kind in KINDS[1:]:
            yield from (self.of(kind)[n] for n in sorted(self.of(kind)))

    def count(self) -> int:
        return sum(len(v) for v in self.resources.values())
