"""What the rules see of a bucket: versioning, encryption, Block Public Access, its policy (the statements the
product generates marked as such) and its writers; in the account, whether an ACL grants it to everyone."""

from __future__ import annotations

from dataclasses import replace

from reconciler.facts.builder import Facts
from reconciler.facts.model import BucketView, DocKind, fixed_locator, where
from reconciler.kinds.bucket import (
    PUBLIC_ACCESS_BLOCK_ON,
    Bucket,
    LiveBucket,
    bucket_policy,
    kms_key_id,
    principal_arns,
    writer_arns,
)
from reconciler.kinds.context import Context

WRITERS_SID = "DenyObjectWritesExceptDeclaredWriters"


def desired(bucket: Bucket, facts: Facts, ctx: Context) -> None:
    generated = 2 if bucket.access.write else 1
    access_location = where(bucket.source, "spec", "access", "write") if bucket.access.write else where(bucket.source)

    def locate(index: int) -> str | None:
        if index < generated:
            return access_location
        return where(bucket.source, "spec", "policy", index - generated)

    policy = facts.docs.build(
        DocKind.BUCKET,
        "policy",
        f"bucket policy of {bucket.ref}",
        bucket.ref,
        where(bucket.source, "spec", "policy"),
        bucket_policy(bucket, ctx),
        locate,
    )
    if policy is not None:
        # The statements the product generates are marked as such (they are not the user's to fix).
        policy = replace(
            policy,
            statements=tuple(s if s.index >= generated else replace(s, generated=True) for s in policy.statements),
        )
    facts.buckets[bucket.name] = BucketView(
        bucket.name,
        True,
        where(bucket.source),
        bucket.source,
        versioning=bucket.versioning,
        encryption=bucket.encryption.type,
        public_access_block=dict(PUBLIC_ACCESS_BLOCK_ON),
        policy=policy,
        writers=tuple(writer_arns(bucket, ctx)) if bucket.access.write else None,
        readers=tuple(principal_arns(bucket.access.read, ctx)),
        kms_key_id=kms_key_id(bucket.encryption, ctx),
    )


def live(bucket: LiveBucket, facts: Facts) -> None:
    ref = f"Bucket/{bucket.name}"
    policy = None
    if bucket.policy:
        policy = facts.docs.build(
            DocKind.BUCKET, "policy", f"bucket policy of {ref}", ref, None, bucket.policy, fixed_locator(None)
        )
    writers: tuple[str, ...] | None = None
    if policy is not None:
        # The writers of a protected bucket, read back from the statement the product writes.
        for s in policy.statements:
            if s.sid == WRITERS_SID and s.deny:
                values = s.condition_values("ArnNotEquals", "aws:PrincipalArn")
                writers = tuple(values or ())
    facts.buckets[bucket.name] = BucketView(
        bucket.name,
        facts.owns(bucket.tags),
        None,
        None,
        detailed=bucket.detailed,
        versioning=(bucket.versioning == "Enabled") if bucket.detailed else None,
        encryption=str(bucket.encryption["type"]) if bucket.encryption else None,
        kms_key_id=(bucket.encryption or {}).get("kmsKeyId"),
        public_access_block=dict(bucket.public_access_block) if bucket.public_access_block else None,
        policy=policy,
        writers=writers,
        public_acl=(bucket.name in facts.public_acl_buckets) if bucket.detailed else None,
    )
