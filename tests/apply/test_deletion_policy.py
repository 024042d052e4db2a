"""``deletionPolicy`` on every kind: what removing a manifest does is the policy recorded when the resource
was last applied. Notebooks (their volumes hold people's work) and buckets are retained by default."""

from __future__ import annotations

import boto3
from applyenv import Env, without_profile

from reconciler.engine.executor import Status
from reconciler.engine.plan import Action

TAG = {"Key": "managed-by", "Value": "reconciler"}


def refs(env: Env) -> list[tuple[str, str]]:
    return [(c.action.value, c.ref) for c in env.plan()]


def test_a_removed_notebook_manifest_releases_the_notebook_and_keeps_its_volume(env: Env) -> None:
    assert env.apply().ok
    (env.root / "notebooks" / "notebooks.yaml").unlink()
    plan = env.plan()
    assert [(c.action.value, c.ref) for c in plan] == [
        ("release", "NotebookInstance/notebook-for-administrator"),
        ("release", "NotebookInstance/notebook-for-engineer"),
    ]
    assert all(not c.destroys for c in plan)  # nothing is destroyed: no "storage volume" line
    result = env.apply()
    assert result.ok and result.done(Action.RELEASE) == 2, result.summary()
    sm = boto3.client("sagemaker")
    for name in ("notebook-for-administrator", "notebook-for-engineer"):
        described = sm.describe_notebook_instance(NotebookInstanceName=name)
        assert described["NotebookInstanceStatus"] == "InService"  # still there, volume and all
        assert described["VolumeSizeInGB"] == 20
        assert TAG not in sm.list_tags(ResourceArn=described["NotebookInstanceArn"])["Tags"]
    assert refs(env) == []  # released: no longer the reconciler's, so nothing more to do


def test_a_notebook_whose_manifest_says_delete_is_deleted_and_the_plan_says_its_volume_goes(env: Env) -> None:
    env.edit(
        "notebooks/notebooks.yaml",
        lambda t: t.replace("  volumeSizeInGB: 20\n", "  volumeSizeInGB: 20\n  deletionPolicy: Delete\n", 1),
    )
    assert env.apply().ok
    env.edit("notebooks/notebooks.yaml", lambda t: t[t.index("---") + 3 :])
    (deletion,) = env.plan().changes
    assert (deletion.action, deletion.ref) == (Action.DELETE, "NotebookInstance/notebook-for-administrator")
    assert deletion.destroys == ("its storage volume (20 GB) and all the work saved on it",)
    assert env.apply().ok
    listed = boto3.client("sagemaker").list_notebook_instances()["NotebookInstances"]
    names = [n["NotebookInstanceName"] for n in listed]
    assert names == ["notebook-for-engineer"]


def test_retain_lets_a_team_stop_managing_a_role_a_user_a_policy_and_a_group_without_deleting_them(
    env: Env,
) -> None:
    retain = "  deletionPolicy: Retain\n"
    env.edit("users/users.yaml", lambda t: t.replace("spec:\n", "spec:\n" + retain))
    env.edit("groups/groups.yaml", lambda t: t.replace("spec:\n", "spec:\n" + retain))
    env.edit("roles/notebook-roles.yaml", lambda t: t.replace("spec:\n", "spec:\n" + retain))
    env.edit("policies/notebook-users.yaml", lambda t: t.replace("spec:\n", "spec:\n" + retain))
    assert env.apply().ok
    iam = boto3.client("iam")
    assert {"Key": "reconciler/deletion-policy", "Value": "Retain"} in iam.list_user_tags(UserName="carol")["Tags"]
    # The team stops managing the administrators: their user, group and group policy leave git.
    env.edit("users/users.yaml", lambda t: "---".join(t.split("---")[1:]).lstrip("\n"))
    env.edit("groups/groups.yaml", lambda t: t[t.index("---") + 3 :])
    env.edit("policies/notebook-users.yaml", lambda t: t[t.index("---") + 3 :])
    plan = env.plan()
    assert {(c.action.value, c.ref) for c in plan} == {
        ("release", "User/alice"),
        ("release", "Group/SageMakerAdministrator"),
        ("release", "Policy/use-notebook-for-administrator"),
    }
    group = next(c for c in plan if c.kind == "Group")
    assert [f.field for f in group.fields] == ["inlinePolicies.reconciler-group-guard", "inlinePolicies.require-mfa"]
    result = env.apply()
    assert result.ok and result.done(Action.RELEASE) == 3, [o.message for o in result.of(Status.FAILED)]
    # Everything is still there and still works: alice is in her group, which keeps its policy and MFA.
    assert [g["GroupName"] for g in iam.list_groups_for_user(UserName="alice")["Groups"]] == ["SageMakerAdministrator"]
    assert TAG not in iam.list_user_tags(UserName="alice")["Tags"]
    assert iam.list_group_policies(GroupName="SageMakerAdministrator")["PolicyNames"] == ["require-mfa"]
    mfa = iam.get_group_policy(GroupName="SageMakerAdministrator", PolicyName="require-mfa")["PolicyDocument"]
    assert mfa["Statement"][0]["Sid"] == "BlockMostAccessUnlessSignedInWithMFA"
    attached = iam.list_attached_group_policies(GroupName="SageMakerAdministrator")["AttachedPolicies"]
    assert [p["PolicyName"] for p in attached] == ["use-notebook-for-administrator"]
    assert refs(env) == []


def test_the_policy_in_force_is_the_one_last_applied(env: Env) -> None:
    """A commit that changes a user to Delete and removes her manifest at once still retains her: Delete
    was never applied. Once applied, Delete is in force."""
    users = env.root / "users" / "users.yaml"
    with_carol = users.read_text()
    without_carol = "---".join(with_carol.split("---")[:2])
    # Her Studio profile's manifest leaves and comes back with hers (a profile for a user git does not declare
    # is a manifest error).
    studio = env.root / "studio" / "studio.yaml"
    with_profile = studio.read_text()
    without_profile_text = without_profile("carol")(with_profile)
    users.write_text(with_carol.replace("  name: carol\nspec:\n", "  name: carol\nspec:\n  deletionPolicy: Retain\n"))
    assert env.apply().ok
    users.write_text(without_carol)  # the Delete edit and the removal, in one commit
    studio.write_text(without_profile_text)
    assert ("release", "User/carol") in refs(env)
    users.write_text(with_carol.replace("  name: carol\nspec:\n", "  name: carol\nspec:\n  deletionPolicy: Delete\n"))
    studio.write_text(with_profile)
    assert env.apply().ok  # Delete applied (the default: the retain tag goes)
    tags = boto3.client("iam").list_user_tags(UserName="carol")["Tags"]
    assert [t for t in tags if t["Key"] == "reconciler/deletion-policy"] == []
    users.write_text(without_carol)
    studio.write_text(without_profile_text)
    assert ("delete", "User/carol") in refs(env)
