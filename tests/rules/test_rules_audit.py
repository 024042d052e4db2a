"""`audit` against the embedded AWS: hand-made accounts, read-only, exact findings.

moto's account summary always says ``AccountMFAEnabled: 0`` (the emulator's root user has no MFA and
none can be enrolled through the API), so AUD002 is a true finding of every emulated account.
"""

from __future__ import annotations

import json
from dataclasses import replace
from io import StringIO
from pathlib import Path

import boto3
import pytest
from handmade import SANDBOX_ACCOUNT, build
from rules_support import SEED_DIR

from reconciler import cli
from reconciler.audit import audit
from reconciler.aws.clients import AwsConfig, CallRecorder, ClientFactory
from reconciler.engine.preview import preview
from reconciler.errors import AccountMismatchError
from reconciler.kinds import load_directory
from reconciler.manifests import DesiredState
from reconciler.manifests.model import PolicyException
from reconciler.rules import Report, evaluate

REPO = Path(__file__).resolve().parents[2]
REGION = "ap-northeast-1"
ADMIN = "arn:aws:iam::aws:policy/AdministratorAccess"


@pytest.fixture
def example() -> DesiredState:
    return load_directory(REPO / "desired-state")


def run_audit(aws: AwsConfig, desired: DesiredState | None = None) -> tuple[Report, CallRecorder]:
    recorder = CallRecorder()
    report = audit(ClientFactory(aws, read_only=True, recorder=recorder), desired, REGION)
    return report, recorder


def found(report: Report) -> list[tuple[str, str, str]]:
    return sorted((f.severity.value, f.rule, f.resource) for f in report.findings)


def test_audit_of_a_hand_made_account(aws: AwsConfig) -> None:
    iam, s3 = boto3.client("iam"), boto3.client("s3")
    # A console user without MFA, and one who enrolled a virtual device.
    for name in ("intern", "careful"):
        iam.create_user(UserName=name)
        iam.create_login_profile(UserName=name, Password="Initial-Passw0rd!")
    device = iam.create_virtual_mfa_device(VirtualMFADeviceName="careful")["VirtualMFADevice"]["SerialNumber"]
    iam.enable_mfa_device(
        UserName="careful", SerialNumber=device, AuthenticationCode1="123456", AuthenticationCode2="654321"
    )
    # An administrator nobody manages.
    iam.create_user(UserName="legacy-admin")
    iam.attach_user_policy(UserName="legacy-admin", PolicyArn=ADMIN)
    # A public bucket, and one without Block Public Access.
    config = {"LocationConstraint": REGION}
    s3.create_bucket(Bucket="public-share", CreateBucketConfiguration=config)  # type: ignore[typeddict-item]
    s3.put_bucket_policy(
        Bucket="public-share",
        Policy=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": "*",
                        "Action": "s3:GetObject",
                        "Resource": "arn:aws:s3:::public-share/*",
                    }
                ],
            }
        ),
    )
    s3.create_bucket(Bucket="scratch-space", CreateBucketConfiguration=config)  # type: ignore[typeddict-item]

    report, recorder = run_audit(aws)

    assert found(report) == [
        ("error", "AUD001", "User/intern"),
        ("error", "AUD002", f"Account/{SANDBOX_ACCOUNT}"),
        ("error", "AUD003", "User/legacy-admin"),
        ("error", "AUD004", "Bucket/public-share"),
        ("error", "LP001", "User/legacy-admin"),
        ("error", "MFA001", "User/careful"),
        ("error", "MFA001", "User/intern"),
        ("error", "MFA001", "User/legacy-admin"),
        ("error", "MFA003", "User/legacy-admin"),
        ("warning", "AUD004", "Bucket/scratch-space"),
    ]
    assert report.exit_code == 3 and report.subject == "account"
    assert recorder.mutating() == []
    assert recorder.counts()[("iam", "ListMFADevices")] == 2  # only the users with a console password


def test_audit_of_the_example_as_built_then_changed_by_hand(aws: AwsConfig, example: DesiredState) -> None:
    build(example, REGION)
    report, recorder = run_audit(aws, example)
    # As built, only what is true: the users were just created with a password and have not enrolled MFA
    # yet, and the emulator's root has none.
    assert found(report) == [("error", "AUD001", f"User/{u}") for u in ("alice", "bob", "carol")] + [
        ("error", "AUD002", f"Account/{SANDBOX_ACCOUNT}")
    ]
    assert recorder.mutating() == []

    iam, s3 = boto3.client("iam"), boto3.client("s3")
    iam.attach_group_policy(GroupName="SageMakerEngineer", PolicyArn=ADMIN)
    s3.delete_public_access_block(Bucket="sagemaker-rawdata")
    iam.put_role_policy(
        RoleName="notebook-for-engineer-role",
        PolicyName="extra",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {"Effect": "Allow", "Action": "s3:DeleteObject", "Resource": "arn:aws:s3:::sagemaker-rawdata/*"}
                ],
            }
        ),
    )
    iam.update_role(
        RoleName="notebook-for-administrator-role",
        MaxSessionDuration=7200,
        Description="Runs the administrators' notebook",
    )  # not security-relevant: no AUD005
    iam.create_user(UserName="breakglass")
    iam.attach_user_policy(UserName="breakglass", PolicyArn=ADMIN)
    reason = "sealed emergency access"
    settings = replace(example.settings, exceptions=(PolicyException("AUD003", "User/breakglass", reason),))

    report, _ = run_audit(aws, replace(example, settings=settings))

    drift = {f.resource: f for f in report.of("AUD005")}
    assert sorted(drift) == ["Bucket/sagemaker-rawdata", "Group/SageMakerEngineer", "Role/notebook-for-engineer-role"]
    assert "publicAccessBlock" in drift["Bucket/sagemaker-rawdata"].message
    assert "inlinePolicies.extra" in drift["Role/notebook-for-engineer-role"].message
    assert (drift["Group/SageMakerEngineer"].location or "").endswith("desired-state/groups/groups.yaml:13:1")
    # The same changes judged by the rules themselves:
    for expected in [
        ("error", "LP001", "Group/SageMakerEngineer"),
        ("error", "BKT001", "Bucket/sagemaker-rawdata"),
        ("error", "DATA001", "Role/notebook-for-engineer-role"),
        ("error", "DATA001", "Group/SageMakerEngineer"),
        ("error", "MFA001", "User/breakglass"),
    ]:
        assert expected in found(report)
    # The exception comes from the manifests' Settings.
    assert [(e.finding.rule, e.finding.resource) for e in report.excepted] == [("AUD003", "User/breakglass")]
    assert report.exceptions_used[0].reason == reason


def test_audit_reports_drift_and_findings_of_an_observed_group_without_refusing(
    aws: AwsConfig, example: DesiredState
) -> None:
    build(example, REGION)
    boto3.client("iam").attach_group_policy(GroupName="SageMakerEngineer", PolicyArn=ADMIN)
    group = example.get("Group", "SageMakerEngineer")
    assert group is not None
    groups = {**example.of("Group"), group.name: replace(group, management="observe")}
    watched = replace(example, resources={**example.resources, "Group": groups})
    report, _ = run_audit(aws, watched)
    on_group = {f.rule: f for f in report.findings if f.resource == "Group/SageMakerEngineer"}
    assert {"AUD005", "LP001"} <= set(on_group)
    for finding in on_group.values():
        assert finding.severity.value == "warning"
    assert on_group["AUD005"].message.startswith("observed, not enforced: ")
    assert "apply does not restore it" in on_group["AUD005"].hint
    enforced, _ = run_audit(aws, example)
    assert ("error", "LP001", "Group/SageMakerEngineer") in found(enforced)


def test_audit_refuses_another_account(aws: AwsConfig, example: DesiredState) -> None:
    other = replace(example, settings=replace(example.settings, account_id="999999999999"))
    with pytest.raises(AccountMismatchError):
        audit(ClientFactory(aws, read_only=True), other, REGION)


def test_the_seed_is_refused_from_what_plan_reads_and_nothing_is_written(aws: AwsConfig) -> None:
    # What plan does before printing: read the account (read-only), then evaluate with the AWS managed
    # documents the reader fetched from IAM (here the emulator's copy of AmazonSageMakerFullAccess).
    recorder = CallRecorder()
    seed = load_directory(SEED_DIR)
    result = preview(seed, ClientFactory(aws, read_only=True, recorder=recorder), REGION)
    assert sorted(result.live.aws_policies) == ["arn:aws:iam::aws:policy/AmazonSageMakerFullAccess"]
    report = evaluate(seed, result.live.aws_policies, region=REGION)
    assert report.refuses and len(report.errors) == 23  # the seed's 21 mistakes and 2 escalation paths (ESC001)
    assert recorder.mutating() == []
    assert boto3.client("iam").list_roles()["Roles"] == []


def test_plan_and_apply_refuse_the_seed_and_leave_the_account_untouched(aws: AwsConfig) -> None:
    out = StringIO()
    assert cli.run(["plan", str(SEED_DIR)], out=out) == 3, out.getvalue()
    assert "LP007" in out.getvalue() and "MFA002" in out.getvalue()
    out = StringIO()  # apply refuses the same way, before any write
    assert cli.run(["apply", "--auto-approve", str(SEED_DIR)], out=out) == 3, out.getvalue()
    iam, s3 = boto3.client("iam"), boto3.client("s3")
    assert iam.list_roles()["Roles"] == [] and iam.list_users()["Users"] == []
    assert iam.list_policies(Scope="Local")["Policies"] == [] and iam.list_groups()["Groups"] == []
    assert s3.list_buckets()["Buckets"] == []
    assert boto3.client("sagemaker").list_notebook_instances()["NotebookInstances"] == []
