"""The AWS steps of the Role kind."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from reconciler.aws.answers import error_code
from reconciler.kinds.iamsteps import GONE, ownership_marks, sync_attached, sync_inline, sync_tags
from reconciler.kinds.steps import (
    Step,
    StepContext,
    StepError,
    StepInput,
    doc,
    ignore,
    tag_list,
    until_consistent,
)

if TYPE_CHECKING:
    from mypy_boto3_iam.type_defs import CreateRoleRequestTypeDef


def _role_not_visible(exc: ClientError) -> bool:
    # A policy created a moment ago may not be attachable yet (IAM eventual consistency).
    return error_code(exc) == "NoSuchEntity"


def create_role(step: StepContext, change: StepInput) -> None:
    want = change.desired
    iam = step.aws.client("iam")
    args: CreateRoleRequestTypeDef = {
        "RoleName": change.name,
        "Path": want["path"],
        "AssumeRolePolicyDocument": doc(want["trust"]),
        "MaxSessionDuration": want["maxSessionDuration"],
        "Tags": tag_list(want["tags"]),
    }
    if want.get("description"):
        args["Description"] = want["description"]
    if want.get("permissionsBoundary"):
        args["PermissionsBoundary"] = want["permissionsBoundary"]
    iam.create_role(**args)
    _converge_role(step, change.name, {}, want, None)


def _converge_role(
    step: StepContext, name: str, have: dict[str, Any], want: dict[str, Any], change: StepInput | None
) -> None:
    if change is None or change.changed("policies"):
        until_consistent(
            step,
            lambda: sync_attached(step, "role", name, have.get("policies", []), want["policies"]),
            when=_role_not_visible,
        )
    if change is None or change.changed("inlinePolicies"):
        sync_inline(step, "role", name, have.get("inlinePolicies", {}), want["inlinePolicies"], fields=change)


def update_role(step: StepContext, change: StepInput) -> None:
    have, want = change.live, change.desired
    if change.changed("path"):
        raise StepError(
            f"IAM cannot move role {change.name} to another path in place; "
            "delete it by hand, or give the role a new name"
        )
    iam = step.aws.client("iam")
    if change.changed("tags"):
        sync_tags(step, "role", change.name, live=have.get("tags", {}), want=want["tags"])
    if change.changed("trust"):
        iam.update_assume_role_policy(RoleName=change.name, PolicyDocument=doc(want["trust"]))
    if change.changed("description") or change.changed("maxSessionDuration"):
        iam.update_role(
            RoleName=change.name,
            Description=want.get("description") or "",
            MaxSessionDuration=want["maxSessionDuration"],
        )
    if change.changed("permissionsBoundary"):
        if want.get("permissionsBoundary"):
            iam.put_role_permissions_boundary(RoleName=change.name, PermissionsBoundary=want["permissionsBoundary"])
        else:
            ignore(GONE, iam.delete_role_permissions_boundary, RoleName=change.name)
    _converge_role(step, change.name, have, want, change)


def delete_role(step: StepContext, change: StepInput) -> None:
    iam = step.aws.client("iam")
    name = change.name
    for attached in iam.get_paginator("list_attached_role_policies").paginate(RoleName=name):
        for policy in attached.get("AttachedPolicies", []):
            ignore(GONE, iam.detach_role_policy, RoleName=name, PolicyArn=policy["PolicyArn"])
    for inline in iam.get_paginator("list_role_policies").paginate(RoleName=name):
        for policy_name in inline.get("PolicyNames", []):
            ignore(GONE, iam.delete_role_policy, RoleName=name, PolicyName=policy_name)
    for profiles in iam.get_paginator("list_instance_profiles_for_role").paginate(RoleName=name):
        for profile in profiles.get("InstanceProfiles", []):
            ignore(
                GONE,
                iam.remove_role_from_instance_profile,
                InstanceProfileName=profile["InstanceProfileName"],
                RoleName=name,
            )
    ignore(GONE, iam.delete_role, RoleName=name)


def release_role(step: StepContext, change: StepInput) -> None:
    if marks := ownership_marks(step, change):
        ignore(GONE, step.aws.client("iam").untag_role, RoleName=change.name, TagKeys=marks)


STEPS: dict[str, Step] = {
    "create": create_role,
    "update": update_role,
    "delete": delete_role,
    "release": release_role,
}
