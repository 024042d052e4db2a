"""The AWS steps of the Group kind. A group is owned from its first call to its last: created at the pending
path, its guard put before anything else, moved to its real path; moved back before its guard goes."""

from __future__ import annotations

from reconciler.kinds.group.guard import GROUP_GUARD_POLICY, GROUP_PENDING_PATH, group_release
from reconciler.kinds.iamsteps import GONE, sync_attached, sync_inline
from reconciler.kinds.steps import Step, StepContext, StepInput, doc, ignore


def create_group(step: StepContext, change: StepInput) -> None:
    want = change.desired
    iam = step.aws.client("iam")
    # Created at the pending path: owned from its first call (a group cannot be tagged), then the
    # guard (the lasting ownership mark, and the MFA deny), then its real path.
    ignore(("EntityAlreadyExists",), iam.create_group, GroupName=change.name, Path=GROUP_PENDING_PATH)
    sync_inline(step, "group", change.name, {}, want["inlinePolicies"], first=GROUP_GUARD_POLICY)
    if want["path"] != GROUP_PENDING_PATH:
        iam.update_group(GroupName=change.name, NewPath=want["path"])
    sync_attached(step, "group", change.name, [], want["policies"])
    _sync_members(step, change.name, [], want["members"])


def _sync_members(step: StepContext, group: str, live: list[str], want: list[str]) -> None:
    """Add the declared members, remove the others (the users themselves are never touched)."""
    iam = step.aws.client("iam")
    for user in sorted(set(want) - set(live)):
        iam.add_user_to_group(GroupName=group, UserName=user)
    for user in sorted(set(live) - set(want)):
        ignore(GONE, iam.remove_user_from_group, GroupName=group, UserName=user)


def update_group(step: StepContext, change: StepInput) -> None:
    have, want = change.live, change.desired
    iam = step.aws.client("iam")
    # Inline policies before the path: when the guard is missing (a group left at the pending path by
    # an interrupted run), the path must stay the mark until the guard is back.
    if change.changed("inlinePolicies"):
        sync_inline(
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
        sync_attached(step, "group", change.name, have.get("policies", []), want["policies"])
    if change.changed("members"):
        _sync_members(step, change.name, have.get("members", []), want["members"])


def delete_group(step: StepContext, change: StepInput) -> None:
    iam = step.aws.client("iam")
    name = change.name
    for members in iam.get_paginator("get_group").paginate(GroupName=name):
        for user in members.get("Users", []):
            ignore(GONE, iam.remove_user_from_group, GroupName=name, UserName=user["UserName"])
    for attached in iam.get_paginator("list_attached_group_policies").paginate(GroupName=name):
        for policy in attached.get("AttachedPolicies", []):
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


def release_group(step: StepContext, change: StepInput) -> None:
    """The guard goes; its MFA requirement stays as an ordinary inline policy, put first, so that the
    members are never without it; a group left at the pending path by a crash gets a real path."""
    iam = step.aws.client("iam")
    keep, path = group_release(
        change.live.get("inlinePolicies", {}).get(GROUP_GUARD_POLICY), change.live.get("path", "/")
    )
    for policy_name, document in sorted(keep.items()):
        iam.put_group_policy(GroupName=change.name, PolicyName=policy_name, PolicyDocument=doc(document))
    if path is not None:
        iam.update_group(GroupName=change.name, NewPath=path)
    ignore(GONE, iam.delete_group_policy, GroupName=change.name, PolicyName=GROUP_GUARD_POLICY)


STEPS: dict[str, Step] = {
    "create": create_group,
    "update": update_group,
    "delete": delete_group,
    "release": release_group,
}
