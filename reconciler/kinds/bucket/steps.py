"""The AWS steps of the Bucket kind. Nothing here deletes, overwrites or expires an object: a bucket is deleted
only when it is empty, and the client factory refuses object deletions and lifecycle rules outright."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from reconciler.aws.answers import error_code
from reconciler.kinds.context import DELETION_POLICY_TAG
from reconciler.kinds.steps import Step, StepContext, StepError, StepInput, doc, ignore, tag_list

if TYPE_CHECKING:
    from mypy_boto3_s3.client import S3Client
    from mypy_boto3_s3.literals import BucketVersioningStatusType
    from mypy_boto3_s3.type_defs import (
        CreateBucketConfigurationTypeDef,
        ServerSideEncryptionByDefaultTypeDef,
        ServerSideEncryptionRuleTypeDef,
    )

NO_BUCKET = ("NoSuchBucket",)


def _s3(step: StepContext) -> S3Client:
    return step.aws.client("s3")


def _put_tags(step: StepContext, name: str, tags: dict[str, str]) -> None:
    if tags:
        _s3(step).put_bucket_tagging(Bucket=name, Tagging={"TagSet": tag_list(tags)})
    else:
        ignore(NO_BUCKET, _s3(step).delete_bucket_tagging, Bucket=name)


def _put_encryption(step: StepContext, name: str, encryption: dict[str, Any]) -> None:
    default: ServerSideEncryptionByDefaultTypeDef = {
        "SSEAlgorithm": "AES256" if encryption["type"] == "SSE-S3" else "aws:kms"
    }
    if encryption.get("kmsKeyId"):
        default["KMSMasterKeyID"] = encryption["kmsKeyId"]
    rule: ServerSideEncryptionRuleTypeDef = {"ApplyServerSideEncryptionByDefault": default}
    if encryption["type"] == "SSE-KMS":
        rule["BucketKeyEnabled"] = True
    _s3(step).put_bucket_encryption(Bucket=name, ServerSideEncryptionConfiguration={"Rules": [rule]})


def _converge_bucket(step: StepContext, change: StepInput, *, everything: bool) -> None:
    s3, name, want = _s3(step), change.name, change.desired
    # Public access is blocked first, before anything else is set.
    if everything or change.changed("publicAccessBlock"):
        s3.put_public_access_block(Bucket=name, PublicAccessBlockConfiguration=want["publicAccessBlock"])
    if everything or change.changed("encryption"):
        _put_encryption(step, name, want["encryption"])
    if everything or change.changed("versioning"):
        live_versioning = change.live.get("versioning")
        if want["versioning"] or live_versioning:
            status: BucketVersioningStatusType = "Enabled" if want["versioning"] else "Suspended"
            s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": status})
    if everything or change.changed("policy"):
        s3.put_bucket_policy(Bucket=name, Policy=doc(want["policy"]))
    if not everything and change.changed("tags"):
        _put_tags(step, name, want["tags"])


def create_bucket(step: StepContext, change: StepInput) -> None:
    s3, name, want = _s3(step), change.name, change.desired
    config: CreateBucketConfigurationTypeDef = {"Tags": tag_list(want["tags"])}
    region = step.ctx.region
    if region != "us-east-1":
        # The stubs spell LocationConstraint as a closed Literal of today's regions; any region string is
        # valid (a new region too), and narrowing it would change behaviour, so the check is silenced here.
        config["LocationConstraint"] = region  # type: ignore[typeddict-item]
    try:
        s3.create_bucket(Bucket=name, CreateBucketConfiguration=config)
    except ClientError as exc:
        if error_code(exc) == "BucketAlreadyExists":
            raise StepError(f"bucket name {name} is taken by another AWS account; choose another name") from exc
        if error_code(exc) != "BucketAlreadyOwnedByYou":
            raise
    _put_tags(step, name, want["tags"])  # also where CreateBucket does not take tags
    _converge_bucket(step, change, everything=True)


def update_bucket(step: StepContext, change: StepInput) -> None:
    _converge_bucket(step, change, everything=False)


def bucket_is_empty(step: StepContext, name: str) -> bool:
    """No object, no version and no delete marker."""
    page = _s3(step).list_object_versions(Bucket=name, MaxKeys=1)
    return not (page.get("Versions") or page.get("DeleteMarkers"))


def delete_bucket(step: StepContext, change: StepInput) -> None:
    name = change.name
    if not bucket_is_empty(step, name):
        raise StepError(
            f"bucket {name} is not empty; the reconciler never deletes objects, so the bucket is "
            "kept. Empty it by hand, or set deletionPolicy: Retain to release it"
        )
    ignore(NO_BUCKET, _s3(step).delete_bucket, Bucket=name)


def release_bucket(step: StepContext, change: StepInput) -> None:
    """Keep the bucket and its data; remove the ownership tag (and the deletion-policy tag)."""
    tags = {
        k: v for k, v in change.live.get("tags", {}).items() if k not in (step.ctx.ownership_key, DELETION_POLICY_TAG)
    }
    _put_tags(step, change.name, tags)


STEPS: dict[str, Step] = {
    "create": create_bucket,
    "update": update_bucket,
    "delete": delete_bucket,
    "release": release_bucket,
}
