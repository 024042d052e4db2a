"""A relation a manifest declares is exclusive: group members, attached and inline policies, permissions
boundaries are exactly what git says; anything granted by hand is drift, shown by plan and removed."""

from __future__ import annotations

import json

import boto3
from applyenv import Env
from clirun import cli_here

from reconciler.engine.plan import Action

ACCOUNT = "123456789012"
ADMIN = "arn:aws:iam::aws:policy/AdministratorAccess"
ANYTHING = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})


def members(group: str) -> list[str]:
    return sorted(u["UserName"] for u in boto3.client("iam").get_group(GroupName=group)["Users"])


def test_a_member_added_by_hand_is_shown_and_removed_and_the_user_is_kept(env: Env) -> None:
    assert env.apply().ok
    iam = boto3.client("iam")
    iam.create_user(UserName="mallory")  # not in git at all
    iam.add_user_to_group(GroupName="SageMakerAdministrator", UserName="mallory")
    iam.add_user_to_group(GroupName="SageMakerAdministrator", UserName="bob")  # managed, but git says engineer
    plan = env.plan()
    (change,) = plan.changes
    assert (change.action, change.ref) == (Action.UPDATE, "Group/SageMakerAdministrator")
    assert [(f.field, f.old, f.new) for f in change.fields] == [("members", ("alice", "bob", "mallory"), ("alice",))]
    assert (
        "member(s) not declared in git, removed from the group (the users themselves are kept): bob, mallory"
        in change.notes
    )
    code, text = cli_here("plan", str(env.root))
    assert code == 2
    assert "      members:\n        - member bob\n        - member mallory\n" in text
    assert env.apply().ok
    assert members("SageMakerAdministrator") == ["alice"]
    assert "mallory" in [u["UserName"] for u in iam.list_users()["Users"]]  # never deleted: not ours
    assert env.plan().empty


def test_policies_and_boundaries_granted_by_hand_are_removed_from_roles_groups_and_users(env: Env) -> None:
    env.edit(
        "users/users.yaml",
        lambda t: t.replace("  name: bob\nspec:\n", "  name: bob\nspec:\n  permissionsBoundary: notebook-logs\n"),
    )
    assert env.apply().ok
    iam = boto3.client("iam")
    boundary = iam.get_user(UserName="bob")["User"]["PermissionsBoundary"]["PermissionsBoundaryArn"]
    assert boundary == f"arn:aws:iam::{ACCOUNT}:policy/notebook-logs"
    role = "notebook-for-engineer-role"
    iam.attach_role_policy(RoleName=role, PolicyArn=ADMIN)
    iam.put_role_policy(RoleName=role, PolicyName="by-hand", PolicyDocument=ANYTHING)
    iam.put_role_permissions_boundary(RoleName=role, PermissionsBoundary=ADMIN)
    iam.put_group_policy(GroupName="SageMakerEngineer", PolicyName="by-hand", PolicyDocument=ANYTHING)
    iam.attach_user_policy(UserName="carol", PolicyArn=ADMIN)
    iam.put_user_policy(UserName="carol", PolicyName="by-hand", PolicyDocument=ANYTHING)
    iam.put_user_permissions_boundary(UserName="carol", PermissionsBoundary=ADMIN)
    iam.delete_user_permissions_boundary(UserName="bob")  # and a declared boundary taken away
    plan = env.plan()
    drift = {c.ref: sorted(f.field for f in c.fields) for c in plan}
    assert drift == {
        f"Role/{role}": ["inlinePolicies.by-hand", "permissionsBoundary", "policies"],
        "Group/SageMakerEngineer": ["inlinePolicies.by-hand"],
        "User/carol": ["inlinePolicies.by-hand", "permissionsBoundary", "policies"],
        "User/bob": ["permissionsBoundary"],
    }
    assert env.apply().ok
    assert env.plan().empty
    assert "PermissionsBoundary" not in iam.get_user(UserName="carol")["User"]
    assert iam.get_user(UserName="bob")["User"]["PermissionsBoundary"]["PermissionsBoundaryArn"] == boundary
    assert iam.list_attached_user_policies(UserName="carol")["AttachedPolicies"] == []
    assert iam.list_role_policies(RoleName=role)["PolicyNames"] == []
    assert iam.list_group_policies(GroupName="SageMakerEngineer")["PolicyNames"] == ["reconciler-group-guard"]
