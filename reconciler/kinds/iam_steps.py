"""The AWS steps that create, update and delete IAM policies, roles, groups and users.

Every step is idempotent and safe to interrupt: a resource is created already carrying its
ownership mark (tags on create; a group's guard policy first), so a rerun after a crash sees its
own resource and continues, never a foreign one.
"""

from __future__ import annotations

import secrets
import string
from typing import Any

from botocore.exceptions import ClientError

from reconciler.kinds.base import DELETION_POLICY_TAG
from reconciler.kinds.guard import GROUP_GUARD_POLICY, GROUP_PENDING_PATH, group_release
from reconciler.kinds.steps import StepContext, StepError, StepInput, code, doc, ignore, tag_list, until_consistent

MAX_POLICY_VERSIONS = 5
GONE = ("NoSuchEntity",)


def _arn_name(arn: str) -> str:
    return arn.rsplit("/", 1)[-1]


def _sync_tags(
    step: StepContext, kind: str, name: str, *, live: dict[str, str], want: dict[str, str], key: str
) -> None:
    iam: Any = step.aws.client("iam")
    added = {k: v for k, v in want.items() if live.get(k) != v}
    removed = sorted(k for k in live if k not in want)
    if added:
        getattr(iam, f"tag_{kind}")(**{key: name}, Tags=tag_list(added))
    if removed:
        getattr(iam, f"untag_{kind}")(**{key: name}, TagKeys=removed)


def _sync_attached(step: StepContext, principal: str, name: str, live: list[str], want: list[str]) -> None:
    iam: Any = step.aws.client("iam")
    key = f"{principal.capitalize()}Name"
    for arn in sorted(set(want) - set(live)):
        getattr(iam, f"attach_{principal}_policy")(**{key: name}, PolicyArn=arn)
    for arn in sorted(set(live) - set(want)):
        ignore(GONE, getattr(iam, f"detach_{principal}_policy"), **{key: name}, PolicyArn=arn)


def _sync_inline(
    step: StepContext,
    principal: str,
    name: str,
    live: dict[str, Any],
    want: dict[str, Any],
    *,
    fields: StepInput | None = None,
    first: str | None = None,
) -> None:
    """Put changed inline policies (``first`` before the others), delete removed ones."""
    iam: Any = step.aws.client("iam")
    key = f"{principal.capitalize()}Name"
    order = sorted(want, key=lambda n: (n != first, n))
    for policy_name in order:
        if fields is None or fields.changed(f"inlinePolicies.{policy_name}") or policy_name not in live:
            getattr(iam, f"put_{principal}_policy")(
                **{key: name}, PolicyName=policy_name, PolicyDocument=doc(want[policy_name])
            )
    for policy_name in sorted(set(live) - set(want)):
        ignore(GONE, getattr(iam, f"delete_{principal}_policy"), **{key: name}, PolicyName=policy_name)


# ------------------------------------------------------------------------------------------ Policy


def create_policy(step: StepContext, change: StepInput) -> None:
    want = change.desired
    args: dict[str, Any] = {
        "PolicyName": change.name,
        "Path": want["path"],
        "PolicyDocument": doc(want["document"]),
        "Tags": tag_list(want["tags"]),
    }
    if want.get("description"):
        args["Description"] = want["description"]
    iam: Any = step.aws.client("iam")
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
    iam: Any = step.aws.client("iam")
    arn = _policy_arn(step, change.name, want["path"])
    if change.changed("tags"):
        _sync_tags(step, "policy", arn, live=have.get("tags", {}), want=want["tags"], key="PolicyArn")
    if change.changed("document"):
        versions = iam.list_policy_versions(PolicyArn=arn)["Versions"]
        if len(versions) >= MAX_POLICY_VERSIONS:
            oldest = min((v for v in versions if not v["IsDefaultVersion"]), key=lambda v: v["CreateDate"])
            iam.delete_policy_version(PolicyArn=arn, VersionId=oldest["VersionId"])
        iam.create_policy_version(PolicyArn=arn, PolicyDocument=doc(want["document"]), SetAsDefault=True)


def delete_policy(step: StepContext, change: StepInput) -> None:
    iam: Any = step.aws.client("iam")
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


# ------------------------------------------------------------------------------------------ Role


def _role_not_visible(exc: ClientError) -> bool:
    # A policy created a moment ago may not be attachable yet (IAM eventual consistency).
    return code(exc) == "NoSuchEntity"


def create_role(step: StepContext, change: StepInput) -> None:
    want = change.desired
    iam: Any = step.aws.client("iam")
    args: dict[str, Any] = {
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
            lambda: _sync_attached(step, "role", name, have.get("policies", []), want["policies"]),
            when=_role_not_visible,
        )
    if change is None or change.changed("inlinePolicies"):
        _sync_inline(step, "role", name, have.get("inlinePolicies", {}), want["inlinePolicies"], fields=change)


def update_role(step: StepContext, change: StepInput) -> None:
    have, want = change.live, change.desired
    if change.changed("path"):
        raise StepError(
            f"IAM cannot move role {change.name} to another path in place; "
            "delete it by hand, or give the role a new name"
        )
    iam: Any = step.aws.client("iam")
    if change.changed("tags"):
        _sync_tags(step, "role", change.name, live=have.get("tags", {}), want=want["tags"], key="RoleName")
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
    iam: Any = step.aws.client("iam")
    name = change.name
    for page in iam.get_paginator("list_attached_role_policies").paginate(RoleName=name):
        for policy in page.get("AttachedPolicies", []):
            ignore(GONE, iam.detach_role_policy, RoleName=name, PolicyArn=policy["PolicyArn"])
    for page in iam.get_paginator("list_role_policies").paginate(RoleName=name):
        for policy_name in page.get("PolicyNames", []):
            ignore(GONE, iam.delete_role_policy, RoleName=name, PolicyName=policy_name)
    for page in iam.get_paginator("list_instance_profiles_for_role").paginate(RoleName=name):
        for profile in page.get("InstanceProfiles", []):
            ignore(
                GONE,
                iam.remove_role_from_instance_profile,
                InstanceProfileName=profile["InstanceProfileName"],
                RoleName=name,
            )
    ignore(GONE, iam.delete_role, RoleName=name)


# ------------------------------------------------------------------------------------------ Group


def create_group(step: StepContext, change: StepInput) -> None:
    want = change.desired
    iam: Any = step.aws.client("iam")
    # Created at the pending path: owned from its first call (a group cannot be tagged), then the
    # guard (the lasting ownership mark, and the MFA deny), then its real path.
    ignore(("EntityAlreadyExists",), iam.create_group, GroupName=change.name, Path=GROUP_PENDING_PATH)
    _sync_inline(step, "group", change.name, {}, want["inlinePolicies"], first=GROUP_GUARD_POLICY)
    if want["path"] != GROUP_PENDING_PATH:
        iam.update_group(GroupName=change.name, NewPath=want["path"])
    _sync_attached(step, "group", change.name, [], want["policies"])
    _sync_members(step, change.name, [], want["members"])


def _sync_members(step: StepContext, group: str, live: list[str], want: list[str]) -> None:
    """Add the declared members, remove the others (the users themselves are never touched)."""
    iam: Any = step.aws.client("iam")
    for user in sorted(set(want) - set(live)):
        iam.add_user_to_group(GroupName=group, UserName=user)
    for user in sorted(set(live) - set(want)):
        ignore(GONE, iam.remove_user_from_group, GroupName=group, UserName=user)


def update_group(step: StepContext, change: StepInput) -> None:
    have, want = change.live, change.desired
    iam: Any = step.aws.client("iam")
    # Inline policies before the path: when the guard is missing (a group left at the pending path by
    # an interrupted run), the path must stay the mark until the guard is back.
    if change.changed("inlinePolicies"):
        _sync_inline(
            step,
            "group",
            change.name,
            have.get("inlinePolicies", {}),
            want["inlinePolicies"],
            fields=change,
            first=GROUP_GUARD_POLICY,
        )
    if change.changed("path"):
        iam.update_group(GroupName=change.name, NewPath=want["path"])
    if change.changed("policies"):
        _sync_attached(step, "group", change.name, have.get("policies", []), want["policies"])
    if change.changed("members"):
        _sync_members(step, change.name, have.get("members", []), want["members"])


def delete_group(step: StepContext, change: StepInput) -> None:
    iam: Any = step.aws.client("iam")
    name = change.name
    for page in iam.get_paginator("get_group").paginate(GroupName=name):
        for user in page.get("Users", []):
            ignore(GONE, iam.remove_user_from_group, GroupName=name, UserName=user["UserName"])
    for page in iam.get_paginator("list_attached_group_policies").paginate(GroupName=name):
        for policy in page.get("AttachedPolicies", []):
            ignore(GONE, iam.detach_group_policy, GroupName=name, PolicyArn=policy["PolicyArn"])
    inline = [
        p
        for page in iam.get_paginator("list_group_policies").paginate(GroupName=name)
        for p in page.get("PolicyNames", [])
    ]
    # The guard (the ownership mark) goes last, so an interrupted delete is resumed by the next run;
    # before it goes, the pending path takes over as the mark until DeleteGroup.
    for policy_name in sorted(inline, key=lambda p: (p == GROUP_GUARD_POLICY, p)):
        if policy_name == GROUP_GUARD_POLICY:
            ignore(GONE, iam.update_group, GroupName=name, NewPath=GROUP_PENDING_PATH)
        ignore(GONE, iam.delete_group_policy, GroupName=name, PolicyName=policy_name)
    ignore(GONE, iam.delete_group, GroupName=name)


# ------------------------------------------------------------------------------------------ User


def _initial_password() -> str:
    """A random password that nobody sees: an administrator sets the real one (reset required)."""
    alphabet = string.ascii_letters + string.digits + "!@#%^&*-_=+"
    core = "".join(secrets.choice(alphabet) for _ in range(28))
    return core + secrets.choice(string.ascii_uppercase) + secrets.choice(string.digits) + "!"


def _set_console_access(step: StepContext, name: str, enabled: bool) -> None:
    iam: Any = step.aws.client("iam")
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
    iam: Any = step.aws.client("iam")
    boundary = {"PermissionsBoundary": want["permissionsBoundary"]} if want.get("permissionsBoundary") else {}
    iam.create_user(UserName=change.name, Path=want["path"], Tags=tag_list(want["tags"]), **boundary)
    if want["consoleAccess"]:
        _set_console_access(step, change.name, True)


def update_user(step: StepContext, change: StepInput) -> None:
    have, want = change.live, change.desired
    iam: Any = step.aws.client("iam")
    name = change.name
    if change.changed("tags"):
        _sync_tags(step, "user", name, live=have.get("tags", {}), want=want["tags"], key="UserName")
    if change.changed("path"):
        iam.update_user(UserName=name, NewPath=want["path"])
    if change.changed("policies"):
        _sync_attached(step, "user", name, have.get("policies", []), [])
    if change.changed("inlinePolicies"):
        _sync_inline(step, "user", name, have.get("inlinePolicies", {}), {}, fields=change)
    if change.changed("permissionsBoundary"):
        if want.get("permissionsBoundary"):
            iam.put_user_permissions_boundary(UserName=name, PermissionsBoundary=want["permissionsBoundary"])
        else:
            ignore(GONE, iam.delete_user_permissions_boundary, UserName=name)
    if change.changed("consoleAccess"):
        _set_console_access(step, name, want["consoleAccess"])


def delete_user(step: StepContext, change: StepInput) -> None:
    """Remove everything IAM requires gone before DeleteUser, then the user."""
    iam: Any = step.aws.client("iam")
    name = change.name
    for page in iam.get_paginator("list_groups_for_user").paginate(UserName=name):
        for group in page.get("Groups", []):
            ignore(GONE, iam.remove_user_from_group, GroupName=group["GroupName"], UserName=name)
    ignore(GONE, iam.delete_login_profile, UserName=name)
    for page in iam.get_paginator("list_access_keys").paginate(UserName=name):
        for key in page.get("AccessKeyMetadata", []):
            ignore(GONE, iam.delete_access_key, UserName=name, AccessKeyId=key["AccessKeyId"])
    for page in iam.get_paginator("list_mfa_devices").paginate(UserName=name):
        for device in page.get("MFADevices", []):
            serial = device["SerialNumber"]
            ignore(GONE, iam.deactivate_mfa_device, UserName=name, SerialNumber=serial)
            if ":mfa/" in serial:
                ignore(GONE, iam.delete_virtual_mfa_device, SerialNumber=serial)
    for page in iam.get_paginator("list_signing_certificates").paginate(UserName=name):
        for cert in page.get("Certificates", []):
            ignore(GONE, iam.delete_signing_certificate, UserName=name, CertificateId=cert["CertificateId"])
    for key in iam.list_ssh_public_keys(UserName=name).get("SSHPublicKeys", []):
        ignore(GONE, iam.delete_ssh_public_key, UserName=name, SSHPublicKeyId=key["SSHPublicKeyId"])
    for page in iam.get_paginator("list_user_policies").paginate(UserName=name):
        for policy_name in page.get("PolicyNames", []):
            ignore(GONE, iam.delete_user_policy, UserName=name, PolicyName=policy_name)
    for page in iam.get_paginator("list_attached_user_policies").paginate(UserName=name):
        for policy in page.get("AttachedPolicies", []):
            ignore(GONE, iam.detach_user_policy, UserName=name, PolicyArn=policy["PolicyArn"])
    ignore(GONE, iam.delete_user, UserName=name)


# ------------------------------------------------------------------------------------------ Release
# deletionPolicy Retain: the manifest is gone, the resource stays; only the ownership mark goes.


def _marks(step: StepContext, change: StepInput) -> list[str]:
    return sorted(k for k in change.live.get("tags", {}) if k in (step.ctx.ownership_key, DELETION_POLICY_TAG))


def release_policy(step: StepContext, change: StepInput) -> None:
    arn = _policy_arn(step, change.name, change.live.get("path", "/"))
    if marks := _marks(step, change):
        ignore(GONE, step.aws.client("iam").untag_policy, PolicyArn=arn, TagKeys=marks)


def release_role(step: StepContext, change: StepInput) -> None:
    if marks := _marks(step, change):
        ignore(GONE, step.aws.client("iam").untag_role, RoleName=change.name, TagKeys=marks)


def release_user(step: StepContext, change: StepInput) -> None:
    if marks := _marks(step, change):
        ignore(GONE, step.aws.client("iam").untag_user, UserName=change.name, TagKeys=marks)


def release_group(step: StepContext, change: StepInput) -> None:
    """The guard goes; its MFA requirement stays as an ordinary inline policy, put first, so that the
    members are never without it; a group left at the pending path by a crash gets a real path."""
    iam: Any = step.aws.client("iam")
    keep, path = group_release(
        change.live.get("inlinePolicies", {}).get(GROUP_GUARD_POLICY), change.live.get("path", "/")
    )
    for policy_name, document in sorted(keep.items()):
        iam.put_group_policy(GroupName=change.name, PolicyName=policy_name, PolicyDocument=doc(document))
    if path is not None:
        iam.update_group(GroupName=change.name, NewPath=path)
    ignore(GONE, iam.delete_group_policy, GroupName=change.name, PolicyName=GROUP_GUARD_POLICY)
