"""The AWS steps of the Policy kind: create, update (a new default version, at most five kept), delete (detached
everywhere first), release."""

from __future__ import annotations

from typing import TYPE_CHECKING

from reconciler.kinds.iamsteps import GONE, ownership_marks, sync_tags
from reconciler.kinds.steps import Step, StepContext, StepError, StepInput, doc, ignore, tag_list

if TYPE_CHECKING:
    from mypy_boto3_iam.type_defs import CreatePolicyRequestTypeDef

MAX_POLICY_VERSIONS = 5


def create_policy(step: StepContext, change: StepInput) -> None:
    want = change.desired
    args: CreatePolicyRequestTypeDef = {
        "PolicyName": change.name,
        "Path": want["path"],
        "PolicyDocument": doc(want["document"]),
        "Tags": tag_list(want["tags"]),
    }
    if want.get("description"):
        args["Description"] = want["description"]
    iam = step.aws.client("iam")
    iam.create_policy(**args)


def _policy_arn(step: StepContext, name: str, path: str) -> str:
    return f"arn:aws:iam::{step.ctx.account_id}:policy{path}{name}"


def update_policy(step: StepContext, change: StepInput) -> None:
    have, want = change.live, change.desired
    if change.changed("path") or change.changed("description"):
        raise StepError(
            f"IAM cannot change the path or description of policy {change.name} in place; "
            "give the policy a new name (a new policy is created and attached, the old one "
            "deleted) or change it by hand"
        )
    iam = step.aws.client("iam")
    arn = _policy_arn(step, change.name, want["path"])
    if change.changed("tags"):
        sync_tags(step, "policy", arn, live=have.get("tags", {}), want=want["tags"])
    if change.changed("document"):
        versions = iam.list_policy_versions(PolicyArn=arn)["Versions"]
        if len(versions) >= MAX_POLICY_VERSIONS:
            oldest = min((v for v in versions if not v["IsDefaultVersion"]), key=lambda v: v["CreateDate"])
            iam.delete_policy_version(PolicyArn=arn, VersionId=oldest["VersionId"])
        iam.create_policy_version(PolicyArn=arn, PolicyDocument=doc(want["document"]), SetAsDefault=True)


Attached = tuple[list[str], list[str], list[str]]  # the roles, groups and users a policy is attached to


def _detach_and_delete(step: StepContext, arn: str) -> Attached:
    """Detach the policy everywhere, delete it; return where it was attached."""
    iam = step.aws.client("iam")
    roles: list[str] = []
    groups: list[str] = []
    users: list[str] = []
    paginator = iam.get_paginator("list_entities_for_policy")
    for page in paginator.paginate(PolicyArn=arn):
        for role in page.get("PolicyRoles", []):
            roles.append(role["RoleName"])
            ignore(GONE, iam.detach_role_policy, RoleName=role["RoleName"], PolicyArn=arn)
        for group in page.get("PolicyGroups", []):
            groups.append(group["GroupName"])
            ignore(GONE, iam.detach_group_policy, GroupName=group["GroupName"], PolicyArn=arn)
        for user in page.get("PolicyUsers", []):
            users.append(user["UserName"])
            ignore(GONE, iam.detach_user_policy, UserName=user["UserName"], PolicyArn=arn)
    for version in iam.list_policy_versions(PolicyArn=arn)["Versions"]:
        if not version["IsDefaultVersion"]:
            ignore(GONE, iam.delete_policy_version, PolicyArn=arn, VersionId=version["VersionId"])
    ignore(GONE, iam.delete_policy, PolicyArn=arn)
    return roles, groups, users


def delete_policy(step: StepContext, change: StepInput) -> None:
    _detach_and_delete(step, _policy_arn(step, change.name, change.live.get("path", "/")))


def replace_policy(step: StepContext, change: StepInput) -> None:
    """Delete and recreate (a new path or description). With the same path the ARN is the same, and the roles,
    groups and users that had it attached get it back: they do not change in the plan, so nothing else would
    attach it again. With a new path the ARN is new: the roles and groups that name the policy are updates of
    the plan, made after this step, that attach the new ARN."""
    old = _policy_arn(step, change.name, change.live.get("path", "/"))
    roles, groups, _users = _detach_and_delete(step, old)
    create_policy(step, change)
    new = _policy_arn(step, change.name, change.desired["path"])
    if new != old:
        return
    iam = step.aws.client("iam")
    for role in roles:
        iam.attach_role_policy(RoleName=role, PolicyArn=new)
    for group in groups:
        iam.attach_group_policy(GroupName=group, PolicyArn=new)
    # Not to users: users hold no policies of their own here (their permissions come from groups).


def release_policy(step: StepContext, change: StepInput) -> None:
    arn = _policy_arn(step, change.name, change.live.get("path", "/"))
    if marks := ownership_marks(step, change):
        ignore(GONE, step.aws.client("iam").untag_policy, PolicyArn=arn, TagKeys=marks)


STEPS: dict[str, Step] = {
    "create": create_policy,
    "update": update_policy,
    "delete": delete_policy,
    "replace": replace_policy,
    "release": release_policy,
}
