"""Reading groups: all from the shared GetAccountAuthorizationDetails answer (a group's members from its users'
group lists, which the same answer holds)."""

from __future__ import annotations

from reconciler.aws.answers import document
from reconciler.aws.session import ReadSession
from reconciler.kinds.group import LiveGroup
from reconciler.kinds.iamread import account_details


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
