"""The Bucket kind: an S3 bucket, its protection, and who may write its data."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from reconciler.aws.live import LiveState
from reconciler.kinds.base import Kind
from reconciler.kinds.context import Blocker, Context, Exists, Report, Target
from reconciler.kinds.kmskey import alias_name_of
from reconciler.kinds.user import users
from reconciler.manifests.model import DesiredState, Resource, Source


@dataclass(frozen=True)
class BucketAccess:
    read: tuple[str, ...] = ()
    write: tuple[str, ...] = ()


@dataclass(frozen=True)
class Encryption:
    type: str = "SSE-S3"
    kms_key_id: str | None = None  # free form: a key id, alias or ARN
    kms_key: str | None = None  # the name of a KmsKey manifest


def kms_key_id(encryption: Encryption, ctx: Context) -> str | None:
    """The key S3 is given: a KmsKey manifest's alias ARN, or the free-form id."""
    return ctx.kms_key_arn(encryption.kms_key) if encryption.kms_key else encryption.kms_key_id


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


def buckets(desired: DesiredState) -> Mapping[str, Bucket]:
    """The Bucket manifests of ``desired``, typed."""
    return {name: r for name, r in desired.of("Bucket").items() if isinstance(r, Bucket)}


PUBLIC_ACCESS_BLOCK_ON: dict[str, bool] = {
    "BlockPublicAcls": True,
    "IgnorePublicAcls": True,
    "BlockPublicPolicy": True,
    "RestrictPublicBuckets": True,
}


# Object-level actions that write, overwrite, delete, or loosen protection of data.
OBJECT_WRITE_ACTIONS: tuple[str, ...] = (
    "s3:PutObject",
    "s3:DeleteObject",
    "s3:DeleteObjectVersion",
    "s3:PutObjectAcl",
    "s3:PutObjectVersionAcl",
    "s3:PutObjectRetention",
    "s3:PutObjectLegalHold",
    "s3:BypassGovernanceRetention",
    "s3:RestoreObject",
)


def writer_arns(bucket: Bucket, ctx: Context) -> list[str]:
    """Principal ARNs allowed to write the bucket's objects (groups expand to their users)."""
    return principal_arns(bucket.access.write, ctx)


def principal_arns(refs: Iterable[str], ctx: Context) -> list[str]:
    """The ARNs of the principals ``Kind/name`` refs name (a group expands to its users)."""
    arns: set[str] = set()
    for ref in refs:
        kind, _, name = ref.partition("/")
        if kind == "Role":
            arns.add(ctx.role_arn(name))
        elif kind == "User":
            arns.add(ctx.user_arn(name))
        elif kind == "Group":
            arns.update(ctx.user_arn(u.name) for u in users(ctx.desired).values() if name in u.groups)
    return sorted(arns)


def bucket_policy(bucket: Bucket, ctx: Context) -> dict[str, Any]:
    """The bucket policy the reconciler writes: TLS only; writes only by the declared writers; extras."""
    bucket_arn = f"arn:aws:s3:::{bucket.name}"
    statements: list[dict[str, Any]] = [
        {
            "Sid": "DenyInsecureTransport",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": [bucket_arn, f"{bucket_arn}/*"],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        }
    ]
    if bucket.access.write:
        writers = writer_arns(bucket, ctx)
        statements.append(
            {
                "Sid": "DenyObjectWritesExceptDeclaredWriters",
                "Effect": "Deny",
                "Principal": "*",
                "Action": list(OBJECT_WRITE_ACTIONS),
                "Resource": f"{bucket_arn}/*",
                "Condition": {"ArnNotEquals": {"aws:PrincipalArn": writers or [f"arn:aws:iam::{ctx.account_id}:root"]}},
            }
        )
    statements.extend(dict(s) for s in bucket.policy)
    return {"Version": "2012-10-17", "Statement": statements}


@dataclass(frozen=True)
class LiveBucket:
    name: str
    tags: Mapping[str, str] = field(default_factory=dict)
    # The details below are read only for buckets named in git or owned (None: not read / not set).
    detailed: bool = False
    versioning: str | None = None  # "Enabled", "Suspended", or None when never set
    encryption: Mapping[str, Any] | None = None  # {"type": "SSE-S3"|"SSE-KMS", "kmsKeyId": ...}
    public_access_block: Mapping[str, bool] | None = None
    policy: Mapping[str, Any] | None = None
    region: str | None = None
    # Whether the bucket holds no object, version or delete marker; read only for buckets a plan may
    # delete (None: not read).
    empty: bool | None = None


def live_buckets(live: LiveState) -> Mapping[str, LiveBucket]:
    """The Bucket resources of the account, typed."""
    return {name: r for name, r in live.of("Bucket").items() if isinstance(r, LiveBucket)}


class BucketKind(Kind):
    name = "Bucket"
    schema = "bucket.schema.json"
    folder = "buckets"
    default_deletion_policy = "Retain"
    document_fields = frozenset({"policy"})
    after = ("KmsKey",)
    reads = (
        "s3:ListAllMyBuckets",
        "s3:GetBucketTagging",
        "s3:GetBucketVersioning",
        "s3:GetEncryptionConfiguration",
        "s3:GetBucketPublicAccessBlock",
        "s3:GetBucketPolicy",
        "s3:ListBucketVersions",  # whether a bucket a plan may delete is empty
    )
    writes = (
        "s3:CreateBucket",
        "s3:DeleteBucket",
        "s3:PutBucketTagging",
        "s3:TagResource",  # CreateBucket with tags
        "s3:PutBucketVersioning",
        "s3:PutEncryptionConfiguration",
        "s3:PutBucketPublicAccessBlock",
        "s3:PutBucketPolicy",
    )
    audit_reads = ("s3:GetBucketAcl",)  # public ACL grants
    security_fields = frozenset({"publicAccessBlock", "policy", "encryption", "versioning"})

    def desired_view(self, resource: Resource, ctx: Context) -> dict[str, Any]:
        assert isinstance(resource, Bucket)
        tags = {**ctx.owned_tags(resource.tags), **self.deletion_tags(resource)}
        encryption: dict[str, Any] = {"type": resource.encryption.type}
        key = kms_key_id(resource.encryption, ctx)
        if resource.encryption.type == "SSE-KMS" and key:
            encryption["kmsKeyId"] = key
        return {
            "versioning": resource.versioning,
            "encryption": encryption,
            "publicAccessBlock": dict(PUBLIC_ACCESS_BLOCK_ON),
            "policy": bucket_policy(resource, ctx),
            "tags": tags,
        }

    def live_view(self, live: Any, ctx: Context) -> dict[str, Any]:
        assert isinstance(live, LiveBucket)
        return {
            "versioning": live.versioning == "Enabled",
            "encryption": dict(live.encryption) if live.encryption else None,
            "publicAccessBlock": dict(live.public_access_block) if live.public_access_block else None,
            "policy": live.policy or None,
            "tags": dict(live.tags),
        }

    def blocker(
        self,
        action: str,
        *,
        changed: Sequence[str],
        replaced: Sequence[str],
        live: Any,
        desired: Mapping[str, Any],
        ctx: Context,
    ) -> Blocker | None:
        if action == "delete" and isinstance(live, LiveBucket) and live.empty is False:
            return Blocker(
                "not-empty",
                f"bucket {live.name} holds objects, and the reconciler never deletes an object",
                "empty the bucket by hand, or put its manifest back (with deletionPolicy: Retain it is kept "
                "and released when the manifest goes)",
            )
        return super().blocker(action, changed=changed, replaced=replaced, live=live, desired=desired, ctx=ctx)

    def destroys(self, live: Any, state: LiveState) -> tuple[str, ...]:
        return ("the bucket itself (it is empty: no object, version or delete marker)",)

    def build(self, name: str, spec: Mapping[str, Any], source: Source) -> Resource:
        enc = spec["encryption"]
        access = spec["access"]
        return Bucket(
            name,
            source,
            region=spec.get("region"),
            versioning=spec["versioning"],
            encryption=Encryption(enc.get("type", "SSE-S3"), enc.get("kmsKeyId"), enc.get("kmsKey")),
            access=BucketAccess(tuple(access.get("read", ())), tuple(access.get("write", ()))),
            policy=tuple(spec["policy"]),
            deletion_policy=spec["deletionPolicy"],
            tags=dict(spec.get("tags", {})),
        )

    def references(self, view: Mapping[str, Any], ctx: Target) -> set[str]:
        encryption = view.get("encryption")
        key = encryption.get("kmsKeyId") if isinstance(encryption, Mapping) else None
        name = alias_name_of(key, ctx) if isinstance(key, str) else None
        return {f"KmsKey/{name}"} if name else set()

    def check_references(self, resource: Resource, exists: Exists, report: Report) -> None:
        assert isinstance(resource, Bucket)
        key = resource.encryption.kms_key
        if key and not exists("KmsKey", key):
            report(resource, ("spec", "encryption", "kmsKey"), f"no KmsKey manifest named '{key}'", ("KmsKey", key))
        for mode, refs in (("read", resource.access.read), ("write", resource.access.write)):
            for i, ref in enumerate(refs):
                kind, _, name = ref.partition("/")
                if not exists(kind, name):
                    report(resource, ("spec", "access", mode, i), f"no {kind} manifest named '{name}'", (kind, name))

    import_field_reasons = {
        "publicAccessBlock": "a manifest always blocks public access",
        "encryption": "a manifest always sets default encryption",
        "policy": "a manifest's bucket policy always denies requests without TLS",
    }


#: The kind, as the registry lists it.
KIND = BucketKind()
