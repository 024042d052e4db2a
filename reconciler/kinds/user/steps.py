"""The AWS steps of the User kind: its login profile, boundary, tags; deletion removes every credential first."""

from __future__ import annotations

import secrets
import string
from typing import TYPE_CHECKING

from reconciler.kinds.iamsteps import GONE, ownership_marks, sync_attached, sync_inline, sync_tags
from reconciler.kinds.steps import Step, StepContext, StepInput, ignore, tag_list

if TYPE_CHECKING:
    from mypy_boto3_iam.type_defs import CreateUserRequestTypeDef


def _initial_password() -> str:
    """A random password that nobody sees: an administrator sets the real one (reset required)."""
    alphabet = string.ascii_letters + string.digits + "!@#%^&*-_=+"
    core = "".join(secrets.choice(alphabet) for _ in range(28))
    return core + secrets.choice(string.ascii_uppercase) + secrets.choice(string.digits) + "!"


def _set_console_access(step: StepContext, name: str, enabled: bool) -> None:
    iam = step.aws.client("iam")
    if enabled:
        ignore(
            ("EntityAlreadyExists",),
            iam.create_login_profile,
            UserName=name,
            Password=_initial_password(),
            PasswordResetRequired=True,
        )
    else:
        ignore(GONE, iam.delete_login_profile, UserName=name)


def create_user(step: StepContext, change: StepInput) -> None:
    want = change.desired
    iam = step.aws.client("iam")
    args: CreateUserRequestTypeDef = {"UserName": change.name, "Path": want["path"], "Tags": tag_list(want["tags"])}
    if want.get("permissionsBoundary"):
        args["PermissionsBoundary"] = want["permissionsBoundary"]
    iam.create_user(**args)
    if want["consoleAccess"]:
        _set_console_access(step, change.name, True)


def update_user(step: StepContext, change: StepInput) -> None:
    have, want = change.live, change.desired
    iam = step.aws.client("iam")
    name = change.name
    if change.changed("tags"):
        sync_tags(step, "user", name, live=have.get("tags", {}), want=want["tags"])
    if change.changed("path"):
        iam.update_user(UserName=name, NewPath=want["path"])
    if change.changed("policies"):
        sync_attached(step, "user", name, have.get("policies", []), [])
    if change.changed("inlinePolicies"):
        sync_inline(step, "user", name, have.get("inlinePolicies", {}), {}, fields=change)
    if change.changed("permissionsBoundary"):
        if want.get("permissionsBoundary"):
            iam.put_user_permissions_boundary(UserName=name, PermissionsBoundary=want["permissionsBoundary"])
        else:
            ignore(GONE, iam.delete_user_permissions_boundary, UserName=name)
    if change.changed("consoleAccess"):
        _set_console_access(step, name, want["consoleAccess"])


def delete_user(step: StepContext, change: StepInput) -> None:
    """Remove everything IAM requires gone before DeleteUser, then the user."""
    iam = step.aws.client("iam")
    name = change.name
    for groups in iam.get_paginator("list_groups_for_user").paginate(UserName=name):
        for group in groups.get("Groups", []):
            ignore(GONE, iam.remove_user_from_group, GroupName=group["GroupName"], UserName=name)
    ignore(GONE, iam.delete_login_profile, UserName=name)
    for keys in iam.get_paginator("list_access_keys").paginate(UserName=name):
        for key in keys.get("AccessKeyMetadata", []):
            ignore(GONE, iam.delete_access_key, UserName=name, AccessKeyId=key["AccessKeyId"])
    for devices in iam.get_paginator("list_mfa_devices").paginate(UserName=name):
        for device in devices.get("MFADevices", []):
            serial = device["SerialNumber"]
            ignore(GONE, iam.deactivate_mfa_device, UserName=name, SerialNumber=serial)
            if ":mfa/" in serial:
                ignore(GONE, iam.delete_virtual_mfa_device, SerialNumber=serial)
    for certs in iam.get_paginator("list_signing_certificates").paginate(UserName=name):
        for cert in certs.get("Certificates", []):
            ignore(GONE, iam.delete_signing_certificate, UserName=name, CertificateId=cert["CertificateId"])
    for ssh_key in iam.list_ssh_public_keys(UserName=name).get("SSHPublicKeys", []):
        ignore(GONE, iam.delete_ssh_public_key, UserName=name, SSHPublicKeyId=ssh_key["SSHPublicKeyId"])
    for inline in iam.get_paginator("list_user_policies").paginate(UserName=name):
        for policy_name in inline.get("PolicyNames", []):
            ignore(GONE, iam.delete_user_policy, UserName=name, PolicyName=policy_name)
    for attached in iam.get_paginator("list_attached_user_policies").paginate(UserName=name):
        for policy in attached.get("AttachedPolicies", []):
            ignore(GONE, iam.detach_user_policy, UserName=name, PolicyArn=policy["PolicyArn"])
    ignore(GONE, iam.delete_user, UserName=name)


def release_user(step: StepContext, change: StepInput) -> None:
    if marks := ownership_marks(step, change):
        ignore(GONE, step.aws.client("iam").untag_user, UserName=change.name, TagKeys=marks)


STEPS: dict[str, Step] = {
    "create": create_user,
    "update": update_user,
    "delete": delete_user,
    "release": release_user,
}
