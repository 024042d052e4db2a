"""Reading groups: all from the shared GetAccountAuthorizationDetails answer (a group's members from its users'
group lists, which the same answer holds).

By name (a targeted read): ``GetGroup`` (with its members), ``ListAttachedGroupPolicies``, ``ListGroupPolicies``
and ``GetGroupPolicy`` per inline policy (the guard included)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from reconciler.aws.answers import document
from reconciler.aws.session import ReadSession
from reconciler.kinds.group import LiveGroup
from reconciler.kinds.iamnamed import call, listed, resolve
from reconciler.kinds.iamread import account_details

if TYPE_CHECKING:
    from mypy_boto3_iam.client import IAMClient


def read(session: ReadSession) -> dict[str, LiveGroup]:
    details = account_details(session)
    members: dict[str, list[str]] = {}
    for u in details["UserDetailList"]:
        for group_name in u.get("GroupList", []):
            members.setdefault(group_name, []).append(u["UserName"])
    return {
        g["GroupName"]: LiveGroup(
            name=g["GroupName"],
            arn=g["Arn"],
            path=g.get("Path", "/"),
            attached=tuple(sorted(a["PolicyArn"] for a in g.get("AttachedManagedPolicies", []))),
            inline={i["PolicyName"]: document(i["PolicyDocument"]) for i in g.get("GroupPolicyList", [])},
            members=tuple(sorted(members.get(g["GroupName"], ()))),
        )
        for g in details["GroupDetailList"]
    }


def read_named(session: ReadSession, names: frozenset[str]) -> dict[str, LiveGroup]:
    iam = session.factory.client("iam")
    first: dict[tuple[str, str], Callable[[], Any]] = {}
    for name in sorted(names):
        first[(name, "group")] = call("GetGroup", _group_pages, iam, name)
        first[(name, "attached")] = call("ListAttachedGroupPolicies", _attached, iam, name)
        first[(name, "inline")] = call("ListGroupPolicies", _inline_names, iam, name)
    found = resolve(session, first)
    existing = [n for n in sorted(names) if all(found[(n, w)] is not None for w in ("group", "attached", "inline"))]
    documents = resolve(
        session,
        {
            (name, policy): call("GetGroupPolicy", iam.get_group_policy, GroupName=name, PolicyName=policy)
            for name in existing
            for policy in found[(name, "inline")] or ()
        },
    )
    out: dict[str, LiveGroup] = {}
    for name in existing:
        pages = found[(name, "group")] or []
        group = pages[0]["Group"]
        inline = {}
        for policy in found[(name, "inline")] or ():
            answer = documents[(name, policy)]
            if answer is not None:
                inline[policy] = document(answer["PolicyDocument"])
        out[name] = LiveGroup(
            name=group["GroupName"],
            arn=group["Arn"],
            path=group.get("Path", "/"),
            attached=tuple(sorted(found[(name, "attached")] or ())),
            inline=inline,
            members=tuple(sorted(listed(pages, "Users", "UserName"))),
        )
    return out


def _group_pages(iam: IAMClient, name: str) -> list[Any]:
    return list(iam.get_paginator("get_group").paginate(GroupName=name))


def _attached(iam: IAMClient, name: str) -> tuple[str, ...]:
    pages = iam.get_paginator("list_attached_group_policies").paginate(GroupName=name)
    return listed(pages, "AttachedPolicies", "PolicyArn")


def _inline_names(iam: IAMClient, name: str) -> tuple[str, ...]:
    return listed(iam.get_paginator("list_group_policies").paginate(GroupName=name), "PolicyNames")
