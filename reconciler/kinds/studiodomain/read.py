"""Reading Studio domains: the shared Studio listing (domains, their profiles, the profiles' tags), the tags of
every domain (ownership is a tag), then ``DescribeDomain`` for those named in git or owned; all fanned out."""

from __future__ import annotations

from concurrent.futures import Future
from typing import Any

from botocore.exceptions import ClientError

from reconciler.aws.answers import error_code
from reconciler.aws.failures import translate_errors
from reconciler.aws.session import ReadSession
from reconciler.kinds.studiodomain import DOMAIN_KIND, DomainProfile, LiveDomain
from reconciler.kinds.studiodomain.listing import domain_tags, read_listing


def read(session: ReadSession) -> dict[str, LiveDomain]:
    listing = read_listing(session)
    entries = sorted(listing.domains.values(), key=lambda d: d.name)
    tag_futures = session.fan_out(lambda d: domain_tags(session, d.arn), entries)
    domains: dict[str, LiveDomain] = {}
    details: dict[str, Future[dict[str, Any] | None]] = {}
    apps: dict[str, Future[tuple[str, ...]]] = {}
    for entry, future in zip(entries, tag_futures, strict=True):
        profiles = tuple(DomainProfile(p.name, p.tags) for p in listing.profiles_of(entry.domain_id))
        domains[entry.name] = LiveDomain(
            name=entry.name,
            domain_id=entry.domain_id,
            arn=entry.arn,
            tags=future.result(),
            status=entry.status,
            profiles=profiles,
        )
        if session.scope.detailed(DOMAIN_KIND, entry.name, domains[entry.name].tags):
            details[entry.name] = session.submit(_describe, session, entry.domain_id)
            apps[entry.name] = session.submit(_busy_apps, session, entry.domain_id)
    for name, detail in details.items():
        d = detail.result()
        if d is None:  # deleted since it was listed
            del domains[name]
            continue
        user = d.get("DefaultUserSettings") or {}
        domains[name] = LiveDomain(
            name=name,
            domain_id=domains[name].domain_id,
            arn=domains[name].arn,
            tags=domains[name].tags,
            status=d.get("Status"),
            detailed=True,
            auth_mode=d.get("AuthMode"),
            app_network_access_type=d.get("AppNetworkAccessType", "PublicInternetOnly"),
            vpc_id=d.get("VpcId"),
            subnet_ids=tuple(sorted(d.get("SubnetIds") or ())),
            security_group_ids=tuple(sorted(user.get("SecurityGroups") or ())),
            default_execution_role=user.get("ExecutionRole"),
            kms_key_id=d.get("KmsKeyId"),
            home_efs_file_system_id=d.get("HomeEfsFileSystemId"),
            profiles=domains[name].profiles,
            busy_apps=apps[name].result(),
        )
    return domains


def _busy_apps(session: ReadSession, domain_id: str) -> tuple[str, ...]:
    """The domain's apps that keep SageMaker from changing its network settings (InService, Pending, Deleting)."""
    with translate_errors("reading SageMaker (ListApps)"):
        pages = session.factory.client("sagemaker").get_paginator("list_apps").paginate(DomainIdEquals=domain_id)
        return tuple(
            sorted(
                f"{a.get('UserProfileName') or 'space:' + str(a.get('SpaceName', ''))}/{a['AppType']}/{a['AppName']}"
                for page in pages
                for a in page.get("Apps", [])
                if a.get("Status") in ("InService", "Pending", "Deleting")
            )
        )


def _describe(session: ReadSession, domain_id: str) -> dict[str, Any] | None:
    try:
        with translate_errors("reading SageMaker (DescribeDomain)"):
            return dict(session.factory.client("sagemaker").describe_domain(DomainId=domain_id))
    except ClientError as exc:
        if error_code(exc) in ("ValidationException", "ResourceNotFound"):
            return None
        raise
