"""KMS keys (KMS001-KMS005): protected data under a customer managed key that only its declared readers and
writers can use, with rotation on and a key policy that stays inside the account.

A key policy is a resource policy: ``"Resource": "*"`` means the key itself, and ``kms:*`` for the account
root is AWS's standard delegation (who may use the key is then decided by IAM). So key policies are judged here,
not by the identity-policy linter (``DocKind.KEY`` is not an authored identity document).
"""

from __future__ import annotations

from collections.abc import Iterator

from reconciler.facts.model import BucketView, KeyView, Model, Principal, Statement, where
from reconciler.rules.analysis import GrantFinder, account_of, action_in, is_public_principal
from reconciler.rules.base import BOTH, Hit, Rule
from reconciler.rules.findings import Severity

DECRYPT = "kms:Decrypt"
# The key policy statement that grants everything: every action of the service.
ALL_KMS = "kms:*"


def account_root(model: Model, principal: str) -> bool:
    """The account itself (its root ARN; the parser writes a bare id so): the standard delegation to IAM."""
    return principal == f"arn:aws:iam::{model.account_id}:root"


def _keys(model: Model) -> Iterator[KeyView]:
    for name in sorted(model.keys):
        yield model.keys[name]


def _key_statements(key: KeyView) -> Iterator[Statement]:
    if key.policy is not None:
        yield from key.policy.statements


def _grants_everything(statement: Statement) -> bool:
    """An Allow of every KMS action (``kms:*``, ``*``, or a NotAction that leaves them all)."""
    return statement.allow and action_in(statement, ALL_KMS) and action_in(statement, "kms:ScheduleKeyDeletion")


def _protected_buckets(model: Model) -> Iterator[BucketView]:
    for name in sorted(model.buckets):
        bucket = model.buckets[name]
        if bucket.detailed and bucket.protected:
            yield bucket


def _kms001(model: Model) -> Iterator[Hit]:
    for bucket in _protected_buckets(model):
        key = model.key_named_by(bucket.kms_key_id) if bucket.encryption == "SSE-KMS" else None
        if key is not None:
            continue
        how = (
            f"SSE-KMS with {bucket.kms_key_id}, which is not a KmsKey the reconciler manages"
            if bucket.encryption == "SSE-KMS"
            else (bucket.encryption or "no default encryption")
        )
        yield Hit(
            bucket.ref,
            where(bucket.source, "spec", "encryption") or bucket.location,
            f"{bucket.ref} is protected (it declares its writers) but is encrypted with {how}: whoever can read "
            "its objects can read the data, and no key policy you review decides who can decrypt it",
            "encryption: {type: SSE-KMS, kmsKey: NAME} with a KmsKey manifest NAME",
        )


def _kms002(model: Model) -> Iterator[Hit]:
    for key in _keys(model):
        if key.rotation is False:
            yield Hit(
                key.ref,
                where(key.source, "spec", "rotation") or key.location,
                f"{key.ref} does not rotate its key material: a leaked or cracked key stays valid forever",
                "rotation: true",
            )


def _kms003(model: Model) -> Iterator[Hit]:
    for key in _keys(model):
        for s in _key_statements(key):
            if not _grants_everything(s) or s.principal is None:
                continue
            others = [p for p in s.principal.get("AWS", ()) if not account_root(model, p)]
            others += [f"{kind} {p}" for kind, values in s.principal.items() if kind != "AWS" for p in values]
            shown = sorted(set(others))
            if shown:
                yield Hit(
                    key.ref,
                    s.location or key.location,
                    f"the key policy of {key.ref} gives every KMS action (kms:*) to {', '.join(shown)}: they may "
                    "change the key policy, disable the key or schedule its deletion",
                    "give kms:* only to the account root (the standard delegation to IAM) and grant others the "
                    "actions they use (kms:Decrypt, kms:GenerateDataKey)",
                )


def _kms004(model: Model) -> Iterator[Hit]:
    for key in _keys(model):
        for s in _key_statements(key):
            if not s.allow or s.principal is None:
                continue
            if is_public_principal(s):
                yield Hit(
                    key.ref,
                    s.location or key.location,
                    f"the key policy of {key.ref} allows everyone (Principal *): any AWS account may use the key",
                    "name the principals of this account that use the key",
                )
                continue
            outside = sorted(
                p for p in s.principal.get("AWS", ()) if p != "*" and account_of(p) not in (None, model.account_id)
            )
            if outside:
                yield Hit(
                    key.ref,
                    s.location or key.location,
                    f"the key policy of {key.ref} grants {', '.join(outside)}, outside account {model.account_id}",
                    "keep the key's users inside the account",
                )


def _allowed(model: Model, finder: GrantFinder, bucket: BucketView) -> set[str]:
    """Who may read the bucket's data: its declared readers and writers; in the account, where readers are not
    recorded, its writers and whoever IAM lets read its objects."""
    allowed = set(bucket.writers or ()) | set(bucket.readers or ())
    if bucket.readers is None:
        target = f"{bucket.arn}/*"
        allowed |= {p.arn for p in model.principals if finder(p, [("s3:GetObject", target)])}
    return allowed


def _callers(model: Model) -> Iterator[Principal]:
    """Who can make a request: roles and users (a group acts through its users)."""
    for principal in model.principals:
        if principal.kind != "Group":
            yield principal


def _kms005(model: Model) -> Iterator[Hit]:
    finder = GrantFinder(model)
    for bucket in _protected_buckets(model):
        key = model.key_named_by(bucket.kms_key_id) if bucket.encryption == "SSE-KMS" else None
        if key is None:
            continue  # KMS001
        allowed = _allowed(model, finder, bucket)
        # A key without a readable policy is taken to have the default one: the delegation to IAM.
        delegates = key.policy is None
        reported: set[str] = set()
        for s in _key_statements(key):
            if not s.allow or s.principal is None or not action_in(s, DECRYPT):
                continue
            for arn in sorted(s.principal.get("AWS", ())):
                if account_root(model, arn):
                    delegates = True
                elif arn not in allowed and arn not in reported and arn != "*":
                    reported.add(arn)
                    yield Hit(
                        key.ref,
                        s.location or key.location,
                        f"the key policy of {key.ref} lets {arn} decrypt {bucket.ref}'s data, but it is "
                        f"not a declared reader or writer of {bucket.ref}",
                        f"remove it from the key policy, or declare it in {bucket.ref}'s access",
                    )
        if not delegates:
            continue
        for principal in _callers(model):
            if principal.arn in allowed or principal.arn in reported:
                continue
            found = finder(principal, [(DECRYPT, key.target)])
            if found:
                grant = found[0]
                yield Hit(
                    principal.ref,
                    grant.statement.location or principal.location,
                    f"{principal.ref} may decrypt with {key.ref} ({grant.document.label} allows {DECRYPT} on "
                    f"{grant.pattern}), the key of {bucket.ref}, but is not a declared reader or writer of "
                    f"{bucket.ref}",
                    f"narrow the statement's Resource to the keys it needs, or declare {principal.ref} in "
                    f"{bucket.ref}'s access",
                )


RULES: tuple[Rule, ...] = (
    Rule(
        "KMS001",
        Severity.ERROR,
        "Protected bucket not encrypted with a managed customer key",
        "Raw data is encrypted with a customer managed KMS key whose policy decides who can decrypt it; with "
        "SSE-S3 or an AWS managed key, anyone who can read the objects reads the data.",
        _kms001,
        BOTH,
    ),
    Rule(
        "KMS002",
        Severity.ERROR,
        "Key rotation off",
        "Automatic rotation replaces the key material every year; without it a compromised key stays valid.",
        _kms002,
        BOTH,
    ),
    Rule(
        "KMS003",
        Severity.ERROR,
        "Key policy gives kms:* to a principal other than the account",
        "kms:* includes changing the key policy and scheduling deletion; only the standard delegation to the "
        "account root may hold it.",
        _kms003,
        BOTH,
    ),
    Rule(
        "KMS004",
        Severity.ERROR,
        "Key policy grants a principal outside the account",
        "A key that protects the account's data is used by the account's principals only.",
        _kms004,
        BOTH,
    ),
    Rule(
        "KMS005",
        Severity.ERROR,
        "Someone other than a protected bucket's readers and writers can decrypt its data",
        "The key policy and IAM together decide who can decrypt; only the bucket's declared readers and writers may.",
        _kms005,
        BOTH,
    ),
)
