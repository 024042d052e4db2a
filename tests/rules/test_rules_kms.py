"""The KMS rules (KMS001-KMS005) beyond their documented examples: both ways into a key (its policy, IAM), what
counts as the account, and the account side, where readers are who IAM lets read."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rules_support import ACCOUNT, Evaluator, allow, bucket, group, hits, manifest, policy, role, user

from reconciler.aws.live import LiveState
from reconciler.kinds.bucket import LiveBucket
from reconciler.kinds.kmskey import LiveKmsKey, default_policy
from reconciler.kinds.policy import LivePolicy
from reconciler.kinds.role import LiveRole
from reconciler.rules import evaluate_model
from reconciler.rules.fromlive import from_live

ROOT = f"arn:aws:iam::{ACCOUNT}:root"
REGION = "ap-northeast-1"
OWNED = {"managed-by": "reconciler"}


def key(name: str, *statements: dict[str, Any], **spec: Any) -> dict[str, Any]:
    if statements:
        spec["policy"] = {"Version": "2012-10-17", "Statement": list(statements)}
    return manifest("KmsKey", name, spec)


def grant(principal: str | list[str] | dict[str, Any], action: str | list[str], **extra: Any) -> dict[str, Any]:
    shown = principal if isinstance(principal, dict) else {"AWS": principal}
    return {"Effect": "Allow", "Principal": shown, "Action": action, "Resource": "*", **extra}


def protected(name: str = "raw", key_name: str = "k", **access: Any) -> dict[str, Any]:
    return bucket(name, encryption={"type": "SSE-KMS", "kmsKey": key_name}, access={"write": ["Role/loader"], **access})


def line_at(tmp_path: Path, location: str | None) -> str:
    """The text of the manifest line a finding points at (``m/resources.yaml:LINE:COL``)."""
    assert location is not None and location.startswith("m/resources.yaml:")
    number = int(location.split(":")[1])
    return (tmp_path / "resources.yaml").read_text(encoding="utf-8").splitlines()[number - 1]


def test_kms001_needs_a_key_the_reconciler_manages(check: Evaluator, tmp_path: Path) -> None:
    report = check(
        role("loader"),
        key("k"),
        protected("managed"),
        bucket(
            "by-id",
            encryption={"type": "SSE-KMS", "kmsKeyId": "alias/someone-elses"},
            access={"write": ["Role/loader"]},
        ),
        bucket("by-alias", encryption={"type": "SSE-KMS", "kmsKeyId": "alias/k"}, access={"write": ["Role/loader"]}),
        bucket("sse-s3", access={"write": ["Role/loader"]}),
        bucket("open"),  # declares no writers: not protected, no finding
    )
    assert hits(report, "KMS001") == ["Bucket/by-id", "Bucket/sse-s3"]
    (by_id,) = [f for f in report.of("KMS001") if f.resource == "Bucket/by-id"]
    assert "alias/someone-elses" in by_id.message
    assert line_at(tmp_path, by_id.location).strip() == "type: SSE-KMS"  # the encryption field's value


def test_kms003_kms_star_only_for_the_account(check: Evaluator) -> None:
    report = check(
        key("root-only", grant(ROOT, "kms:*")),
        key("by-id", grant(ACCOUNT, "kms:*")),  # the account id is the account too
        key("role", grant(ROOT, "kms:*"), grant(f"arn:aws:iam::{ACCOUNT}:role/ops", "*")),
        key("service", grant(ROOT, "kms:*"), grant({"Service": "logs.amazonaws.com"}, "kms:*")),
        key("narrow", grant(ROOT, "kms:*"), grant(f"arn:aws:iam::{ACCOUNT}:role/ops", ["kms:Decrypt", "kms:Encrypt"])),
    )
    assert hits(report, "KMS003") == ["KmsKey/role", "KmsKey/service"]
    assert "Service logs.amazonaws.com" in report.of("KMS003")[1].message


def test_kms004_everyone_or_another_account(check: Evaluator) -> None:
    narrowed = {"StringEquals": {"aws:PrincipalAccount": ACCOUNT}}
    report = check(
        key("partner", grant(ROOT, "kms:*"), grant("arn:aws:iam::210987654321:role/partner", "kms:Decrypt")),
        key("other-root", grant("210987654321", "kms:Decrypt")),
        key("everyone", grant("*", "kms:Decrypt")),
        key("everyone-here", grant("*", "kms:Decrypt", Condition=narrowed)),
        key("inside", grant(ROOT, "kms:*")),
    )
    assert hits(report, "KMS004") == ["KmsKey/everyone", "KmsKey/other-root", "KmsKey/partner"]


def test_kms005_through_the_key_policy(check: Evaluator, tmp_path: Path) -> None:
    reader = f"arn:aws:iam::{ACCOUNT}:role/reader"
    stranger = f"arn:aws:iam::{ACCOUNT}:role/stranger"
    report = check(
        role("loader"),
        role("reader"),
        key("k", grant(ROOT, "kms:*"), grant([reader, stranger], "kms:Decrypt")),
        protected(read=["Role/reader"]),
    )
    (finding,) = report.of("KMS005")
    assert finding.resource == "KmsKey/k" and stranger in finding.message and reader not in finding.message
    # Located at the key policy's statement that grants it (its second one).
    assert line_at(tmp_path, finding.location).strip() == "- Effect: Allow"


def test_kms005_through_iam_only_when_the_key_policy_delegates(check: Evaluator) -> None:
    docs = [
        role("loader"),
        policy("decrypt-all", allow("kms:Decrypt", "*")),
        role("analyst", "decrypt-all"),
        group("ops", "decrypt-all"),
        user("dave", "ops"),
        protected(),
    ]
    delegating = check(*docs, key("k"))
    # A role and a user (through their group) may decrypt; the group itself makes no request.
    assert hits(delegating, "KMS005") == ["Role/analyst", "User/dave"]
    assert "decrypt-all" in delegating.of("KMS005")[0].message
    # Without the delegation to the account, identity policies do not open the key.
    closed = check(
        *docs, key("k", grant(f"arn:aws:iam::{ACCOUNT}:role/loader", ["kms:Decrypt", "kms:GenerateDataKey"]))
    )
    assert hits(closed, "KMS005") == []


def test_kms005_declared_readers_writers_and_denies(check: Evaluator) -> None:
    deny = {"Effect": "Deny", "Action": "kms:Decrypt", "Resource": "*"}
    report = check(
        role("loader", "decrypt-all"),
        policy("decrypt-all", allow("kms:Decrypt", "*")),
        policy("but-not", deny),
        role("reader", "decrypt-all"),
        role("denied", "decrypt-all", "but-not"),
        role("other-keys", "decrypt-some"),
        policy("decrypt-some", allow("kms:Decrypt", f"arn:aws:kms:{REGION}:{ACCOUNT}:key/*")),
        key("k"),
        protected(read=["Role/reader"]),
    )
    # Declared readers and writers may; a denied one cannot; a statement on any key of the account reaches it
    # (its ARN is not known before it exists).
    assert hits(report, "KMS005") == ["Role/other-keys"]


def _live_key(policy_doc: dict[str, Any]) -> LiveKmsKey:
    return LiveKmsKey(
        name="k",
        arn=f"arn:aws:kms:{REGION}:{ACCOUNT}:alias/k",
        key_id="1234abcd",
        key_arn=f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234abcd",
        tags=OWNED,
        detailed=True,
        policy=policy_doc,
        rotation=False,
    )


def _live_role(name: str, *attached: str) -> LiveRole:
    return LiveRole(
        name=name,
        arn=f"arn:aws:iam::{ACCOUNT}:role/{name}",
        path="/",
        trust={"Version": "2012-10-17", "Statement": []},
        attached=attached,
        inline={},
        boundary=None,
        max_session_duration=3600,
        description="",
        tags=OWNED,
    )


def _live_policy(name: str, *statements: dict[str, Any]) -> LivePolicy:
    return LivePolicy(
        name=name,
        arn=f"arn:aws:iam::{ACCOUNT}:policy/{name}",
        path="/",
        document={"Version": "2012-10-17", "Statement": list(statements)},
        default_version_id="v1",
        version_ids=("v1",),
        description="",
        tags=OWNED,
    )


def test_the_account_side_readers_are_who_iam_lets_read_and_the_key_is_found_by_its_arn() -> None:
    loader = f"arn:aws:iam::{ACCOUNT}:role/loader"
    key_arn = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234abcd"
    live = LiveState(
        ACCOUNT,
        REGION,
        {
            "Policy": {
                "read-raw": _live_policy("read-raw", allow("s3:GetObject", "arn:aws:s3:::raw/*")),
                "this-key": _live_policy("this-key", allow("kms:Decrypt", key_arn)),
                "other-key": _live_policy("other-key", allow("kms:Decrypt", key_arn.replace("1234abcd", "9999"))),
            },
            "Role": {
                "loader": _live_role("loader"),
                "reader": _live_role(
                    "reader", *(f"arn:aws:iam::{ACCOUNT}:policy/{p}" for p in ("read-raw", "this-key"))
                ),
                "snoop": _live_role("snoop", f"arn:aws:iam::{ACCOUNT}:policy/this-key"),
                "elsewhere": _live_role("elsewhere", f"arn:aws:iam::{ACCOUNT}:policy/other-key"),
            },
            "KmsKey": {"k": _live_key(default_policy(ACCOUNT))},
            "Bucket": {
                "raw": LiveBucket(
                    name="raw",
                    tags=OWNED,
                    detailed=True,
                    versioning="Enabled",
                    # As configured by hand: the key's ARN, not its alias.
                    encryption={"type": "SSE-KMS", "kmsKeyId": key_arn},
                    public_access_block=None,
                    policy={
                        "Version": "2012-10-17",
                        "Statement": [
                            {
                                "Sid": "DenyObjectWritesExceptDeclaredWriters",
                                "Effect": "Deny",
                                "Principal": "*",
                                "Action": "s3:PutObject",
                                "Resource": "arn:aws:s3:::raw/*",
                                "Condition": {"ArnNotEquals": {"aws:PrincipalArn": [loader]}},
                            }
                        ],
                    },
                )
            },
        },
    )
    report = evaluate_model(from_live(live))
    assert hits(report, "KMS001") == []  # the key ARN designates the managed key
    assert hits(report, "KMS002") == ["KmsKey/k"]
    # reader reads the objects (IAM), so may decrypt; snoop may decrypt but reads nothing; elsewhere's key is
    # another one.
    assert hits(report, "KMS005") == ["Role/snoop"]
