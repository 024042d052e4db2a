"""Wildcard resources on actions that take resource-level permissions (LP010)."""

from __future__ import annotations

from rules_support import ACCOUNT, Evaluator, allow, hits, policy

from reconciler.rules import Severity

NB = f"arn:aws:sagemaker:ap-northeast-1:{ACCOUNT}:notebook-instance"


def test_lp010_writes_are_errors_reads_warnings(check: Evaluator) -> None:
    report = check(
        policy("stop", allow(["sagemaker:StopNotebookInstance", "sagemaker:ListNotebookInstances"], "*")),
        policy("read", allow("s3:GetObject", "*")),
        policy("objects", allow("s3:DeleteObject", "arn:aws:s3:::*/*")),
        policy("get-star", allow("s3:Get*", "*")),
    )
    by = {f.resource: f for f in report.of("LP010")}
    assert sorted(by) == ["Policy/get-star", "Policy/objects", "Policy/read", "Policy/stop"]
    assert by["Policy/stop"].severity is Severity.ERROR and by["Policy/objects"].severity is Severity.ERROR
    assert by["Policy/read"].severity is Severity.WARNING and by["Policy/get-star"].severity is Severity.WARNING
    stop = by["Policy/stop"]
    assert "sagemaker:StopNotebookInstance" in stop.message and "ListNotebookInstances" not in stop.message
    assert stop.hint == f"name the resources it needs, e.g. {NB}/${{NotebookInstanceName}}"


def test_lp010_not_reported(check: Evaluator) -> None:
    abac = allow(
        "sagemaker:StopNotebookInstance",
        "*",
        Condition={"StringEquals": {"aws:ResourceTag/team": "${aws:PrincipalTag/team}"}},
    )
    report = check(
        policy("list", allow(["sagemaker:ListNotebookInstances", "s3:ListAllMyBuckets"], "*")),
        policy("describe", allow(["ec2:Describe*", "sagemaker:List*"], "*")),  # List actions, some with types
        policy("named", allow("sagemaker:StopNotebookInstance", f"{NB}/nb")),
        policy("prefix", allow("sagemaker:StopNotebookInstance", f"{NB}/team-a-*")),
        policy("abac", abac),
        policy("deny", {"Effect": "Deny", "Action": "s3:DeleteObject", "Resource": "*"}),
        policy("service-wide", allow("s3:*", "*")),  # LP002's
        policy("pass", allow("iam:PassRole", "*")),  # LP003's
    )
    assert hits(report, "LP010") == []
    assert hits(report, "LP002") == ["Policy/service-wide"] and hits(report, "LP003") == ["Policy/pass"]
