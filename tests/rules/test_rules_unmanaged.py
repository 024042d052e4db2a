"""What is granted outside git is never unseen: KEY001 in plan and audit, AUD006 and AUD007 in audit, against
the embedded AWS (a real account built by the product, then changed by hand)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import boto3
from clirun import REPO, cli_here

from reconciler.audit import audit
from reconciler.aws.clients import AwsConfig, ClientFactory
from reconciler.kinds import load_directory

REGION = "ap-northeast-1"
WRITE_RAW = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": ["s3:PutObject", "s3:DeleteObject"],
                "Resource": "arn:aws:s3:::sagemaker-rawdata/*",
            }
        ],
    }
)


def findings(report: object, *rules: str) -> list[tuple[str, str, str]]:
    return sorted(
        (f.severity.value, f.rule, f.resource)
        for f in report.findings  # type: ignore[attr-defined]
        if f.rule in rules
    )


def test_a_managed_users_access_keys_are_a_finding_of_plan_and_audit(aws: AwsConfig, tmp_path: Path) -> None:
    shutil.copytree(REPO / "desired-state", tmp_path / "ds")
    assert cli_here("apply", "--auto-approve", str(tmp_path / "ds"))[0] == 0
    key = boto3.client("iam").create_access_key(UserName="bob")["AccessKey"]["AccessKeyId"]
    code, text = cli_here("plan", str(tmp_path / "ds"))
    assert code == 0, text  # a warning: nothing refused, nothing to change
    assert "warning KEY001  User/bob  ds/users/users.yaml:13:1" in text.replace(str(tmp_path) + "/", "")
    assert f"User/bob has 1 access key(s) of its own: {key} (Active)" in text
    report = json.loads(cli_here("plan", "--output", "json", str(tmp_path / "ds"))[1])["invariants"]
    (finding,) = [f for f in report["findings"] if f["rule"] == "KEY001"]
    assert finding["location"].endswith("users/users.yaml:13:1")
    desired = load_directory(tmp_path / "ds")
    assert findings(audit(ClientFactory(aws, read_only=True), desired, REGION), "KEY001") == [
        ("warning", "KEY001", "User/bob")
    ]
    # A deliberate one is an exception with its reason, like any finding.
    settings = tmp_path / "ds" / "settings.yaml"
    settings.write_text(
        settings.read_text() + "  exceptions:\n    - rule: KEY001\n      resource: User/bob\n"
        "      reason: the nightly export runs as bob until ticket 42\n      owner: data-eng\n"
    )
    code, text = cli_here("plan", str(tmp_path / "ds"))
    assert "KEY001" in text and "the nightly export runs as bob until ticket 42" in text
    assert not [
        f
        for f in json.loads(cli_here("plan", "--output", "json", str(tmp_path / "ds"))[1])["invariants"]["findings"]
        if f["rule"] == "KEY001"
    ]


def test_audit_reports_unmanaged_writers_of_protected_data_and_unmanaged_members_of_managed_groups(
    aws: AwsConfig,
) -> None:
    assert cli_here("apply", "--auto-approve", str(REPO / "desired-state"))[0] == 0
    iam = boto3.client("iam")
    iam.create_user(UserName="mallory")
    iam.add_user_to_group(GroupName="SageMakerEngineer", UserName="mallory")  # the classic self-grant
    iam.create_role(
        RoleName="etl-by-hand",
        AssumeRolePolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {"Effect": "Allow", "Principal": {"Service": "glue.amazonaws.com"}, "Action": "sts:AssumeRole"}
                ],
            }
        ),
    )
    iam.put_role_policy(RoleName="etl-by-hand", PolicyName="write-raw", PolicyDocument=WRITE_RAW)
    iam.create_user(UserName="bystander")  # unmanaged, in no managed group, no write: nothing to say
    report = audit(ClientFactory(aws, read_only=True), load_directory(REPO / "desired-state"), REGION)
    assert findings(report, "AUD006", "AUD007") == [
        ("error", "AUD006", "Role/etl-by-hand"),
        ("error", "AUD007", "User/mallory"),
    ]
    (writer,) = [f for f in report.findings if f.rule == "AUD006"]
    assert "can write, delete or re-open objects of protected Bucket/sagemaker-rawdata" in writer.message
    assert "s3:DeleteObject, s3:PutObject" in writer.message
    # With the manifests, the membership is also drift of the group (AUD005), which apply removes.
    assert ("error", "AUD005", "Group/SageMakerEngineer") in findings(report, "AUD005")
