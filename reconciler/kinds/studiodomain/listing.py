"""The Studio listing both Studio kinds read from (the shared answer ``"studio"``): every domain of the account,
the user profiles of each, and every profile's tags. Fetched once per read, by whichever kind asks first.

The StudioDomain kind needs the profiles too: a domain cannot be deleted while it holds any, and its plan must
say so first (which profiles would still be there after the plan, so their tags: owned, deletion policy).
Names are the manifests' keys, so they must be unique in the account: two domains, or two profiles in different
domains, with one name are a clear read error (:class:`AmbiguousNameError`), never a guess.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from reconciler.aws.answers import tags
from reconciler.aws.failures import translate_errors
from reconciler.errors import ReconcilerError
from reconciler.kinds.studiodomain import SOURCE

if TYPE_CHECKING:
    from reconciler.aws.session import ReadSession


class AmbiguousNameError(ReconcilerError):
    """Two Studio resources of one kind carry the same name: a manifest could not say which one it means."""


@dataclass(frozen=True)
class DomainEntry:
    domain_id: str
    name: str
    arn: str
    status: str


@dataclass(frozen=True)
class ProfileEntry:
    domain_id: str
    name: str
    arn: str
    status: str
    tags: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class StudioListing:
    """Domains by name and profiles by name (each unique in the account), and each domain's profiles."""

    domains: Mapping[str, DomainEntry]
    profiles: Mapping[str, ProfileEntry]

    def domain_name(self, domain_id: str) -> str | None:
        return next((d.name for d in self.domains.values() if d.domain_id == domain_id), None)

    def profiles_of(self, domain_id: str) -> tuple[ProfileEntry, ...]:
        return tuple(sorted((p for p in self.profiles.values() if p.domain_id == domain_id), key=lambda p: p.name))


def _unique(kind: str, found: Mapping[str, list[str]]) -> None:
    clashes = {name: where for name, where in found.items() if len(where) > 1}
    if clashes:
        name, where = sorted(clashes.items())[0]
        raise AmbiguousNameError(
            f"the account holds {len(where)} {kind} named {name!r} ({', '.join(sorted(where))}): a manifest names "
            f"a {kind} by its name alone, so the reconciler refuses to guess; rename or delete all but one by hand"
        )


def read_listing(session: ReadSession) -> StudioListing:
    """The listing, computed once per read (``session.shared``)."""
    return session.shared(SOURCE, lambda: _read(session))


def _read(session: ReadSession) -> StudioListing:
    sm = session.factory.client("sagemaker")
    with translate_errors("reading SageMaker (ListDomains)"):
        listed = [
            DomainEntry(d["DomainId"], d["DomainName"], d["DomainArn"], str(d.get("Status", "")))
            for page in sm.get_paginator("list_domains").paginate()
            for d in page.get("Domains", [])
        ]
    domain_ids: dict[str, list[str]] = defaultdict(list)
    for d in listed:
        domain_ids[d.name].append(d.domain_id)
    _unique("Studio domains", domain_ids)
    per_domain = session.fan_out(lambda d: _profiles(session, d.domain_id), listed)
    found = [p for future in per_domain for p in future.result()]
    in_domains: dict[str, list[str]] = defaultdict(list)
    for domain_id, name, _arn, _status in found:
        in_domains[name].append(f"in domain {domain_id}")
    _unique("Studio user profiles", in_domains)
    tag_futures = session.fan_out(lambda p: _tags(session, p[2]), found)
    profiles = {
        name: ProfileEntry(domain_id, name, arn, status, future.result())
        for (domain_id, name, arn, status), future in zip(found, tag_futures, strict=True)
    }
    return StudioListing({d.name: d for d in listed}, profiles)


def _profiles(session: ReadSession, domain_id: str) -> list[tuple[str, str, str, str]]:
    """(domain id, name, ARN, status) of the domain's profiles (the summary has no ARN: it is derived)."""
    scope = session.scope
    with translate_errors("reading SageMaker (ListUserProfiles)"):
        pages = (
            session.factory.client("sagemaker").get_paginator("list_user_profiles").paginate(DomainIdEquals=domain_id)
        )
        return [
            (
                domain_id,
                p["UserProfileName"],
                f"arn:aws:sagemaker:{scope.region}:{scope.account_id}:user-profile/{domain_id}/{p['UserProfileName']}",
                str(p.get("Status", "")),
            )
            for page in pages
            for p in page.get("UserProfiles", [])
        ]


def domain_tags(session: ReadSession, arn: str) -> dict[str, str]:
    return _tags(session, arn)


def _tags(session: ReadSession, arn: str) -> dict[str, str]:
    with translate_errors("reading SageMaker (ListTags)"):
        pages = session.factory.client("sagemaker").get_paginator("list_tags").paginate(ResourceArn=arn)
        return {k: v for page in pages for k, v in tags(page.get("Tags")).items()}
