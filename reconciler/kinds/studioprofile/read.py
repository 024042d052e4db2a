"""Reading Studio user profiles: the shared Studio listing (every profile, with its tags), then
``DescribeUserProfile`` for those named in git or owned, and ``ListApps`` for those a plan may delete (its
deletion deletes them first, and the plan says so); all fanned out."""

from __future__ import annotations

from concurrent.futures import Future
from typing import Any

from botocore.exceptions import ClientError

from reconciler.aws.answers import error_code
from reconciler.aws.failures import translate_errors
from reconciler.aws.session import ReadSession
from reconciler.kinds.studiodomain import PROFILE_KIND
from reconciler.kinds.studiodomain.listing import read_listing
from reconciler.kinds.studioprofile import LiveProfile


def read(session: ReadSession) -> dict[str, LiveProfile]:
    listing = read_listing(session)
    profiles: dict[str, LiveProfile] = {}
    details: dict[str, Future[dict[str, Any] | None]] = {}
    apps: dict[str, Future[tuple[str, ...]]] = {}
    for name, entry in sorted(listing.profiles.items()):
        profiles[name] = LiveProfile(
            name=name,
            domain_id=entry.domain_id,
            domain=listing.domain_name(entry.domain_id),
            arn=entry.arn,
            tags=entry.tags,
            status=entry.status,
        )
        if session.scope.detailed(PROFILE_KIND, name, entry.tags):
            details[name] = session.submit(_describe, session, entry.domain_id, name)
        if session.scope.may_delete(PROFILE_KIND, name, entry.tags):
            apps[name] = session.submit(_apps, session, entry.domain_id, name)
    for name, detail in details.items():
        d = detail.result()
        if d is None:  # deleted since it was listed
            del profiles[name]
            continue
        live = profiles[name]
        profiles[name] = LiveProfile(
            name=name,
            domain_id=live.domain_id,
            domain=live.domain,
            arn=str(d.get("UserProfileArn") or live.arn),
            tags=live.tags,
            status=d.get("Status"),
            detailed=True,
            execution_role=(d.get("UserSettings") or {}).get("ExecutionRole"),
            apps=apps[name].result() if name in apps else (),
        )
    return profiles


def _describe(session: ReadSession, domain_id: str, name: str) -> dict[str, Any] | None:
    try:
        with translate_errors("reading SageMaker (DescribeUserProfile)"):
            answer = session.factory.client("sagemaker").describe_user_profile(DomainId=domain_id, UserProfileName=name)
            return dict(answer)
    except ClientError as exc:
        if error_code(exc) in ("ValidationException", "ResourceNotFound"):
            return None
        raise


def _apps(session: ReadSession, domain_id: str, name: str) -> tuple[str, ...]:
    """``AppType/AppName`` of the profile's apps that are not (being) deleted."""
    with translate_errors("reading SageMaker (ListApps)"):
        pages = (
            session.factory.client("sagemaker")
            .get_paginator("list_apps")
            .paginate(DomainIdEquals=domain_id, UserProfileNameEquals=name)
        )
        return tuple(
            sorted(
                f"{a['AppType']}/{a['AppName']}"
                for page in pages
                for a in page.get("Apps", [])
                if a.get("Status") not in ("Deleted", "Deleting")
            )
        )
