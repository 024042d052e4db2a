"""What the IAM kinds read together: one ``GetAccountAuthorizationDetails`` pass (filtered to users, roles,
groups and local policies, following ``Marker``, 1,000 items a page), shared by the four IAM kinds."""

from __future__ import annotations

from typing import Any

from reconciler.aws.clients import ClientFactory
from reconciler.aws.failures import translate_errors
from reconciler.aws.session import ReadSession
from reconciler.kinds.iamshared import IAM_SOURCE

GAAD_FILTER: list[Any] = ["User", "Role", "Group", "LocalManagedPolicy"]


def account_details(session: ReadSession) -> dict[str, list[dict[str, Any]]]:
    """The GetAccountAuthorizationDetails answer: users, roles, groups, customer managed policies."""
    return session.shared(IAM_SOURCE, lambda: _read(session.factory))


def _read(factory: ClientFactory) -> dict[str, list[dict[str, Any]]]:
    details: dict[str, list[dict[str, Any]]] = {
        "Policies": [],
        "RoleDetailList": [],
        "GroupDetailList": [],
        "UserDetailList": [],
    }
    iam = factory.client("iam")
    with translate_errors("reading IAM (GetAccountAuthorizationDetails)"):
        for page in iam.get_paginator("get_account_authorization_details").paginate(
            Filter=GAAD_FILTER, PaginationConfig={"PageSize": 1000}
        ):
            for key, items in details.items():
                items.extend(page.get(key, []))  # type: ignore[arg-type]
    return details
