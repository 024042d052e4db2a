"""Reading roles: from the shared GetAccountAuthorizationDetails answer (trust, policies, instance profiles),
plus what it lacks from ``ListRoles`` in bulk (descriptions and session durations, a page per 1,000 roles).

By name (a targeted read): ``GetRole``, ``ListAttachedRolePolicies``, ``ListRolePolicies`` and ``GetRolePolicy``
per inline policy; ``ListInstanceProfilesForRole`` only for a role the plan may delete (else
``instance_profiles`` is None: not read)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from reconciler.aws.answers import document, tags
from reconciler.aws.failures import translate_errors
from reconciler.aws.session import ReadSession
from reconciler.kinds.iamnamed import call, listed, resolve
from reconciler.kinds.iamread import account_details
from reconciler.kinds.role import LiveRole

if TYPE_CHECKING:
    from mypy_boto3_iam.client import IAMClient


def read(session: ReadSession) -> dict[str, LiveRole]:
    extras = session.submit(_extras, session)
    roles = {
        r["RoleName"]: LiveRole(
            name=r["RoleName"],
            arn=r["Arn"],
            path=r.get("Path", "/"),
            trust=document(r.get("AssumeRolePolicyDocument", {})),
            attached=tuple(sorted(a["PolicyArn"] for a in r.get("AttachedManagedPolicies", []))),
            inline={i["PolicyName"]: document(i["PolicyDocument"]) for i in r.get("RolePolicyList", [])},
            boundary=(r.get("PermissionsBoundary") or {}).get("PermissionsBoundaryArn"),
            tags=tags(r.get("Tags")),
            instance_profiles=tuple(sorted(ip["InstanceProfileName"] for ip in r.get("InstanceProfileList", []))),
        )
        for r in account_details(session)["RoleDetailList"]
    }
    found = extras.result()
    for name, role in roles.items():
        description, max_session = found.get(name, (None, 3600))
        roles[name] = replace(role, description=description or None, max_session_duration=max_session)
    return roles


def _extras(session: ReadSession) -> dict[str, tuple[str | None, int]]:
    """Description and MaxSessionDuration, which GetAccountAuthorizationDetails does not return."""
    out: dict[str, tuple[str | None, int]] = {}
    with translate_errors("reading IAM (ListRoles)"):
        pages = session.factory.client("iam").get_paginator("list_roles").paginate(PaginationConfig={"PageSize": 1000})
        for page in pages:
            for r in page.get("Roles", []):
                out[r["RoleName"]] = (r.get("Description"), int(r.get("MaxSessionDuration", 3600)))
    return out


def read_named(session: ReadSession, names: frozenset[str]) -> dict[str, LiveRole]:
    iam = session.factory.client("iam")
    first: dict[tuple[str, str], Callable[[], Any]] = {}
    for name in sorted(names):
        first[(name, "role")] = call("GetRole", iam.get_role, RoleName=name)
        first[(name, "attached")] = call("ListAttachedRolePolicies", _attached, iam, name)
        first[(name, "inline")] = call("ListRolePolicies", _inline_names, iam, name)
    found = resolve(session, first)
    roles: dict[str, dict[str, Any]] = {}
    for name in sorted(names):
        answer = found[(name, "role")]
        if answer is not None and found[(name, "attached")] is not None and found[(name, "inline")] is not None:
            roles[name] = answer["Role"]
    second: dict[tuple[str, str], Callable[[], Any]] = {}
    for name, role in roles.items():
        for policy in found[(name, "inline")] or ():
            second[(name, f"inline:{policy}")] = call(
                "GetRolePolicy", iam.get_role_policy, RoleName=name, PolicyName=policy
            )
        if session.scope.may_delete("Role", name, tags(role.get("Tags"))):
            second[(name, "profiles")] = call("ListInstanceProfilesForRole", _instance_profiles, iam, name)
    details = resolve(session, second)
    out: dict[str, LiveRole] = {}
    for name, r in roles.items():
        inline = {}
        for policy in found[(name, "inline")] or ():
            answer = details[(name, f"inline:{policy}")]
            if answer is not None:
                inline[policy] = document(answer["PolicyDocument"])
        profiles = details.get((name, "profiles"))
        out[name] = LiveRole(
            name=r["RoleName"],
            arn=r["Arn"],
            path=r.get("Path", "/"),
            trust=document(r.get("AssumeRolePolicyDocument", {})),
            attached=tuple(sorted(found[(name, "attached")] or ())),
            inline=inline,
            boundary=(r.get("PermissionsBoundary") or {}).get("PermissionsBoundaryArn"),
            tags=tags(r.get("Tags")),
            instance_profiles=tuple(sorted(profiles)) if profiles is not None else None,
            description=r.get("Description") or None,
            max_session_duration=int(r.get("MaxSessionDuration", 3600)),
        )
    return out


def _attached(iam: IAMClient, name: str) -> tuple[str, ...]:
    return listed(
        iam.get_paginator("list_attached_role_policies").paginate(RoleName=name), "AttachedPolicies", "PolicyArn"
    )


def _inline_names(iam: IAMClient, name: str) -> tuple[str, ...]:
    return listed(iam.get_paginator("list_role_policies").paginate(RoleName=name), "PolicyNames")


def _instance_profiles(iam: IAMClient, name: str) -> tuple[str, ...]:
    pages = iam.get_paginator("list_instance_profiles_for_role").paginate(RoleName=name)
    return listed(pages, "InstanceProfiles", "InstanceProfileName")
