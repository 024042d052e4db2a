"""The Group kind: an IAM group, its policies, its members (exactly the users that name it) and its guard."""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from reconciler.aws.live import LiveState
from reconciler.kinds.base import Kind
from reconciler.kinds.context import Context, Exists, Grant, Report, Target
from reconciler.kinds.group.guard import (
    GROUP_GUARD_POLICY,
    GROUP_PENDING_PATH,
    GUARD_SID,
    Group,
    group_guard_document,
    group_release,
    statements,
)
from reconciler.kinds.iamshared import (
    IAM_SOURCE,
    attachment_grants,
    attachments,
    check_policy_refs,
    policy_refs,
    without_attachments,
)
from reconciler.kinds.user import users
from reconciler.manifests.model import DesiredState, Resource, Source


def groups(desired: DesiredState) -> Mapping[str, Group]:
    """The Group manifests of ``desired``, typed."""
    return {name: r for name, r in desired.of("Group").items() if isinstance(r, Group)}


@dataclass(frozen=True)
class LiveGroup:
    name: str
    arn: str
    path: str
    attached: tuple[str, ...] = ()
    inline: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    members: tuple[str, ...] = ()


class GroupKind(Kind):
    name = "Group"
    schema = "group.schema.json"
    folder = "groups"
    sources = (IAM_SOURCE,)
    after = ("Policy", "User")

    def references(self, view: Mapping[str, Any], ctx: Target) -> set[str]:
        # Members are added once the users exist (and removed before they are deleted).
        return policy_refs(view.get("policies", ()), ctx) | {f"User/{m}" for m in view.get("members", ())}

    def destroys(self, live: Any, state: LiveState) -> tuple[str, ...]:
        assert isinstance(live, LiveGroup)
        return tuple(f"membership of User/{name}" for name in live.members)

    def empty_shell(self, live: Any) -> bool:
        return isinstance(live, LiveGroup) and not live.attached and not live.inline and not live.members

    def plan_notes(self, action: str, changed: Sequence[str], live: Any, ctx: Context) -> tuple[str, ...]:
        if "members" not in changed or not isinstance(live, LiveGroup):
            return ()
        declared = users(ctx.desired.written)  # an expired membership is declared: its removal says so itself
        undeclared = sorted(m for m in live.members if m not in declared or live.name not in declared[m].groups)
        if not undeclared:
            return ()
        return (
            f"member(s) not declared in git, removed from the group (the users themselves are kept): "
            f"{', '.join(undeclared)}",
        )

    document_map_fields = frozenset({"inlinePolicies"})
    reads = (
        "iam:GetAccountAuthorizationDetails",
        # a read by name (the controller's targeted read)
        "iam:GetGroup",
        "iam:ListAttachedGroupPolicies",
        "iam:ListGroupPolicies",
        "iam:GetGroupPolicy",
    )
    writes = (
        "iam:CreateGroup",
        "iam:UpdateGroup",
        "iam:DeleteGroup",
        "iam:AttachGroupPolicy",
        "iam:DetachGroupPolicy",
        "iam:PutGroupPolicy",
        "iam:DeleteGroupPolicy",
        "iam:AddUserToGroup",
        "iam:RemoveUserFromGroup",
    )
    security_fields = frozenset({"policies", "inlinePolicies", "members"})

    def desired_view(self, resource: Resource, ctx: Context) -> dict[str, Any]:
        assert isinstance(resource, Group)
        inline = {k: dict(v) for k, v in resource.inline_policies.items()}
        inline[GROUP_GUARD_POLICY] = group_guard_document(resource, ctx)
        return {
            "path": resource.path,
            "policies": sorted(ctx.policy_arn(p) for p in resource.policies),
            "inlinePolicies": inline,
            # Exactly the users whose manifests name the group: a member git does not declare (a user
            # added by hand, managed or not) is drift, removed from the group (the user is kept).
            "members": sorted(u.name for u in users(ctx.desired).values() if resource.name in u.groups),
        }

    def live_view(self, live: Any, ctx: Context) -> dict[str, Any]:
        assert isinstance(live, LiveGroup)
        return {
            "path": live.path,
            "policies": sorted(live.attached),
            "inlinePolicies": dict(live.inline),
            "members": sorted(live.members),
        }

    def owned(self, live: Any, ctx: Context) -> bool:
        return isinstance(live, LiveGroup) and (GROUP_GUARD_POLICY in live.inline or live.path == GROUP_PENDING_PATH)

    def recorded_deletion_policy(self, live: Any) -> str:
        assert isinstance(live, LiveGroup)
        sids = {s.get("Sid") for s in statements(live.inline.get(GROUP_GUARD_POLICY))}
        return "Retain" if GUARD_SID["Retain"] in sids else "Delete"

    def release_fields(self, live: Any, ctx: Context) -> list[tuple[str, Any, Any]]:
        assert isinstance(live, LiveGroup)
        guard = live.inline.get(GROUP_GUARD_POLICY)
        keep, path = group_release(guard, live.path)
        fields: list[tuple[str, Any, Any]] = [(f"inlinePolicies.{GROUP_GUARD_POLICY}", guard, None)]
        fields += [(f"inlinePolicies.{name}", None, document) for name, document in sorted(keep.items())]
        if path is not None:
            fields.append(("path", live.path, path))
        return fields

    def build(self, name: str, spec: Mapping[str, Any], source: Source) -> Resource:
        policies, ends = attachments(spec["policies"], source)
        return Group(
            name,
            source,
            policies=policies,
            inline_policies=dict(spec["inlinePolicies"]),
            require_mfa=spec["requireMFA"],
            path=spec["path"],
            deletion_policy=spec["deletionPolicy"],
            policy_expiry=ends,
        )

    def grants(self, resource: Resource, ctx: Context) -> tuple[Grant, ...]:
        assert isinstance(resource, Group)
        return attachment_grants(resource, resource.policies, resource.policy_index, resource.policy_expiry, ctx)

    def without(self, resource: Resource, ended: Collection[Grant]) -> Resource | None:
        assert isinstance(resource, Group)
        fields = without_attachments(resource.policies, resource.policy_index, resource.policy_expiry, ended)
        return dataclasses.replace(resource, **fields)

    def check_references(self, resource: Resource, exists: Exists, report: Report) -> None:
        assert isinstance(resource, Group)
        check_policy_refs(resource, resource.policies, "policies", exists, report)

    def policy_references(self, resource: Resource) -> tuple[str, ...]:
        assert isinstance(resource, Group)
        return resource.policies

    def import_skip(self, live: Any) -> str | None:
        if live.path == GROUP_PENDING_PATH:
            return (
                f"the reconciler is creating or deleting it (path {GROUP_PENDING_PATH}): its next apply finishes that"
            )
        return None

    def import_aws_policies(self, live: Any) -> tuple[str, ...]:
        return tuple(live.attached)


#: The kind, as the registry lists it.
KIND = GroupKind()
