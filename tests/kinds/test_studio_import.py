"""``reconciler import`` of Studio domains and profiles made by hand: the files in ``studio/``, with their role, their
person and their domain by name; ``plan --adopt`` shows only the ownership mark; after ``apply --adopt`` nothing is
left to do. A profile that does not record who it is for is not imported, and the import says why."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import yaml
from importer.import_support import except_errors, plan_json, read_tree, run_cli
from studioenv import ACCOUNT, ROLE, sm

from reconciler.aws.clients import AwsConfig

TRUST = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "sagemaker.amazonaws.com"}, "Action": "sts:AssumeRole"}],
}


def _hand_made() -> None:
    """A role, a user, a KMS key, a domain encrypted with it and two profiles, made in the console: nothing carries
    the ownership tag."""
    iam = boto3.client("iam")
    iam.create_role(RoleName="studio-role", AssumeRolePolicyDocument=json.dumps(TRUST))
    iam.create_user(UserName="dana")
    kms = boto3.client("kms")
    key = kms.create_key(Description="studio home volumes")["KeyMetadata"]["KeyId"]
    kms.create_alias(AliasName="alias/studio-home", TargetKeyId=key)
    created = sm().create_domain(
        DomainName="team-studio",
        AuthMode="IAM",
        DefaultUserSettings={"ExecutionRole": ROLE + "studio-role", "SecurityGroups": ["sg-0a1b"]},
        SubnetIds=["subnet-0c1d", "subnet-0a1b"],
        VpcId="vpc-0a1b",
        AppNetworkAccessType="PublicInternetOnly",
        KmsKeyId=f"arn:aws:kms:ap-northeast-1:{ACCOUNT}:alias/studio-home",
        Tags=[{"Key": "team", "Value": "ml"}],
    )
    sm().create_user_profile(
        DomainId=created["DomainId"],
        UserProfileName="dana",
        UserSettings={"ExecutionRole": ROLE + "studio-role"},
        Tags=[{"Key": "reconciler/for", "Value": "User/dana"}, {"Key": "desk", "Value": "3"}],
    )
    sm().create_user_profile(
        DomainId=created["DomainId"],
        UserProfileName="nobody-knows",
        UserSettings={"ExecutionRole": ROLE + "studio-role"},
    )


def test_import_then_adopt_round_trips(aws: AwsConfig, tmp_path: Path) -> None:
    _hand_made()
    out = tmp_path / "imported"
    code, text = run_cli("import", "--out", str(out))
    assert code == 0, text
    files = read_tree(out)
    assert {"studio/team-studio.yaml", "studio/dana.yaml", "kms-keys/studio-home.yaml"} <= set(files)
    assert "StudioUserProfile/nobody-knows" in text and "reconciler/for" in text  # skipped, and why
    assert not any("nobody-knows" in name for name in files)
    domain = yaml.safe_load(files["studio/team-studio.yaml"])
    assert domain["spec"] == {
        "appNetworkAccessType": "PublicInternetOnly",
        "vpcId": "vpc-0a1b",
        "subnetIds": ["subnet-0a1b", "subnet-0c1d"],
        "securityGroupIds": ["sg-0a1b"],
        "defaultExecutionRole": "studio-role",
        "kmsKey": "studio-home",
        "tags": {"team": "ml"},
    }
    profile = yaml.safe_load(files["studio/dana.yaml"])
    assert profile["spec"] == {
        "domain": "team-studio",
        "executionRole": "studio-role",
        "for": {"user": "dana"},
        "tags": {"desk": "3"},
    }
    assert run_cli("validate", str(out))[0] == 0

    _, plan = plan_json(out, "--adopt")
    studio = {c["kind"] + "/" + c["name"]: c for c in plan["changes"] if c["kind"].startswith("Studio")}
    assert set(studio) == {"StudioDomain/team-studio", "StudioUserProfile/dana"}
    for change in studio.values():
        assert change["action"] == "adopt"
        assert [(f["field"], f["new"]) for f in change["fields"]] == [
            ("tags", {**change["fields"][0]["old"], "managed-by": "reconciler"})
        ]
    except_errors(out, plan["invariants"])
    code, applied = run_cli("apply", "--auto-approve", str(out), "--adopt", "--no-lease")
    assert code == 0, applied
    final_code, final = run_cli("plan", str(out))
    assert final_code == 0, final
    assert "No changes." in final
