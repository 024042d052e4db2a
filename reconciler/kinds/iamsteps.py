"""What the AWS steps of the IAM kinds share: tags, attached and inline policies, the ownership marks."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal, assert_never

from reconciler.kinds.context import DELETION_POLICY_TAG
from reconciler.kinds.steps import StepContext, StepError, StepInput, doc, ignore, tag_list

if TYPE_CHECKING:
    from mypy_boto3_iam.client import IAMClient
    from mypy_boto3_iam.type_defs import TagTypeDef

GONE = ("NoSuchEntity",)

#: The IAM kinds that take tags (a policy by its ARN, the others by name).
Tagged = Literal["role", "user", "policy"]
#: The IAM principals with attached and inline policies.
Principal = Literal["role", "group", "user"]
#: The principals the reconciler gives policies to: users get permissions from groups only (their desired views
#: hold none), so no step attaches or puts a policy on a user, and the IAM policy does not allow it.
Holder = Literal["role", "group"]


def sync_tags(step: StepContext, kind: Tagged, name: str, *, live: dict[str, str], want: dict[str, str]) -> None:
    """Tag ``name`` (a role or user name, a policy ARN) with the new and changed tags; untag the removed ones."""
    iam = step.aws.client("iam")
    added = {k: v for k, v in want.items() if live.get(k) != v}
    removed = sorted(k for k in live if k not in want)
    if added:
        _tag(iam, kind, name, tag_list(added))
    if removed:
        _untag(iam, kind, name, removed)


def _tag(iam: IAMClient, kind: Tagged, name: str, tags: list[TagTypeDef]) -> None:
    match kind:
        case "role":
            iam.tag_role(RoleName=name, Tags=tags)
        case "user":
            iam.tag_user(UserName=name, Tags=tags)
        case "policy":
            iam.tag_policy(PolicyArn=name, Tags=tags)
        case _:
            assert_never(kind)


def _untag(iam: IAMClient, kind: Tagged, name: str, keys: list[str]) -> None:
    match kind:
        case "role":
            iam.untag_role(RoleName=name, TagKeys=keys)
        case "user":
            iam.untag_user(UserName=name, TagKeys=keys)
        case "policy":
            iam.untag_policy(PolicyArn=name, TagKeys=keys)
        case _:
            assert_never(kind)


def sync_attached(step: StepContext, principal: Principal, name: str, live: list[str], want: list[str]) -> None:
    iam = step.aws.client("iam")
    for arn in sorted(set(want) - set(live)):
        _attach(iam, _holder(principal, name), name, arn)
    for arn in sorted(set(live) - set(want)):
        _detach(iam, principal, name, arn)


def _holder(principal: Principal, name: str) -> Holder:
    if principal == "user":  # never planned: a user's desired view holds no policy
        raise StepError(f"user {name}: users get permissions from groups only, never policies of their own")
    return principal


def _attach(iam: IAMClient, principal: Holder, name: str, arn: str) -> None:
    match principal:
        case "role":
            iam.attach_role_policy(RoleName=name, PolicyArn=arn)
        case "group":
            iam.attach_group_policy(GroupName=name, PolicyArn=arn)
        case _:
            assert_never(principal)


def _detach(iam: IAMClient, principal: Principal, name: str, arn: str) -> None:
    """Detach; already detached (or gone) is done."""
    match principal:
        case "role":
            ignore(GONE, iam.detach_role_policy, RoleName=name, PolicyArn=arn)
        case "group":
            ignore(GONE, iam.detach_group_policy, GroupName=name, PolicyArn=arn)
        case "user":
            ignore(GONE, iam.detach_user_policy, UserName=name, PolicyArn=arn)
        case _:
            assert_never(principal)


def sync_inline(
    step: StepContext,
    principal: Principal,
    name: str,
    live: dict[str, Any],
    want: dict[str, Any],
    *,
    fields: StepInput | None = None,
    first: str | None = None,
) -> None:
    """Put changed inline policies (``first`` before the others), delete removed ones."""
    iam = step.aws.client("iam")
    order = sorted(want, key=lambda n: (n != first, n))
    for policy_name in order:
        if fields is None or fields.changed("inlinePolicies", policy_name) or policy_name not in live:
            _put_inline(iam, _holder(principal, name), name, policy_name, doc(want[policy_name]))
    for policy_name in sorted(set(live) - set(want)):
        _delete_inline(iam, principal, name, policy_name)


def _put_inline(iam: IAMClient, principal: Holder, name: str, policy_name: str, document: str) -> None:
    match principal:
        case "role":
            iam.put_role_policy(RoleName=name, PolicyName=policy_name, PolicyDocument=document)
        case "group":
            iam.put_group_policy(GroupName=name, PolicyName=policy_name, PolicyDocument=document)
        case _:
            assert_never(principal)


def _delete_inline(iam: IAMClient, principal: Principal, name: str, policy_name: str) -> None:
    """Delete; already deleted (or gone) is done."""
    match principal:
        case "role":
            ignore(GONE, iam.delete_role_policy, RoleName=name, PolicyName=policy_name)
        case "group":
            ignore(GONE, iam.delete_group_policy, GroupName=name, PolicyName=policy_name)
        case "user":
            ignore(GONE, iam.delete_user_policy, UserName=name, PolicyName=policy_name)
        case _:
            assert_never(principal)


def ownership_marks(step: StepContext, change: StepInput) -> list[str]:
    return sorted(k for k in change.live.get("tags", {}) if k in (step.ctx.ownership_key, DELETION_POLICY_TAG))
