"""`audit` checks the KMS and Studio rules on the live account: the example as applied is clean of them, and
what is changed by hand afterwards (rotation turned off, a key policy opened, a domain put on the internet, a
profile switched to a role nobody reviews) is reported, on the account alone and as drift from the manifests."""

from __future__ import annotations

import json
from pathlib import Path

import boto3

from reconciler.audit import audit
from reconciler.aws.clients import AwsConfig, CallRecorder, ClientFactory
from reconciler.engine.converge import apply_saved, make_plan
from reconciler.kinds import load_directory
from reconciler.rules import Report

REPO = Path(__file__).resolve().parents[2]
REGION = "ap-northeast-1"
ACCOUNT = "123456789012"
KMS_AND_STUDIO = ("KMS", "SM")


def studio_and_kms(report: Report) -> list[tuple[str, str]]:
    return sorted((f.rule, f.resource) for f in report.findings if f.rule.startswith(KMS_AND_STUDIO))


def test_audit_reports_kms_and_studio_changes_made_by_hand(aws: AwsConfig) -> None:
    desired = load_directory(REPO / "desired-state")
    reader = ClientFactory(aws, read_only=True)
    planned = make_plan(desired, reader, REGION)
    result = apply_saved(planned.saved, reader=reader, writer=ClientFactory(aws, read_only=False))
    assert result is not None and result.ok, result.summary() if result else None

    recorder = CallRecorder()
    clean = audit(ClientFactory(aws, read_only=True, recorder=recorder), None, REGION)
    assert studio_and_kms(clean) == []
    assert recorder.mutating() == []

    kms, sm = boto3.client("kms"), boto3.client("sagemaker")
    raw_key = kms.describe_key(KeyId="alias/sagemaker-rawdata")["KeyMetadata"]["KeyId"]
    kms.disable_key_rotation(KeyId=raw_key)
    policy = json.loads(kms.get_key_policy(KeyId=raw_key, PolicyName="default")["Policy"])
    policy["Statement"].append(
        {
            "Sid": "Partner",
            "Effect": "Allow",
            "Principal": {"AWS": "arn:aws:iam::210987654321:root"},
            "Action": "kms:*",
            "Resource": "*",
        }
    )
    kms.put_key_policy(KeyId=raw_key, PolicyName="default", Policy=json.dumps(policy))
    (domain,) = sm.list_domains()["Domains"]
    sm.update_domain(DomainId=domain["DomainId"], AppNetworkAccessType="PublicInternetOnly")
    iam = boto3.client("iam")
    iam.create_role(RoleName="made-by-hand", AssumeRolePolicyDocument=json.dumps(policy_trusting_sagemaker()))
    sm.update_user_profile(
        DomainId=domain["DomainId"],
        UserProfileName="bob",
        UserSettings={"ExecutionRole": f"arn:aws:iam::{ACCOUNT}:role/made-by-hand"},
    )

    alone = audit(ClientFactory(aws, read_only=True), None, REGION)
    assert studio_and_kms(alone) == [
        ("KMS002", "KmsKey/sagemaker-rawdata"),
        ("KMS003", "KmsKey/sagemaker-rawdata"),
        ("KMS004", "KmsKey/sagemaker-rawdata"),
        ("KMS005", "KmsKey/sagemaker-rawdata"),
        ("SM001", "StudioDomain/ml-studio"),
        ("SM004", "StudioUserProfile/bob"),
    ]
    # The partner may decrypt the raw data (kms:* includes kms:Decrypt); the roles the key policy names may,
    # as IAM lets them read the bucket: only the partner is reported.
    (decrypt,) = alone.of("KMS005")
    assert "arn:aws:iam::210987654321:root" in decrypt.message and "Bucket/sagemaker-rawdata" in decrypt.message
    assert alone.refuses and alone.exit_code == 3

    # With the manifests, the same changes are also drift of the fields that matter for security.
    with_git = audit(ClientFactory(aws, read_only=True), desired, REGION)
    drift = {f.resource: f.message for f in with_git.of("AUD005")}
    assert sorted(drift) == ["KmsKey/sagemaker-rawdata", "StudioDomain/ml-studio", "StudioUserProfile/bob"]
    assert "rotation" in drift["KmsKey/sagemaker-rawdata"] and "policy" in drift["KmsKey/sagemaker-rawdata"]
    assert "appNetworkAccessType" in drift["StudioDomain/ml-studio"]
    assert "executionRole" in drift["StudioUserProfile/bob"]


def policy_trusting_sagemaker() -> dict[str, object]:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "sagemaker.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ],
    }
