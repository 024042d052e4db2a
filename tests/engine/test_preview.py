"""The preview against the embedded AWS: exact plans, by meaning, read-only by construction."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import boto3
import pytest
from handmade import SANDBOX_ACCOUNT, build

from reconciler.aws.clients import AwsConfig, CallRecorder, ClientFactory
from reconciler.aws.operations import is_read_only_operation
from reconciler.engine.plan import Action, Plan
from reconciler.engine.preview import preview
from reconciler.errors import AccountMismatchError, AwsAccessError, MutationRefused
from reconciler.kinds import load_directory
from reconciler.manifests import DesiredState

REPO = Path(__file__).resolve().parents[2]
REGION = "ap-northeast-1"


@pytest.fixture
def example() -> DesiredState:
    return load_directory(REPO / "desired-state")


def plan_for(desired: DesiredState, aws: AwsConfig, recorder: CallRecorder | None = None) -> Plan:
    return preview(desired, ClientFactory(aws, read_only=True, recorder=recorder), REGION).plan


def actions(plan: Plan) -> list[tuple[str, str]]:
    return [(c.action.value, c.ref) for c in plan]


def test_empty_account_creates_everything_in_dependency_order(aws: AwsConfig, example: DesiredState) -> None:
    plan = plan_for(example, aws)
    assert [a for a, _ in actions(plan)] == ["create"] * 22
    kinds = [c.kind for c in plan]
    # groups after users: a group adds its members once they exist; keys before the buckets and the domain they
    # encrypt; the Studio domain after the roles it runs as, its profiles after it (and after the users they are for)
    order = [
        "Policy",
        "Role",
        "User",
        "Group",
        "KmsKey",
        "Bucket",
        "NotebookInstance",
        "StudioDomain",
        "StudioUserProfile",
    ]
    assert kinds == sorted(kinds, key=order.index)
    assert list(dict.fromkeys(kinds)) == order  # the example has every kind
    assert plan.summary() == "Plan: 22 to create, 0 to update, 0 to delete."


def test_an_account_built_to_match_shows_no_change(aws: AwsConfig, example: DesiredState) -> None:
    build(example, REGION)
    plan = plan_for(example, aws)
    assert actions(plan) == []
    assert sum(plan.unchanged.values()) == 22


def test_policy_documents_are_compared_by_meaning(aws: AwsConfig, example: DesiredState) -> None:
    # The same statements, written differently: order, single value vs list, action case, no Sid.
    same = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": ["s3:getobject", "S3:PutObject", "s3:DeleteObject"],
                "Resource": ["arn:aws:s3:::sagemaker-result/*"],
                "Sid": "ReadWriteResults",
            },
            {
                "Sid": "ReadRawData",
                "Effect": "Allow",
                "Action": ["s3:GetObject"],
                "Resource": "arn:aws:s3:::sagemaker-rawdata/*",
            },
            {
                "Sid": "ListBuckets",
                "Effect": "Allow",
                "Action": "s3:ListBucket",
                "Resource": ["arn:aws:s3:::sagemaker-result", "arn:aws:s3:::sagemaker-rawdata"],
            },
        ],
    }
    boto3.client("iam").create_policy(
        PolicyName="notebook-engineer-data",
        PolicyDocument=json.dumps(same),
        Description="Engineers' notebook: read raw data, read and write results",
        Tags=[{"Key": "managed-by", "Value": "reconciler"}],
    )
    build(example, REGION, skip={"Policy/notebook-engineer-data"})
    assert actions(plan_for(example, aws)) == []


def test_drift_shows_each_changed_field_with_old_and_new(aws: AwsConfig, example: DesiredState) -> None:
    build(example, REGION)
    iam, s3 = boto3.client("iam"), boto3.client("s3")
    iam.attach_group_policy(GroupName="SageMakerEngineer", PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess")
    s3.delete_public_access_block(Bucket="sagemaker-rawdata")
    iam.update_role(
        RoleName="notebook-for-engineer-role", MaxSessionDuration=7200, Description="Runs the engineers' notebook"
    )  # moto clears an omitted Description
    iam.tag_user(UserName="bob", Tags=[{"Key": "team", "Value": "hacked"}])
    plan = plan_for(example, aws)
    changes = {c.ref: c for c in plan}
    assert sorted(changes) == [
        "Bucket/sagemaker-rawdata",
        "Group/SageMakerEngineer",
        "Role/notebook-for-engineer-role",
        "User/bob",
    ]
    assert all(c.action is Action.UPDATE for c in plan)
    group = changes["Group/SageMakerEngineer"].fields
    assert [f.field for f in group] == ["policies"]
    assert "arn:aws:iam::aws:policy/AdministratorAccess" in group[0].old
    assert "arn:aws:iam::aws:policy/AdministratorAccess" not in group[0].new
    bucket = changes["Bucket/sagemaker-rawdata"].fields
    assert [(f.field, f.old) for f in bucket] == [("publicAccessBlock", None)]
    role = changes["Role/notebook-for-engineer-role"].fields
    assert [(f.field, f.old, f.new) for f in role] == [("maxSessionDuration", 7200, 3600)]
    assert [f.field for f in changes["User/bob"].fields] == ["tags"]


def test_changed_policy_shows_a_statement_level_diff(aws: AwsConfig, example: DesiredState) -> None:
    build(example, REGION)
    iam = boto3.client("iam")
    arn = f"arn:aws:iam::{SANDBOX_ACCOUNT}:policy/notebook-engineer-data"
    widened = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}
    iam.create_policy_version(PolicyArn=arn, PolicyDocument=json.dumps(widened), SetAsDefault=True)
    (change,) = plan_for(example, aws).changes
    assert change.ref == "Policy/notebook-engineer-data"
    (field,) = change.fields
    assert field.field == "document" and field.statements is not None
    assert [s["Action"] for s in field.statements.removed] == [["s3:*"]]
    assert len(field.statements.added) == 3


def test_removed_manifest_of_an_owned_resource_is_deleted(
    aws: AwsConfig, example: DesiredState, tmp_path: Path
) -> None:
    build(example, REGION)
    shutil.copytree(REPO / "desired-state", tmp_path / "ds")
    users = tmp_path / "ds" / "users" / "users.yaml"
    users.write_text(users.read_text().split("---\n")[0] + "---\n" + users.read_text().split("---\n")[1])
    # carol leaves: her Studio profile's manifest goes with her user's (a profile for a user git does not declare
    # is a manifest error).
    studio = tmp_path / "ds" / "studio" / "studio.yaml"
    documents = studio.read_text().split("---\n")
    assert "name: carol" in documents[2]
    studio.write_text("---\n".join(documents[:2]))
    plan = plan_for(load_directory(tmp_path / "ds"), aws)
    # The group's members are exactly the users that name it: carol leaves it, then she is deleted. Her profile
    # is released (the default for a profile: its private space holds her work), before her user goes.
    assert actions(plan) == [
        ("update", "Group/SageMakerEngineer"),
        ("release", "StudioUserProfile/carol"),
        ("delete", "User/carol"),
    ]
    group = next(c for c in plan if c.ref == "Group/SageMakerEngineer")
    assert [(f.field, f.old, f.new) for f in group.fields] == [("members", ("bob", "carol"), ("bob",))]


def test_unowned_resources_are_never_deleted_and_named_ones_need_adoption(
    aws: AwsConfig, example: DesiredState
) -> None:
    build(example, REGION, tag=False)
    iam = boto3.client("iam")
    iam.create_user(UserName="someone-else")  # neither named nor owned: invisible to the plan
    plan = plan_for(example, aws)
    assert {a for a, _ in actions(plan)} == {"adopt"}
    assert len(plan.changes) == 22
    assert "User/someone-else" not in {c.ref for c in plan}
    user = next(c for c in plan if c.ref == "User/alice")
    assert [f.field for f in user.fields] == ["tags"]
    assert "ownership tag" in user.notes[0]


def test_retained_bucket_is_released_and_prune_off_keeps_everything(
    aws: AwsConfig, example: DesiredState, tmp_path: Path
) -> None:
    build(example, REGION)
    shutil.copytree(REPO / "desired-state", tmp_path / "ds")
    (tmp_path / "ds" / "buckets" / "buckets.yaml").unlink()
    notebooks = tmp_path / "ds" / "notebooks" / "notebooks.yaml"
    notebooks.unlink()
    plan = plan_for(load_directory(tmp_path / "ds"), aws)
    # Notebooks, like buckets, are released by default: their volumes hold people's work.
    assert actions(plan) == [
        ("release", "NotebookInstance/notebook-for-administrator"),
        ("release", "NotebookInstance/notebook-for-engineer"),
        ("release", "Bucket/sagemaker-rawdata"),
        ("release", "Bucket/sagemaker-result"),
    ]
    notebook = plan.changes[0]
    assert [(f.field, f.old, f.new) for f in notebook.fields] == [("tags", {"managed-by": "reconciler"}, {})]
    settings = tmp_path / "ds" / "settings.yaml"
    settings.write_text(settings.read_text().replace("prune: true", "prune: false"))
    plan = plan_for(load_directory(tmp_path / "ds"), aws)
    assert actions(plan) == []
    assert "prune is off: 4 owned resource(s)" in plan.notes[0]


def test_plan_sends_read_operations_only(aws: AwsConfig, example: DesiredState) -> None:
    build(example, REGION)
    recorder = CallRecorder()
    plan_for(example, aws, recorder)
    assert recorder.total() > 0
    assert recorder.mutating() == []
    assert all(is_read_only_operation(s, op) for s, op in recorder.counts())
    # IAM is read in one GetAccountAuthorizationDetails pass, not per entity.
    counts = recorder.counts()
    assert counts[("iam", "GetAccountAuthorizationDetails")] == 1
    assert not any(
        op in ("GetRole", "GetUser", "GetGroup", "GetPolicy", "ListAttachedRolePolicies") for _, op in counts
    )


def test_a_mutating_call_in_plan_mode_raises_before_sending(aws: AwsConfig) -> None:
    factory = ClientFactory(aws, read_only=True)
    with pytest.raises(MutationRefused):
        factory.client("iam").create_user(UserName="mallory")
    assert "mallory" not in [u["UserName"] for u in boto3.client("iam").list_users()["Users"]]


def test_wrong_account_is_refused_before_reading(aws: AwsConfig, tmp_path: Path) -> None:
    shutil.copytree(REPO / "desired-state", tmp_path / "ds")
    settings = tmp_path / "ds" / "settings.yaml"
    settings.write_text(settings.read_text().replace('"123456789012"', '"210987654321"'))
    recorder = CallRecorder()
    with pytest.raises(AccountMismatchError, match="210987654321"):
        plan_for(load_directory(tmp_path / "ds"), aws, recorder)
    assert list(recorder.counts()) == [("sts", "GetCallerIdentity")]


def test_unreachable_endpoint_is_a_clear_error(example: DesiredState, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    config = AwsConfig(endpoint_url="http://127.0.0.1:9", region=REGION, max_attempts=1)
    with pytest.raises(AwsAccessError, match="cannot reach AWS"):
        plan_for(example, config)


def test_invariants_evaluated_alongside_the_read_are_the_rules_on_what_was_read(aws: AwsConfig) -> None:
    """preview(invariants=True) runs the rules on a thread of their own while the account is read;
    its report is exactly what evaluating afterwards gives (the seed's mistakes, through
    AmazonSageMakerFullAccess as read from IAM), and a plain preview computes none."""
    from reconciler.rules import evaluate

    seed = load_directory(Path(__file__).resolve().parents[1] / "fixtures" / "seed")
    factory = ClientFactory(aws, read_only=True)
    alongside = preview(seed, factory, "ap-northeast-1", invariants=True)
    assert alongside.report is not None
    assert alongside.report == evaluate(seed, alongside.live.aws_policies, region="ap-northeast-1")
    assert "arn:aws:iam::aws:policy/AmazonSageMakerFullAccess" in alongside.live.aws_policies
    assert {"MFA002", "TR002", "DATA002"} <= {f.rule for f in alongside.report.findings}
    assert preview(seed, factory, "ap-northeast-1").report is None
