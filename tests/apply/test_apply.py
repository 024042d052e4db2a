"""apply against the embedded AWS: converges, idempotent, repairs drift, prunes with its rails."""

from __future__ import annotations

import boto3
import pytest
from applyenv import REGION, Env, without_profile

from reconciler.aws.clients import CallRecorder, ClientFactory
from reconciler.engine.converge import PlanRefused
from reconciler.engine.differ import context
from reconciler.engine.executor import ApplyOptions, ApplyResult, Executor, RefusedError, Status
from reconciler.engine.plan import Action
from reconciler.engine.preview import preview
from reconciler.kinds import load_directory

ACCOUNT = "123456789012"


def refs(plan) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    return [(c.action.value, c.ref) for c in plan]


def test_apply_converges_and_a_second_apply_sends_no_mutating_call(env: Env) -> None:
    result = env.apply()
    assert result.ok and result.done(Action.CREATE) == 22, result.summary()
    assert refs(env.plan()) == []
    recorder = CallRecorder()
    again = env.apply(recorder=recorder)
    assert again.outcomes == ()
    assert recorder.mutating() == []


def test_created_resources_carry_the_ownership_mark(env: Env) -> None:
    env.apply()
    iam, s3, sm = boto3.client("iam"), boto3.client("s3"), boto3.client("sagemaker")
    owner = {"Key": "managed-by", "Value": "reconciler"}
    assert owner in iam.list_role_tags(RoleName="notebook-for-engineer-role")["Tags"]
    assert owner in iam.list_user_tags(UserName="alice")["Tags"]
    assert owner in iam.list_policy_tags(PolicyArn=f"arn:aws:iam::{ACCOUNT}:policy/notebook-logs")["Tags"]
    assert owner in s3.get_bucket_tagging(Bucket="sagemaker-rawdata")["TagSet"]
    arn = sm.describe_notebook_instance(NotebookInstanceName="notebook-for-engineer")["NotebookInstanceArn"]
    assert owner in sm.list_tags(ResourceArn=arn)["Tags"]
    assert "reconciler-group-guard" in iam.list_group_policies(GroupName="SageMakerEngineer")["PolicyNames"]


def test_drift_is_reverted(env: Env) -> None:
    env.apply()
    iam, s3, sm = boto3.client("iam"), boto3.client("s3"), boto3.client("sagemaker")
    iam.attach_group_policy(GroupName="SageMakerEngineer", PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess")
    s3.delete_public_access_block(Bucket="sagemaker-rawdata")
    for arn in ("notebook-engineer-data", "notebook-logs"):
        iam.detach_role_policy(RoleName="notebook-for-engineer-role", PolicyArn=f"arn:aws:iam::{ACCOUNT}:policy/{arn}")
    iam.delete_role(RoleName="notebook-for-engineer-role")
    sm.stop_notebook_instance(NotebookInstanceName="notebook-for-administrator")
    sm.update_notebook_instance(NotebookInstanceName="notebook-for-administrator", RootAccess="Enabled")
    assert len(env.plan().changes) == 4

    result = env.apply()
    assert result.ok, result.summary()
    assert refs(env.plan()) == []
    assert iam.list_attached_group_policies(GroupName="SageMakerEngineer")["AttachedPolicies"] == [
        {
            "PolicyName": "use-notebook-for-engineer",
            "PolicyArn": f"arn:aws:iam::{ACCOUNT}:policy/use-notebook-for-engineer",
        }
    ]
    assert all(s3.get_public_access_block(Bucket="sagemaker-rawdata")["PublicAccessBlockConfiguration"].values())
    notebook = sm.describe_notebook_instance(NotebookInstanceName="notebook-for-administrator")
    assert notebook["RootAccess"] == "Disabled"


def test_update_of_a_running_notebook_waits_until_it_is_stopped(env: Env) -> None:
    env.apply()
    env.edit(
        "notebooks/notebooks.yaml", lambda t: t.replace("instanceType: ml.t3.medium", "instanceType: ml.t3.large", 1)
    )
    result = env.apply()
    (pending,) = result.of(Status.PENDING)
    assert pending.change.ref == "NotebookInstance/notebook-for-administrator"
    assert "InService" in (pending.message or "") and result.ok
    sm = boto3.client("sagemaker")
    assert (
        sm.describe_notebook_instance(NotebookInstanceName="notebook-for-administrator")["InstanceType"]
        == "ml.t3.medium"
    )
    sm.stop_notebook_instance(NotebookInstanceName="notebook-for-administrator")
    assert env.apply().ok
    described = sm.describe_notebook_instance(NotebookInstanceName="notebook-for-administrator")
    assert (described["InstanceType"], described["NotebookInstanceStatus"]) == ("ml.t3.large", "Stopped")
    assert refs(env.plan()) == []


def test_restart_mode_stops_updates_and_starts_the_notebook(env: Env) -> None:
    env.apply()
    env.edit("settings.yaml", lambda t: t.replace("notebookUpdates: when-stopped", "notebookUpdates: restart"))
    env.edit("notebooks/notebooks.yaml", lambda t: t.replace("volumeSizeInGB: 20", "volumeSizeInGB: 30", 1))
    result = env.apply()
    assert result.ok and not result.of(Status.PENDING), result.summary()
    described = boto3.client("sagemaker").describe_notebook_instance(NotebookInstanceName="notebook-for-administrator")
    assert (described["VolumeSizeInGB"], described["NotebookInstanceStatus"]) == (30, "InService")


def test_removed_user_is_deleted_with_everything_iam_requires_gone_first(env: Env) -> None:
    env.apply()
    iam = boto3.client("iam")
    iam.create_access_key(UserName="carol")
    serial = iam.create_virtual_mfa_device(VirtualMFADeviceName="carol")["VirtualMFADevice"]["SerialNumber"]
    iam.enable_mfa_device(
        UserName="carol", SerialNumber=serial, AuthenticationCode1="123456", AuthenticationCode2="654321"
    )
    env.edit("users/users.yaml", lambda t: "---".join(t.split("---")[:2]))
    env.edit("studio/studio.yaml", without_profile("carol"))  # her Studio profile's manifest goes with her
    plan = env.plan()
    # Her profile is released (a profile's default: its private space holds her work), before she is deleted.
    assert refs(plan) == [
        ("update", "Group/SageMakerEngineer"),
        ("release", "StudioUserProfile/carol"),
        ("delete", "User/carol"),
    ]
    # The plan says what deleting her removes besides her own fields.
    (deletion,) = [c for c in plan if c.action is Action.DELETE]
    (key,) = iam.list_access_keys(UserName="carol")["AccessKeyMetadata"]
    assert deletion.destroys == (
        "login profile (console password)",
        f"access key {key['AccessKeyId']} (Active)",
        f"MFA device {serial}",
    )
    assert env.apply().ok
    users = [u["UserName"] for u in iam.list_users()["Users"]]
    assert "carol" not in users
    # The emulator does not enforce delete conflicts: check that the sequence really cleaned up.
    members = [u["UserName"] for u in iam.get_group(GroupName="SageMakerEngineer")["Users"]]
    assert members == ["bob"]
    assert iam.list_virtual_mfa_devices()["VirtualMFADevices"] == []


def test_removed_policy_is_detached_everywhere_then_deleted(env: Env) -> None:
    env.apply()
    iam = boto3.client("iam")
    arn = f"arn:aws:iam::{ACCOUNT}:policy/notebook-logs"
    iam.attach_user_policy(UserName="alice", PolicyArn=arn)  # drift: also attached to a user
    env.edit("roles/notebook-roles.yaml", lambda t: t.replace("    - notebook-logs\n", ""))
    env.edit("policies/notebook-data.yaml", lambda t: t[: t.index("# What every notebook needs")])
    plan = env.plan()
    assert ("delete", "Policy/notebook-logs") in refs(plan)
    assert env.apply().ok
    assert refs(env.plan()) == []
    local = [p["PolicyName"] for p in iam.list_policies(Scope="Local")["Policies"]]
    assert "notebook-logs" not in local
    for role in ("notebook-for-administrator-role", "notebook-for-engineer-role"):
        attached = [p["PolicyArn"] for p in iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"]]
        assert arn not in attached


def test_policy_update_keeps_at_most_five_versions(env: Env) -> None:
    env.apply()
    iam = boto3.client("iam")
    arn = f"arn:aws:iam::{ACCOUNT}:policy/notebook-engineer-data"
    for i in range(6):
        env.edit(
            "policies/notebook-data.yaml",
            lambda t, i=i: t.replace(
                "Sid: ReadRawData" if i == 0 else f"Sid: ReadRawData{i - 1}", f"Sid: ReadRawData{i}"
            ),
        )
        assert env.apply().ok
    versions = iam.list_policy_versions(PolicyArn=arn)["Versions"]
    assert len(versions) == 5
    default = next(v for v in versions if v["IsDefaultVersion"])
    document = iam.get_policy_version(PolicyArn=arn, VersionId=default["VersionId"])["PolicyVersion"]["Document"]
    assert any(s.get("Sid") == "ReadRawData5" for s in document["Statement"])
    assert refs(env.plan()) == []


def test_retained_bucket_is_released_and_its_objects_stay(env: Env) -> None:
    env.apply()
    s3 = boto3.client("s3")
    s3.put_bucket_policy(Bucket="sagemaker-result", Policy='{"Version":"2012-10-17","Statement":[]}')  # let objects in
    s3.put_object(Bucket="sagemaker-result", Key="inference/1.json", Body=b"{}")
    env.edit("buckets/buckets.yaml", lambda t: t[: t.index("# Results")])
    assert refs(env.plan()) == [("release", "Bucket/sagemaker-result")]
    assert env.apply().ok
    tags = s3.get_bucket_tagging(Bucket="sagemaker-result")["TagSet"]
    assert {"Key": "managed-by", "Value": "reconciler"} not in tags
    assert [o["Key"] for o in s3.list_objects_v2(Bucket="sagemaker-result")["Contents"]] == ["inference/1.json"]
    assert refs(env.plan()) == []


def test_bucket_with_delete_policy_is_deleted_only_when_empty(env: Env) -> None:
    env.edit("buckets/buckets.yaml", lambda t: t.replace("deletionPolicy: Retain", "deletionPolicy: Delete"))
    env.apply()
    s3 = boto3.client("s3")
    s3.put_bucket_policy(Bucket="sagemaker-result", Policy='{"Version":"2012-10-17","Statement":[]}')
    s3.put_object(Bucket="sagemaker-result", Key="keep-me", Body=b"data")
    env.edit("buckets/buckets.yaml", lambda t: t[: t.index("# Results")])
    assert refs(env.plan()) == [("delete", "Bucket/sagemaker-result")]
    # A bucket that holds data refuses the whole plan, before anything is written.
    with pytest.raises(PlanRefused) as refused:
        env.apply()
    assert [(r.code, r.resources) for r in refused.value.verdict.refusals] == [
        ("not-empty", ("Bucket/sagemaker-result",))
    ]
    assert "holds objects" in str(refused.value)
    assert [o["Key"] for o in s3.list_objects_v2(Bucket="sagemaker-result")["Contents"]] == ["keep-me"]
    # Emptied by hand (every version and delete marker: the bucket is versioned), it is deleted.
    listed = s3.list_object_versions(Bucket="sagemaker-result")
    for version in listed.get("Versions", []) + listed.get("DeleteMarkers", []):
        s3.delete_object(Bucket="sagemaker-result", Key=version["Key"], VersionId=version["VersionId"])
    result = env.apply()
    assert result.ok and result.done(Action.DELETE) == 1, result.summary()
    names = [b["Name"] for b in s3.list_buckets()["Buckets"]]
    assert "sagemaker-result" not in names and "sagemaker-rawdata" in names
    assert refs(env.plan()) == []


def test_too_many_deletions_are_refused_before_any_write(env: Env) -> None:
    env.apply()
    env.edit("settings.yaml", lambda t: t.replace("maxDeletes: 10", "maxDeletes: 1"))
    env.edit("users/users.yaml", lambda t: t.split("---")[0])
    env.edit("studio/studio.yaml", without_profile("bob"))  # their Studio profiles go with them (released)
    env.edit("studio/studio.yaml", without_profile("carol"))
    with pytest.raises(RefusedError, match=r"deletes 2 resources \(User/bob, User/carol\), more than the 1 allowed"):
        env.apply()
    assert sorted(u["UserName"] for u in boto3.client("iam").list_users()["Users"]) == ["alice", "bob", "carol"]
    assert env.apply(allow_deletes=2).ok
    assert sorted(u["UserName"] for u in boto3.client("iam").list_users()["Users"]) == ["alice"]


def test_a_checkout_that_lost_most_manifests_never_empties_the_account(env: Env) -> None:
    env.apply()
    env.edit("settings.yaml", lambda t: t.replace("maxDeletes: 10", "maxDeletes: 100"))
    for rel in (
        "users/users.yaml",
        "groups/groups.yaml",
        "notebooks/notebooks.yaml",
        "roles/notebook-roles.yaml",
        "policies/notebook-data.yaml",
        "policies/notebook-users.yaml",
        "buckets/buckets.yaml",
        "studio/studio.yaml",
    ):
        (env.root / rel).unlink()
    with pytest.raises(RefusedError, match="must not empty the account"):
        env.apply()
    assert len(boto3.client("iam").list_users()["Users"]) == 3


def test_unowned_resource_named_in_git_needs_adopt(env: Env) -> None:
    iam = boto3.client("iam")
    iam.create_user(UserName="alice")  # made by hand, no ownership tag
    with pytest.raises(PlanRefused) as refused:
        env.apply()
    assert [(r.code, r.resources) for r in refused.value.verdict.refusals] == [("adopt", ("User/alice",))]
    assert "--adopt" in refused.value.verdict.refusals[0].unblock
    # Refused as a whole, before any write: nothing else was created, and alice is as she was.
    assert [u["UserName"] for u in iam.list_users()["Users"]] == ["alice"]
    assert iam.list_policies(Scope="Local")["Policies"] == []
    assert iam.list_user_tags(UserName="alice")["Tags"] == []
    assert env.apply(adopt=True).ok
    assert {"Key": "managed-by", "Value": "reconciler"} in iam.list_user_tags(UserName="alice")["Tags"]
    assert refs(env.plan()) == []


def execute_unchecked(env: Env) -> ApplyResult:
    """The executor alone, handed the plan without its verdict: deliberately below ``converge`` (which refuses
    such a plan as a whole before any write), to test the executor's own check of every change."""
    desired = load_directory(env.root)
    plan = preview(desired, ClientFactory(env.aws, read_only=True), REGION).plan
    options = ApplyOptions(consistency_timeout=1.0, poll_interval=0.05)
    writer = ClientFactory(env.aws, read_only=False)
    return Executor(writer, context(desired, REGION), options, notebook_updates="when-stopped").run(plan)


def test_the_executor_itself_refuses_an_adoption_without_adopt_and_skips_its_dependants_only(env: Env) -> None:
    """Defence in depth: a plan with an adoption that reached the executor without --adopt fails that change."""
    iam = boto3.client("iam")
    iam.create_user(UserName="alice")
    result = execute_unchecked(env)
    (failed,) = result.of(Status.FAILED)
    assert failed.change.ref == "User/alice" and "--adopt" in (failed.message or "")
    # Her group waits for her (it adds her as a member): skipped; everything else is created.
    assert [o.change.ref for o in result.of(Status.SKIPPED)] == ["Group/SageMakerAdministrator"]
    assert not result.ok and result.done(Action.CREATE) == 20
    assert iam.list_user_tags(UserName="alice")["Tags"] == []


def test_the_executor_itself_refuses_a_change_with_a_blocker(env: Env) -> None:
    """Defence in depth: a deletion of a bucket that holds objects that reached the executor fails, the object
    stays; the independent deletion of an empty bucket is made."""
    env.edit("buckets/buckets.yaml", lambda t: t.replace("deletionPolicy: Retain", "deletionPolicy: Delete"))
    assert env.apply().ok
    s3 = boto3.client("s3")
    s3.put_bucket_policy(Bucket="sagemaker-result", Policy='{"Version":"2012-10-17","Statement":[]}')
    s3.put_object(Bucket="sagemaker-result", Key="keep-me", Body=b"data")
    env.edit(
        "buckets/buckets.yaml",
        # The bucket is renamed; its KMS key (a KmsKey manifest of its own name) stays as it is.
        lambda t: (
            t[: t.index("# Results")]
            .replace("sagemaker-rawdata", "rawdata2")
            .replace("kmsKey: rawdata2", "kmsKey: sagemaker-rawdata")
        ),
    )
    result = execute_unchecked(env)
    (failed,) = result.of(Status.FAILED)
    assert failed.change.ref == "Bucket/sagemaker-result" and "holds objects" in (failed.message or "")
    assert result.done(Action.DELETE) == 1 and result.done(Action.CREATE) == 1
    assert [o["Key"] for o in s3.list_objects_v2(Bucket="sagemaker-result")["Contents"]] == ["keep-me"]
    names = [b["Name"] for b in s3.list_buckets()["Buckets"]]
    assert "sagemaker-rawdata" not in names and "rawdata2" in names and "sagemaker-result" in names


def test_a_failed_change_skips_its_dependants_only_and_the_next_run_converges(env: Env) -> None:
    env.edit(
        "roles/notebook-roles.yaml",
        lambda t: t.replace(
            "    - notebook-logs\n", "    - notebook-logs\n    - arn:aws:iam::aws:policy/NoSuchPolicyAnywhere\n", 1
        ),
    )
    result = env.apply()
    failed = {o.change.ref for o in result.of(Status.FAILED)}
    skipped = {o.change.ref: o.message for o in result.of(Status.SKIPPED)}
    assert failed == {"Role/notebook-for-administrator-role"}
    # What runs as the role, and the keys whose policies name it (KMS refuses a principal that is not there),
    # with the buckets encrypted under those keys; everything else is created.
    assert list(skipped) == [
        "KmsKey/sagemaker-rawdata",
        "KmsKey/sagemaker-result",
        "Bucket/sagemaker-rawdata",
        "Bucket/sagemaker-result",
        "NotebookInstance/notebook-for-administrator",
    ]
    assert "Role/notebook-for-administrator-role" in (skipped["NotebookInstance/notebook-for-administrator"] or "")
    assert "Role/notebook-for-administrator-role" in (skipped["KmsKey/sagemaker-rawdata"] or "")
    assert "KmsKey/sagemaker-rawdata" in (skipped["Bucket/sagemaker-rawdata"] or "")
    assert result.done(Action.CREATE) == 16
    env.edit(
        "roles/notebook-roles.yaml", lambda t: t.replace("    - arn:aws:iam::aws:policy/NoSuchPolicyAnywhere\n", "")
    )
    assert env.apply().ok
    assert refs(env.plan()) == []


def test_an_empty_group_left_by_an_interrupted_create_is_taken_over_without_adopt(env: Env) -> None:
    boto3.client("iam").create_group(GroupName="SageMakerEngineer")
    plan = env.plan()
    assert ("update", "Group/SageMakerEngineer") in refs(plan)
    assert env.apply().ok and refs(env.plan()) == []


def test_a_group_is_created_at_its_path_and_moved_when_the_path_changes(env: Env) -> None:
    """Groups pass through the reserved pending path while created (their ownership mark until the
    guard is on); they end at the manifest's path, and a path change in git moves them."""
    assert env.apply().ok
    iam = boto3.client("iam")
    assert iam.get_group(GroupName="SageMakerEngineer")["Group"]["Path"] == "/"
    text = (env.root / "groups/groups.yaml").read_text()
    head, sep, rest = text.partition("name: SageMakerEngineer\n")
    spec_at = rest.index("spec:\n") + len("spec:\n")
    (env.root / "groups/groups.yaml").write_text(head + sep + rest[:spec_at] + "  path: /ml/\n" + rest[spec_at:])
    plan = env.plan()
    assert [c.ref for c in plan] == ["Group/SageMakerEngineer"]
    assert "path" in [f.field for f in plan.changes[0].fields]
    assert env.apply().ok
    group = iam.get_group(GroupName="SageMakerEngineer")["Group"]
    assert group["Path"] == "/ml/" and group["Arn"] == f"arn:aws:iam::{ACCOUNT}:group/ml/SageMakerEngineer"
    assert refs(env.plan()) == []


def test_a_group_at_the_pending_path_without_its_guard_is_still_owned(env: Env) -> None:
    """What a run killed between CreateGroup and the guard leaves, even with a policy attached by hand
    since: the next plan updates it (no adoption needed) and apply moves it to its path. (Removed
    from git instead, it is deleted: tests/apply/test_crash.py.)"""
    boto3.client("iam").create_group(GroupName="SageMakerEngineer", Path="/reconciler-pending/")
    boto3.client("iam").attach_group_policy(
        GroupName="SageMakerEngineer", PolicyArn="arn:aws:iam::aws:policy/ReadOnlyAccess"
    )
    change = next(c for c in env.plan() if c.ref == "Group/SageMakerEngineer")
    assert change.action is Action.UPDATE
    assert env.apply().ok and refs(env.plan()) == []
    assert boto3.client("iam").get_group(GroupName="SageMakerEngineer")["Group"]["Path"] == "/"
