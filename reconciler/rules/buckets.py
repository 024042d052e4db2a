"""Buckets (BKT001-BKT006): Block Public Access, encryption, versioning, public principals, TLS.

The product writes Block Public Access fully on, default encryption, the TLS-only deny and (with
``access.write``) the deny-other-writers statement for every Bucket manifest, so on the manifests only
BKT003 (versioning), BKT004 (a public extra statement) and BKT005 (no access.write) can fire; the others
check what is deployed (``reconciler audit``).
"""

from __future__ import annotations

from collections.abc import Iterator

from reconciler.facts.model import BucketView, Model, where
from reconciler.kinds.bucket import PUBLIC_ACCESS_BLOCK_ON
from reconciler.rules.analysis import is_public_principal
from reconciler.rules.base import BOTH, Hit, Rule
from reconciler.rules.findings import Severity


def _managed(model: Model) -> Iterator[BucketView]:
    for name in sorted(model.buckets):
        bucket = model.buckets[name]
        if bucket.managed and bucket.detailed:
            yield bucket


def pab_fully_on(bucket: BucketView) -> bool:
    pab = bucket.public_access_block or {}
    return all(pab.get(k) is True for k in PUBLIC_ACCESS_BLOCK_ON)


def _bkt001(model: Model) -> Iterator[Hit]:
    for bucket in _managed(model):
        if not pab_fully_on(bucket):
            off = sorted(k for k in PUBLIC_ACCESS_BLOCK_ON if not (bucket.public_access_block or {}).get(k))
            yield Hit(
                bucket.ref,
                bucket.location,
                f"{bucket.ref} does not block public access ({', '.join(off)} off)",
                "turn all four Block Public Access settings on (apply does)",
            )


def _bkt002(model: Model) -> Iterator[Hit]:
    for bucket in _managed(model):
        if bucket.encryption is None:
            yield Hit(
                bucket.ref,
                bucket.location,
                f"{bucket.ref} has no default encryption configuration",
                "set encryption SSE-S3 or SSE-KMS (apply does)",
            )


def _bkt003(model: Model) -> Iterator[Hit]:
    for bucket in _managed(model):
        if bucket.versioning:
            continue
        protected = bucket.protected
        yield Hit(
            bucket.ref,
            where(bucket.source, "spec", "versioning") or bucket.location,
            f"{bucket.ref} keeps no object versions: an overwrite or delete loses the data for good"
            + (" (the bucket is protected by access.write)" if protected else ""),
            "versioning: true",
            Severity.ERROR if protected else Severity.WARNING,
        )


def _bkt004(model: Model) -> Iterator[Hit]:
    for bucket in _managed(model):
        for s in bucket.policy.statements if bucket.policy else ():
            if is_public_principal(s):
                yield Hit(
                    bucket.ref,
                    s.location,
                    f"the bucket policy of {bucket.ref} allows {s.render()} to anyone",
                    "name the principals, or narrow with aws:SourceAccount / aws:PrincipalOrgID",
                )


def _bkt005(model: Model) -> Iterator[Hit]:
    for bucket in _managed(model):
        if not bucket.protected:
            yield Hit(
                bucket.ref,
                where(bucket.source, "spec", "access") or bucket.location,
                f"{bucket.ref} declares no access.write: any principal whose policies allow writes to it can "
                "overwrite or delete its objects",
                "declare access.write (the principals that may write); the product then denies writes to all others",
            )


def _tls_only(bucket: BucketView) -> bool:
    for s in bucket.policy.statements if bucket.policy else ():
        values = s.condition_values("Bool", "aws:SecureTransport")
        if s.deny and values is not None and "false" in values:
            return True
    return False


def _bkt006(model: Model) -> Iterator[Hit]:
    for bucket in _managed(model):
        if not _tls_only(bucket):
            yield Hit(
                bucket.ref,
                bucket.location,
                f"{bucket.ref} has no bucket policy denying requests without TLS (aws:SecureTransport false)",
                "apply writes the DenyInsecureTransport statement",
            )


RULES: tuple[Rule, ...] = (
    Rule(
        "BKT001",
        Severity.ERROR,
        "Block Public Access not fully on",
        "All four S3 Block Public Access settings stop a bucket policy or ACL from making data public "
        "(Security Hub S3.8).",
        _bkt001,
        BOTH,
    ),
    Rule(
        "BKT002",
        Severity.WARNING,
        "No default encryption",
        "Default encryption makes every new object encrypted at rest (AWS applies SSE-S3 to new buckets "
        "since 2023; an explicit configuration documents it).",
        _bkt002,
        BOTH,
    ),
    Rule(
        "BKT003",
        Severity.ERROR,
        "Versioning off (error on protected buckets, warning otherwise)",
        "Without versioning an overwrite or a delete cannot be undone; protected data must be recoverable.",
        _bkt003,
        BOTH,
    ),
    Rule(
        "BKT004",
        Severity.ERROR,
        "Public principal in the bucket policy",
        'An Allow to "*" without a narrowing condition makes the bucket public (Security Hub S3.2/S3.3).',
        _bkt004,
        BOTH,
    ),
    Rule(
        "BKT005",
        Severity.WARNING,
        "Bucket declares no writers",
        "Without access.write the product cannot deny writes to undeclared principals.",
        _bkt005,
        BOTH,
    ),
    Rule(
        "BKT006",
        Severity.WARNING,
        "No TLS-only bucket policy",
        "Requests over plain HTTP should be denied (aws:SecureTransport, Security Hub S3.5).",
        _bkt006,
        BOTH,
    ),
)
