"""The StudioUserProfile kind: a user profile in a SageMaker Studio domain, for one IAM user or group.

Profile names are unique in the account (AWS makes them unique per domain only): a manifest names a profile by
its name alone, so two profiles of one name in different domains are a read error (``AmbiguousNameError``).
Who a profile is for is recorded on it as the tag ``reconciler/for`` (``User/NAME``, ``Group/NAME``), so that
``reconciler import`` can write it back.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from reconciler.aws.live import LiveState
from reconciler.kinds.base import Kind
from reconciler.kinds.context import Context, Exists, Report, Target
from reconciler.kinds.studiodomain import DOMAIN_KIND, LISTING_READS, PROFILE_KIND, SOURCE
from reconciler.manifests.model import Resource, Source

#: The tag recording who a profile is for: ``User/NAME`` or ``Group/NAME``.
FOR_TAG = "reconciler/for"
FOR_KINDS = ("User", "Group")


@dataclass(frozen=True)
class StudioUserProfile(Resource):
    kind: ClassVar[str] = PROFILE_KIND
    domain: str = ""
    execution_role: str = ""
    for_kind: str = "User"  # "User" or "Group"
    for_name: str = ""
    tags: Mapping[str, str] = field(default_factory=dict)
    deletion_policy: str = "Retain"  # its private space volume holds people's work

    @property
    def for_ref(self) -> str:
        return f"{self.for_kind}/{self.for_name}"


@dataclass(frozen=True)
class LiveProfile:
    name: str
    domain_id: str
    domain: str | None
    arn: str
    tags: Mapping[str, str] = field(default_factory=dict)
    status: str | None = None
    detailed: bool = False
    execution_role: str | None = None
    # ``AppType/AppName`` of its apps that are not deleted (read where a plan may delete the profile).
    apps: tuple[str, ...] = ()


def _role_name(arn: Any) -> str | None:
    return arn.rsplit("/", 1)[-1] if isinstance(arn, str) and arn else None


class StudioProfileKind(Kind):
    name = PROFILE_KIND
    schema = "studiouserprofile.schema.json"
    folder = "studio"
    after = ("Role", "User", "Group", DOMAIN_KIND)
    sources = (SOURCE,)
    # A profile's private space volume holds people's work: removing the manifest releases it.
    default_deletion_policy = "Retain"
    replace_fields = frozenset({"domain"})
    # Drift the audit reports: the role the profile's apps run as.
    security_fields = frozenset({"executionRole"})
    replace_hint = (
        "a profile cannot move to another domain: change the field back in the manifest; or give the profile "
        "a new name (the old one is then released or deleted as its deletionPolicy says)"
    )
    reads = (*LISTING_READS, "sagemaker:DescribeUserProfile", "sagemaker:ListApps")
    writes = (
        "sagemaker:CreateUserProfile",
        "sagemaker:UpdateUserProfile",
        "sagemaker:DeleteUserProfile",
        "sagemaker:DeleteApp",
        "sagemaker:AddTags",
        "sagemaker:DeleteTags",
        "iam:PassRole",  # the profile's execution role, to SageMaker only
    )

    def release_fields(self, live: Any, ctx: Context) -> list[tuple[str, Any, Any]]:
        """Released, a profile is for nobody any more: its ``reconciler/for`` tag goes with the ownership mark,
        so that a policy granting people their own profile by that tag no longer opens it (a user of the same
        name made later included)."""
        fields = super().release_fields(live, ctx)
        person = getattr(live, "tags", {}).get(FOR_TAG)
        return [*fields, ("for", person, None)] if person else fields

    def references(self, view: Mapping[str, Any], ctx: Target) -> set[str]:
        refs = set()
        if isinstance(domain := view.get("domain"), str) and domain:
            refs.add(f"{DOMAIN_KIND}/{domain}")
        if (role := _role_name(view.get("executionRole"))) is not None:
            refs.add(f"Role/{role}")
        if isinstance(target := view.get("for"), str) and target.split("/", 1)[0] in FOR_KINDS:
            refs.add(target)
        return refs

    def desired_view(self, resource: Resource, ctx: Context) -> dict[str, Any]:
        assert isinstance(resource, StudioUserProfile)
        return {
            "domain": resource.domain,
            "executionRole": ctx.role_arn(resource.execution_role),
            "for": resource.for_ref,
            "tags": {**ctx.owned_tags(resource.tags), **self.deletion_tags(resource)},
        }

    def live_view(self, live: Any, ctx: Context) -> dict[str, Any]:
        assert isinstance(live, LiveProfile)
        return {
            "domain": live.domain,
            "executionRole": live.execution_role,
            "for": live.tags.get(FOR_TAG),
            "tags": {k: v for k, v in live.tags.items() if k != FOR_TAG},
        }

    def plan_notes(self, action: str, changed: Sequence[str], live: Any, ctx: Context) -> tuple[str, ...]:
        if action in ("update", "adopt") and "executionRole" in changed:
            return ("the new role applies to apps started after the change: running apps keep the old one",)
        return ()

    def destroys(self, live: Any, state: LiveState) -> tuple[str, ...]:
        assert isinstance(live, LiveProfile)
        if live.apps:
            return (f"its apps, deleted first: {', '.join(live.apps)}",)
        return ()

    def build(self, name: str, spec: Mapping[str, Any], source: Source) -> Resource:
        target = spec["for"]  # exactly one of user, group (the schema)
        for_kind, for_name = ("User", target["user"]) if "user" in target else ("Group", target["group"])
        return StudioUserProfile(
            name,
            source,
            domain=spec["domain"],
            execution_role=spec["executionRole"],
            for_kind=for_kind,
            for_name=for_name,
            tags=dict(spec.get("tags", {})),
            deletion_policy=spec["deletionPolicy"],
        )

    def check_references(self, resource: Resource, exists: Exists, report: Report) -> None:
        assert isinstance(resource, StudioUserProfile)
        if not exists(DOMAIN_KIND, resource.domain):
            report(
                resource,
                ("spec", "domain"),
                f"no {DOMAIN_KIND} manifest named '{resource.domain}'",
                (DOMAIN_KIND, resource.domain),
            )
        role = resource.execution_role
        if not exists("Role", role):
            report(resource, ("spec", "executionRole"), f"no Role manifest named '{role}'", ("Role", role))
        if not exists(resource.for_kind, resource.for_name):
            report(
                resource,
                ("spec", "for", resource.for_kind.lower()),
                f"no {resource.for_kind} manifest named '{resource.for_name}'",
                (resource.for_kind, resource.for_name),
            )

    def import_skip(self, live: Any) -> str | None:
        assert isinstance(live, LiveProfile)
        target = live.tags.get(FOR_TAG, "")
        if target.split("/", 1)[0] not in FOR_KINDS or "/" not in target:
            return (
                f"who it is for is not recorded (tag {FOR_TAG}: User/NAME or Group/NAME): tag it, or write its "
                "manifest by hand and adopt it"
            )
        if live.detailed and not live.execution_role:
            return "it has no execution role of its own (it runs as its domain's default): a manifest names one"
        return None

    def import_needs(self, live: Any, name_of: Callable[[str], tuple[str, str] | None]) -> list[tuple[str, str]]:
        assert isinstance(live, LiveProfile)
        needs: list[tuple[str, str]] = []
        if live.domain:
            needs.append((DOMAIN_KIND, live.domain))
        if live.execution_role:
            found = name_of(live.execution_role)
            needs.append(found if found is not None and found[0] == "Role" else ("", live.execution_role))
        target = live.tags.get(FOR_TAG, "")
        if "/" in target:
            kind, name = target.split("/", 1)
            needs.append((kind, name))
        return needs


#: The kind, as the registry lists it.
KIND = StudioProfileKind()
