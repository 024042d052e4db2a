"""Reading roles: from the shared GetAccountAuthorizationDetails answer (trust, policies, instance profiles),
plus what it lacks from ``ListRoles`` in bulk (descriptions and session durations, a page per 1,000 roles)."""

from __future__ import annotations

from dataclasses import replace

from reconciler.aws.answers import document, tags
from reconciler.aws.clients import translate_errors
from reconciler.aws.session import ReadSession
from reconciler.kinds.iamread import account_details
from reconciler.kinds.role import LiveRole


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
