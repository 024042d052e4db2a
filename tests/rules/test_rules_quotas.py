"""IAM quotas (QTA001-QTA004), on the documents as the reconciler writes them and in the account."""

from __future__ import annotations

from typing import Any

from rules_support import ACCOUNT, Evaluator, group, hits, manifest, policy, role

from reconciler.aws.live import LiveState
from reconciler.kinds.group import LiveGroup
from reconciler.kinds.group.guard import GROUP_GUARD_POLICY
from reconciler.kinds.user import LiveUser
from reconciler.policydoc.measure import document_size
from reconciler.rules import evaluate_model
from reconciler.rules.fromlive import from_live


def _statements(count: int, width: int = 0) -> list[dict[str, Any]]:
    """``count`` statements of about 100 characters each (plus ``width`` in their resource)."""
    return [
        {
            "Effect": "Allow",
            "Action": "s3:GetObject",
            "Resource": f"arn:aws:s3:::sagemaker-rawdata/p{n:04d}/{'x' * width}*",
        }
        for n in range(count)
    ]


def _doc(count: int, width: int = 0) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": _statements(count, width)}


def test_qta001_managed_policy_size(check: Evaluator) -> None:
    big, small = _doc(70), _doc(50)
    assert document_size(big) > 6_144 > document_size(small)
    report = check(manifest("Policy", "big", {"document": big}), manifest("Policy", "small", {"document": small}))
    assert hits(report, "QTA001") == ["Policy/big"]
    over = document_size(big) - 6_144
    assert f"{document_size(big):,} characters (without whitespace), {over:,} over the limit of 6,144" in (
        report.of("QTA001")[0].message
    )


def test_qta002_inline_total_per_principal(check: Evaluator) -> None:
    half = _doc(30)  # about 2,900 characters
    report = check(
        manifest(
            "Role", "r", {"trustedServices": ["sagemaker.amazonaws.com"], "inlinePolicies": {"a": half, "b": half}}
        ),
        manifest("Group", "g", {"requireMFA": True, "inlinePolicies": {"a": half, "b": half}}),
        manifest("Group", "one", {"requireMFA": True, "inlinePolicies": {"a": half}}),
    )
    assert hits(report, "QTA002") == ["Group/g"]  # 5,120 for a group, 10,240 for a role
    assert "reconciler-group-guard" in report.of("QTA002")[0].message  # the guard counts
    inline = {"mine": _doc(25)}
    guard = {"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "NotAction": "iam:*", "Resource": "*"}]}
    live = LiveState(
        ACCOUNT,
        "ap-northeast-1",
        {
            "Group": {"g": LiveGroup("g", f"arn:aws:iam::{ACCOUNT}:group/g", "/", inline={GROUP_GUARD_POLICY: guard})},
            "User": {"u": LiveUser("u", f"arn:aws:iam::{ACCOUNT}:user/u", "/", ("g",), inline=inline)},
        },
    )
    assert hits(evaluate_model(from_live(live)), "QTA002") == ["User/u"]  # 2,048 for a user


def test_qta003_attachments(check: Evaluator) -> None:
    docs = [policy(f"p{n}", *_statements(1)) for n in range(11)]
    names = [f"p{n}" for n in range(11)]
    report = check(*docs, role("eleven", *names), role("ten", *names[:10]), group("G", *names))
    assert hits(report, "QTA003") == ["Group/G", "Role/eleven"]
    by = {f.resource: f.message for f in report.of("QTA003")}
    assert "1 over the limit of 10 per role (the default quota, which AWS raises up to 20" in by["Role/eleven"]
    assert "a quota AWS does not raise" in by["Group/G"]


def test_qta004_trust_policy_size(check: Evaluator) -> None:
    def trust(count: int) -> dict[str, Any]:
        principals = [f"arn:aws:iam::{ACCOUNT}:role/pipeline-{n:03d}" for n in range(count)]
        statement = {"Effect": "Allow", "Principal": {"AWS": principals}, "Action": "sts:AssumeRole"}
        return {"Version": "2012-10-17", "Statement": [statement]}

    report = check(role("big", trust=trust(50)), role("small", trust=trust(30)), role("generated"))
    assert hits(report, "QTA004") == ["Role/big"]
