"""Reading buckets: ``ListBuckets``, then tags for every bucket (ownership is a tag), then the settings of the
buckets named in git or owned, and whether a bucket a plan may delete is empty; all fanned out."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from concurrent.futures import Future
from typing import Any, TypeVar

from botocore.exceptions import ClientError

from reconciler.aws.answers import document, error_code, tags
from reconciler.aws.failures import translate_errors
from reconciler.aws.session import ReadSession
from reconciler.kinds.bucket import LiveBucket

T = TypeVar("T")


def read(session: ReadSession) -> dict[str, LiveBucket]:
    s3 = session.factory.client("s3")
    with translate_errors("reading S3 (ListBuckets)"):
        names = [b["Name"] for page in s3.get_paginator("list_buckets").paginate() for b in page.get("Buckets", [])]
    tag_futures = session.fan_out(lambda name: _tags(session, name), names)
    buckets: dict[str, LiveBucket] = {}
    detail: dict[str, list[Future[Any]]] = {}
    for name, future in zip(names, tag_futures, strict=True):
        bucket_tags = future.result()
        if bucket_tags is None:  # deleted since it was listed
            continue
        buckets[name] = LiveBucket(name=name, tags=bucket_tags)
        if session.scope.detailed("Bucket", name, bucket_tags):
            reads: list[Callable[[ReadSession, str], Any]] = [_versioning, _encryption, _public_access_block, _policy]
            if session.scope.may_delete("Bucket", name, bucket_tags):
                reads.append(_empty)
            detail[name] = [session.submit(fn, session, name) for fn in reads]
    for name, futures in detail.items():
        versioning, encryption, pab, policy, *empty = (f.result() for f in futures)
        buckets[name] = LiveBucket(
            name=name,
            tags=buckets[name].tags,
            detailed=True,
            versioning=versioning,
            encryption=encryption,
            public_access_block=pab,
            policy=policy,
            empty=empty[0] if empty else None,
        )
    return buckets


def _call(what: str, call: Callable[[], T], absent: Iterable[str]) -> T | None:
    """One S3 read; None when AWS answers with one of the ``absent`` error codes."""
    try:
        with translate_errors(f"reading S3 ({what})"):
            return call()
    except ClientError as exc:
        if error_code(exc) in absent:
            return None
        raise


def _tags(session: ReadSession, name: str) -> dict[str, str] | None:
    """The bucket's tags; None when the bucket is gone."""
    s3 = session.factory.client("s3")
    try:
        with translate_errors("reading S3 (GetBucketTagging)"):
            return tags(s3.get_bucket_tagging(Bucket=name).get("TagSet"))
    except ClientError as exc:
        if error_code(exc) in ("NoSuchTagSet", "NoSuchTagSetError"):
            return {}
        if error_code(exc) == "NoSuchBucket":
            return None
        raise


def _empty(session: ReadSession, name: str) -> bool | None:
    """No object, no version and no delete marker (one ListObjectVersions call of one key)."""
    s3 = session.factory.client("s3")
    out = _call("ListObjectVersions", lambda: s3.list_object_versions(Bucket=name, MaxKeys=1), ("NoSuchBucket",))
    return None if out is None else not (out.get("Versions") or out.get("DeleteMarkers"))


def _versioning(session: ReadSession, name: str) -> str | None:
    s3 = session.factory.client("s3")
    out = _call("GetBucketVersioning", lambda: s3.get_bucket_versioning(Bucket=name), ("NoSuchBucket",))
    return None if out is None else out.get("Status")


def _encryption(session: ReadSession, name: str) -> dict[str, Any] | None:
    s3 = session.factory.client("s3")
    out = _call(
        "GetBucketEncryption",
        lambda: s3.get_bucket_encryption(Bucket=name),
        ("ServerSideEncryptionConfigurationNotFoundError", "NoSuchBucket"),
    )
    if out is None:
        return None
    rules = out.get("ServerSideEncryptionConfiguration", {}).get("Rules", [])
    default = rules[0].get("ApplyServerSideEncryptionByDefault", {}) if rules else {}
    algorithm = default.get("SSEAlgorithm")
    if algorithm is None:
        return None
    result: dict[str, Any] = {"type": "SSE-S3" if algorithm == "AES256" else "SSE-KMS"}
    if default.get("KMSMasterKeyID"):
        result["kmsKeyId"] = default["KMSMasterKeyID"]
    return result


def _public_access_block(session: ReadSession, name: str) -> dict[str, bool] | None:
    s3 = session.factory.client("s3")
    out = _call(
        "GetPublicAccessBlock",
        lambda: s3.get_public_access_block(Bucket=name),
        ("NoSuchPublicAccessBlockConfiguration", "NoSuchBucket"),
    )
    if out is None:
        return None
    return {k: bool(v) for k, v in out.get("PublicAccessBlockConfiguration", {}).items()}


def _policy(session: ReadSession, name: str) -> dict[str, Any] | None:
    s3 = session.factory.client("s3")
    out = _call("GetBucketPolicy", lambda: s3.get_bucket_policy(Bucket=name), ("NoSuchBucketPolicy", "NoSuchBucket"))
    return None if out is None else document(out["Policy"])
