"""The Bucket kind: an S3 bucket, its protection, and who may write its data."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from reconciler.aws.live import LiveBucket, LiveState
from reconciler.kinds.base import Blocker, Context, Kind
from reconciler.manifests.model import Bucket, Resource

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
    arns: set[str] = set()
    for ref in bucket.access.write:
        kind, _, name = ref.partition("/")
        if kind == "Role":
            arns.add(ctx.role_arn(name))
        elif kind == "User":
            arns.add(ctx.user_arn(name))
        elif kind == "Group":
            arns.update(ctx.user_arn(u.name) for u in ctx.desired.users.values() if name in u.groups)
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


class BucketKind(Kind):
    name = "Bucket"
    steps_module = "reconciler.kinds.bucket.steps"
    default_deletion_policy = "Retain"
    document_fields = frozenset({"policy"})
    reads = (
        "s3:ListAllMyBuckets",
        "s3:GetBucketTagging",
        "s3:GetBucketVersioning",
        "s3:GetEncryptionConfiguration",
        "s3:GetBucketPublicAccessBlock",
        "s3:GetBucketPolicy",
        "s3:ListBucketVersions",  # whether a bucket a plan may delete is empty
    )

    def desired_view(self, resource: Resource, ctx: Context) -> dict[str, Any]:
        assert isinstance(resource, Bucket)
        tags = {**ctx.owned_tags(resource.tags), **self.deletion_tags(resource)}
        encryption: dict[str, Any] = {"type": resource.encryption.type}
        if resource.encryption.type == "SSE-KMS" and resource.encryption.kms_key_id:
            encryption["kmsKeyId"] = resource.encryption.kms_key_id
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
            "policy": dict(live.policy) if live.policy else None,
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
