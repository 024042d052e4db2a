"""``reconciler import`` against the emulator: what it writes, what it leaves out, what it reports."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest
from import_accounts import PASSWORD, Account, GroupSpec
from import_accounts import build as build_account
from import_support import read_tree, run_cli, seed_by_hand

from reconciler.aws.clients import AwsConfig
from reconciler.engine.differ import context
from reconciler.kinds import REGISTRY, load_directory
from reconciler.rules import evaluate

REPO = Path(__file__).resolve().parents[2]
SEED_DIR = REPO / "tests" / "fixtures" / "seed"
REGION = "ap-northeast-1"
ACCOUNT = "123456789012"
S3_TRUST = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "s3.amazonaws.com"}, "Action": "sts:AssumeRole"}],
}
READ = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}


def _seed_aws_policies() -> dict[str, object]:
    """The dated snapshot of the AWS managed policies the rule tests judge the seed with."""
    data = json.loads((SEED_DIR / "aws-managed-policies.json").read_text(encoding="utf-8"))
    return {arn: entry["document"] for arn, entry in data["policies"].items()}


def _seed_by_hand() -> None:
    seed_by_hand(SEED_DIR, REGION)


def test_the_seed_imports_as_written_and_its_mistakes_are_reported(aws: AwsConfig, tmp_path: Path) -> None:
    _seed_by_hand()
    boto3.client("iam").create_service_linked_role(AWSServiceName="sagemaker.amazonaws.com")
    code, text = run_cli("import", "--out", str(tmp_path / "seed"))
    assert code == 0, text  # findings do not fail the import

    # The manifests say what the account holds: the same views as the seed written by hand as manifests.
    imported, seed = load_directory(tmp_path / "seed"), load_directory(SEED_DIR)
    ctx, seed_ctx = context(imported, REGION), context(seed, REGION)
    assert {k: set(imported.of(k)) for k in REGISTRY} == {k: set(seed.of(k)) for k in REGISTRY}
    for resource in seed:
        kind = REGISTRY[resource.kind]
        got = imported.get(resource.kind, resource.name)
        assert got is not None
        assert kind.desired_view(got, ctx) == kind.desired_view(resource, seed_ctx), resource.ref

    # The findings are those of the seed's manifests (tests/rules/test_rules_seed.py: the README's eight
    # mistakes), located in the written files.
    lines = text.splitlines()
    reported = sorted(
        (line.split()[0], line.split()[1], line.split()[2]) for line in lines if line.startswith(("error ", "warning "))
    )
    expected = evaluate(seed, _seed_aws_policies(), region=REGION)
    assert reported == sorted((f.severity.value, f.rule, f.resource) for f in expected.findings)
    by_mistake = {
        1: ("TR002", "Role/notebook-for-administrator-role"),
        2: ("LP002", "Policy/for_notebook-for-administrator"),
        3: ("LP006", "Policy/for_notebook-for-engineer"),
        4: ("LP007", "Policy/for_SageMakerEngineer_Group"),
        5: ("LP002", "Policy/for_SageMakerEngineer_Group"),
        6: ("MFA002", "Policy/for_SageMakerAdministrator_Group"),
        7: ("DATA002", "Role/notebook-for-engineer-role"),
        8: ("NB001", "NotebookInstance/notebook-for-engineer"),
    }
    for rule, ref in by_mistake.values():
        assert any(r == rule and res == ref for _, r, res in reported), (rule, ref)
    assert f"{tmp_path / 'seed'}/roles/notebook-for-administrator-role.yaml:" in text
    # Mistake 8, buckets: what a manifest cannot say is reported as what adopting them changes.
    assert "Bucket/sagemaker-rawdata: encryption, policy, publicAccessBlock" in text
    assert "(a manifest always blocks public access)" in text
    assert "Round trip: apply --adopt adds the ownership mark to 14 resource(s); 12 of them change in no" in text
    assert "Role/AWSServiceRoleForsagemaker: service-linked role" in text
    assert "AWS managed policies are referenced by ARN, not imported: AmazonSageMakerFullAccess" in text


def test_the_written_files_are_readable_and_follow_the_schemas(aws: AwsConfig, tmp_path: Path) -> None:
    iam = boto3.client("iam")
    iam.create_policy(
        PolicyName="data-read",
        Path="/ml/",
        PolicyDocument=json.dumps(READ),
        Description="Read: everything #1",
        Tags=[{"Key": "team", "Value": "123"}],
    )
    sagemaker_trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Action": "sts:AssumeRole",
                "Effect": "Allow",
                "Principal": {"Service": "sagemaker.amazonaws.com"},
                "Condition": {"StringEquals": {"aws:SourceAccount": ACCOUNT}},
            }
        ],
    }
    iam.create_role(
        RoleName="nb-role",
        AssumeRolePolicyDocument=json.dumps(sagemaker_trust),
        Tags=[{"Key": "managed-by", "Value": "reconciler"}, {"Key": "cost", "Value": "true"}],
    )
    iam.attach_role_policy(RoleName="nb-role", PolicyArn="arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess")
    iam.attach_role_policy(RoleName="nb-role", PolicyArn=f"arn:aws:iam::{ACCOUNT}:policy/ml/data-read")
    iam.put_role_policy(
        RoleName="nb-role",
        PolicyName="logs",
        PolicyDocument=json.dumps(
            {
                "Statement": [{"Resource": "*", "Action": ["logs:PutLogEvents"], "Effect": "Allow", "Sid": "Logs"}],
                "Version": "2012-10-17",
            }
        ),
    )
    iam.create_group(GroupName="Engineers")
    iam.create_user(UserName="alice")
    iam.add_user_to_group(GroupName="Engineers", UserName="alice")
    boto3.client("sagemaker").create_notebook_instance(
        NotebookInstanceName="nb",
        InstanceType="ml.t3.medium",
        RoleArn=f"arn:aws:iam::{ACCOUNT}:role/nb-role",
        RootAccess="Disabled",
        DirectInternetAccess="Disabled",
        SubnetId="subnet-0a1b2c3d",
        SecurityGroupIds=["sg-0a1b2c3d"],
        VolumeSizeInGB=5,
    )

    code, text = run_cli("import", "--out", str(tmp_path / "out"), "--name", "ml-platform")
    assert code == 0, text
    files = read_tree(tmp_path / "out")
    assert sorted(files) == [
        "groups/Engineers.yaml",
        "notebooks/nb.yaml",
        "policies/data-read.yaml",
        "roles/nb-role.yaml",
        "settings.yaml",
        "users/alice.yaml",
    ]
    assert files["settings.yaml"].decode() == (
        "# Imported by `reconciler import` from account 123456789012 (ap-northeast-1).\n"
        "# Review before committing: see docs/import.md (what is skipped, what adoption changes).\n"
        "apiVersion: reconciler/v1\nkind: Settings\nmetadata:\n  name: ml-platform\n"
        'spec:\n  accountId: "123456789012"\n  region: ap-northeast-1\n'
    )
    # Keys in schema order, defaults left out, the document as IAM JSON in YAML (IAM's element order),
    # references by name (imported) or ARN (AWS managed), the ownership tag not written.
    assert (
        files["roles/nb-role.yaml"].decode()
        == """\
apiVersion: reconciler/v1
kind: Role
metadata:
  name: nb-role
spec:
  trustedServices:
    - sagemaker.amazonaws.com
  policies:
    - data-read
    - arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess
  inlinePolicies:
    logs:
      Version: "2012-10-17"
      Statement:
        - Sid: Logs
          Effect: Allow
          Action:
            - logs:PutLogEvents
          Resource: "*"
  tags:
    cost: "true"
"""
    )
    assert (
        files["policies/data-read.yaml"].decode()
        == """\
apiVersion: reconciler/v1
kind: Policy
metadata:
  name: data-read
spec:
  description: "Read: everything #1"
  path: /ml/
  document:
    Version: "2012-10-17"
    Statement:
      - Effect: Allow
        Action: s3:GetObject
        Resource: "*"
  tags:
    team: "123"
"""
    )
    assert (
        files["notebooks/nb.yaml"].decode()
        == """\
apiVersion: reconciler/v1
kind: NotebookInstance
metadata:
  name: nb
spec:
  instanceType: ml.t3.medium
  role: nb-role
  subnetId: subnet-0a1b2c3d
  securityGroupIds:
    - sg-0a1b2c3d
"""
    )
    assert files["users/alice.yaml"].decode().endswith("spec:\n  groups:\n    - Engineers\n")
    # A hand-made group has no reconciler guard: it is imported as it is, without the MFA deny.
    assert files["groups/Engineers.yaml"].decode().endswith("spec:\n  requireMFA: false\n")


def test_no_credentials_and_no_guard_policy_are_written(aws: AwsConfig, tmp_path: Path) -> None:
    iam = boto3.client("iam")
    iam.create_user(UserName="alice")
    iam.create_login_profile(UserName="alice", Password=PASSWORD, PasswordResetRequired=True)
    key = iam.create_access_key(UserName="alice")["AccessKey"]
    # A group the reconciler owned before: its guard is the ownership mark, not content to import.
    build_account(Account(groups=(GroupSpec("SageMakerEngineer", owned=True),)))
    code, text = run_cli("import", "--out", str(tmp_path / "out"))
    assert code == 0, text
    everything = b"".join(read_tree(tmp_path / "out").values()).decode() + text
    for secret in (PASSWORD, key["AccessKeyId"], key["SecretAccessKey"]):
        assert secret not in everything
    assert "reconciler-group-guard" not in everything
    alice = (tmp_path / "out" / "users" / "alice.yaml").read_text()
    assert alice.endswith("spec:\n  consoleAccess: true\n")
    group = (tmp_path / "out" / "groups" / "SageMakerEngineer.yaml").read_text()
    assert "requireMFA" not in group  # the guard enforces MFA: the default, left out
    assert "Round trip: apply --adopt only adds the ownership mark to 1 resource(s)" in text


def test_what_users_do_not_manage_is_skipped(aws: AwsConfig, tmp_path: Path) -> None:
    iam, s3 = boto3.client("iam"), boto3.client("s3")
    iam.create_service_linked_role(AWSServiceName="sagemaker.amazonaws.com")
    iam.create_group(GroupName="half-made", Path="/reconciler-pending/")  # an apply was killed mid-create
    iam.create_role(
        RoleName="tf-role", AssumeRolePolicyDocument=json.dumps(S3_TRUST), Tags=[{"Key": "terraform", "Value": "true"}]
    )
    iam.create_role(
        RoleName="ours", AssumeRolePolicyDocument=json.dumps(S3_TRUST), Tags=[{"Key": "terraform", "Value": "false"}]
    )
    iam.attach_role_policy(RoleName="ours", PolicyArn="arn:aws:iam::aws:policy/ReadOnlyAccess")
    for name, tags in (("tf-state-1", [{"Key": "ManagedBy", "Value": "Terraform"}]), ("our-data", [])):
        s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": REGION})
        if tags:
            s3.put_bucket_tagging(Bucket=name, Tagging={"TagSet": tags})

    code, text = run_cli(
        "import", "--out", str(tmp_path / "out"), "--exclude-tag", "terraform=true", "--exclude-tag", "ManagedBy"
    )
    assert code == 0, text
    assert sorted(read_tree(tmp_path / "out")) == ["buckets/our-data.yaml", "roles/ours.yaml", "settings.yaml"]
    assert "Skipped 4:" in text
    assert "Group/half-made: the reconciler is creating or deleting it (path /reconciler-pending/)" in text
    assert "Role/AWSServiceRoleForsagemaker: service-linked role: AWS creates and manages it" in text
    assert "Role/tf-role: tagged terraform=true (--exclude-tag)" in text
    assert "Bucket/tf-state-1: tagged ManagedBy=Terraform (--exclude-tag)" in text
    # No Policy manifest for an AWS managed policy: the role refers to it by ARN.
    assert "    - arn:aws:iam::aws:policy/ReadOnlyAccess\n" in (tmp_path / "out/roles/ours.yaml").read_text()
    assert run_cli("validate", str(tmp_path / "out"))[0] == 0


def test_filters_and_what_references_need(aws: AwsConfig, tmp_path: Path) -> None:
    iam = boto3.client("iam")
    arn = iam.create_policy(PolicyName="read", PolicyDocument=json.dumps(READ))["Policy"]["Arn"]
    for role in ("ml-a", "ml-b", "other"):
        iam.create_role(RoleName=role, AssumeRolePolicyDocument=json.dumps(S3_TRUST))
        iam.attach_role_policy(RoleName=role, PolicyArn=arn)
    for group in ("Engineers", "Admins"):
        iam.create_group(GroupName=group)
    for user, groups in (("alice", ["Engineers"]), ("bob", ["Engineers", "Admins"])):
        iam.create_user(UserName=user)
        for group in groups:
            iam.add_user_to_group(GroupName=group, UserName=user)
    boto3.client("sagemaker").create_notebook_instance(
        NotebookInstanceName="nb", InstanceType="ml.t3.medium", RoleArn=f"arn:aws:iam::{ACCOUNT}:role/other"
    )

    # Kinds and patterns; a policy that is not imported is referred to by its ARN.
    code, text = run_cli(
        "import", "--out", str(tmp_path / "a"), "--kinds", "role", "--include", "ml-*", "--exclude", "Role/*-b"
    )
    assert code == 0, text
    assert sorted(read_tree(tmp_path / "a")) == ["roles/ml-a.yaml", "settings.yaml"]
    assert f"  policies:\n    - {arn}\n" in (tmp_path / "a/roles/ml-a.yaml").read_text()
    assert "Role/ml-b: matches --exclude Role/*-b" in text
    assert run_cli("validate", str(tmp_path / "a"))[0] == 0

    # A user's groups and a notebook's role come along; a user whose group is excluded stays out.
    code, text = run_cli(
        "import", "--out", str(tmp_path / "b"), "--kinds", "User,NotebookInstance", "--exclude", "Admins"
    )
    assert code == 0, text
    assert sorted(read_tree(tmp_path / "b")) == [
        "groups/Engineers.yaml",
        "notebooks/nb.yaml",
        "roles/other.yaml",
        "settings.yaml",
        "users/alice.yaml",
    ]
    assert "Group/Engineers: User/alice refers to it" in text
    assert "Role/other: NotebookInstance/nb refers to it" in text
    assert "User/bob: it needs Group/Admins, which is not imported: matches --exclude Admins" in text
    assert run_cli("validate", str(tmp_path / "b"))[0] == 0

    with pytest.raises(SystemExit) as usage:
        run_cli("import", "--out", str(tmp_path / "c"), "--kinds", "Role,Nope")
    assert usage.value.code == 2 and not (tmp_path / "c").exists()


def test_existing_files_are_not_overwritten_without_force(aws: AwsConfig, tmp_path: Path) -> None:
    iam = boto3.client("iam")
    iam.create_role(RoleName="r1", AssumeRolePolicyDocument=json.dumps(S3_TRUST))
    out = tmp_path / "out"
    assert run_cli("import", "--out", str(out))[0] == 0
    first = read_tree(out)
    (out / "roles" / "r1.yaml").write_text("# my edits\n")
    iam.create_role(RoleName="r2", AssumeRolePolicyDocument=json.dumps(S3_TRUST))

    code, text = run_cli("import", "--out", str(out))
    assert code == 1
    assert "2 file(s) already exist" in text and "nothing was written" in text and "--force" in text
    assert (out / "roles" / "r1.yaml").read_text() == "# my edits\n"
    assert not (out / "roles" / "r2.yaml").exists()

    code, text = run_cli("import", "--out", str(out), "--force")
    assert code == 0, text
    again = read_tree(out)
    assert again["roles/r1.yaml"] == first["roles/r1.yaml"]
    assert set(again) == set(first) | {"roles/r2.yaml"}


def test_a_directory_that_does_not_validate_with_its_other_files_is_an_error(aws: AwsConfig, tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "env.yaml").write_text(
        'apiVersion: reconciler/v1\nkind: Settings\nmetadata:\n  name: x\nspec:\n  accountId: "123456789012"\n'
    )
    code, text = run_cli("import", "--out", str(out))
    assert code == 1
    assert "more than one Settings manifest" in text
    assert f"The manifests were written, but {out} does not validate" in text


def test_another_account_is_refused_before_anything_is_read(aws: AwsConfig, tmp_path: Path) -> None:
    code, text = run_cli("import", "--out", str(tmp_path / "out"), "--account-id", "999999999999")
    assert code == 1
    assert "the credentials are for account 123456789012" in text
    assert not (tmp_path / "out").exists()
