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


def delete_policy(step: StepContext, change: StepInput) -> None:
    iam = step.aws.client("iam")
    arn = _policy_arn(step, change.name, change.live.get("path", "/"))
    paginator = iam.get_paginator("list_entities_for_policy")
    for page in paginator.paginate(PolicyArn=arn):
        for role in page.get("PolicyRoles", []):
            ignore(GONE, iam.detach_role_policy, RoleName=role["RoleName"], PolicyArn=arn)
        for group in page.get("PolicyGroups", []):
            ignore(GONE, iam.detach_group_policy, GroupName=group["GroupName"], PolicyArn=arn)
        for user in page.get("PolicyUsers", []):
            ignore(GONE, iam.detach_user_policy, UserName=user["UserName"], PolicyArn=arn)
    for version in iam.list_policy_versions(PolicyArn=arn)["Versions"]:
        if not version["IsDefaultVersion"]:
            ignore(GONE, iam.delete_policy_version, PolicyArn=arn, VersionId=version["VersionId"])
    ignore(GONE, iam.delete_policy, PolicyArn=arn)


def release_policy(step: StepContext, change: StepInput) -> None:
    arn = _policy_arn(step, change.name, change.live.get("path", "/"))
    if marks := ownership_marks(step, change):
        ignore(GONE, step.aws.client("iam").untag_policy, PolicyArn=arn, TagKeys=marks)


STEPS: dict[str, Step] = {
    "create": create_policy,
    "update": update_policy,
    "delete": delete_policy,
    "release": release_policy,
}
