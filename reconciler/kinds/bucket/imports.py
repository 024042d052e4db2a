"""A Bucket manifest for a live bucket. The statements the reconciler generates in a bucket policy (TLS only;
writes only by the declared writers) are recognised by meaning and become ``access.write``; the rest are kept
as written (``policy``)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from reconciler.kinds.bucket import Bucket, BucketAccess, LiveBucket, bucket_policy
from reconciler.kinds.importing import (
    ImportContext,
    canonical,
    deletion_policy,
    ordered_statement,
    raw_statements,
    user_tags,
)
from reconciler.kinds.kmskey import LiveKmsKey, decrypters, imported_key_name

_SID_CHARS = re.compile(r"[^A-Za-z0-9]")


def _writers(bucket: str, canon: Mapping[str, Any] | None, ictx: ImportContext) -> list[str]:
    """The principals of a generated "writes only by the declared writers" statement, or []."""
    if canon is None:
        return []
    arns = canon.get("Condition", {}).get("ArnNotEquals", {}).get("aws:principalarn", [])
    refs = [ictx.principal_ref(a) for a in arns]
    if not refs or None in refs:
        return []
    write = sorted({r for r in refs if r is not None})
    generated = bucket_policy(Bucket(bucket, None, access=BucketAccess(write=tuple(write))), ictx.ctx)
    return write if canonical(generated["Statement"][1]) == canon else []


def _policy(live: LiveBucket, ictx: ImportContext) -> tuple[list[str], list[Any]]:
    """The writers (``access.write``) and the extra statements of the live bucket policy."""
    if not live.policy:
        return [], []
    tls = canonical(bucket_policy(Bucket(live.name, None), ictx.ctx)["Statement"][0])
    writers: list[str] = []
    extras: list[Any] = []
    for raw in raw_statements(live.policy):
        canon = canonical(raw)
        if canon is not None and canon == tls:
            continue
        refs = _writers(live.name, canon, ictx)
        if refs and not writers:
            writers = refs
            continue
        stmt = ordered_statement(raw)
        if isinstance(stmt, dict) and isinstance(stmt.get("Sid"), str):
            stmt["Sid"] = _SID_CHARS.sub("", stmt["Sid"])  # S3 allows more than manifests (and IAM) do
            if not stmt["Sid"]:
                del stmt["Sid"]
        extras.append(stmt)
    return writers, extras


def _readers(key: LiveKmsKey | None, ictx: ImportContext) -> list[str]:
    """``access.read`` of a bucket under an imported key: the imported principals its key policy lets decrypt
    (who can read the data). The account does not record readers otherwise, and the rules (KMS005) hold the
    key's decrypters to the bucket's declared readers and writers."""
    if key is None:
        return []
    refs = {ictx.principal_ref(arn) for arn in decrypters(key.policy)}
    return sorted(r for r in refs if r is not None)


def to_spec(live: LiveBucket, ictx: ImportContext) -> dict[str, Any]:
    writers, extras = _policy(live, ictx)
    encryption = dict(live.encryption) if live.encryption else None
    if encryption and encryption.get("type") == "SSE-KMS" and not encryption.get("kmsKeyId"):
        encryption["kmsKeyId"] = "alias/aws/s3"  # the AWS managed key S3 uses when none is named
    readers: list[str] = []
    if encryption and (key := imported_key_name(encryption.get("kmsKeyId"), ictx)):
        encryption = {"type": encryption["type"], "kmsKey": key}
        readers = _readers(ictx.live_of("KmsKey", key), ictx)
    access = {"read": readers, "write": writers} if readers or writers else None
    return {
        "versioning": live.versioning == "Enabled",
        "encryption": encryption,
        "access": {k: v for k, v in access.items() if v} if access else None,
        "policy": extras,
        "deletionPolicy": deletion_policy(live.tags),
        "tags": user_tags(live.tags, ictx.ctx),
    }
