"""The StudioDomain kind: a SageMaker Studio domain. Its home volume (EFS) holds people's work: never deleted."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from reconciler.aws.live import LiveState
from reconciler.kinds.base import Kind
from reconciler.kinds.context import DELETION_POLICY_TAG, Blocker, Context, Exists, Report, Target
from reconciler.kinds.kmskey import alias_name_of
from reconciler.manifests.model import Resource, Source

#: The kind's name, and the kind whose profiles live in a domain (a domain cannot be deleted while it has any).
DOMAIN_KIND = "StudioDomain"
PROFILE_KIND = "StudioUserProfile"
#: The shared answer both Studio kinds read from (``listing.py``: domains, their profiles, the profiles' tags), and
#: what reading it sends (each Studio kind declares these in ``Kind.reads``).
SOURCE = "studio"
LISTING_READS = ("sagemaker:ListDomains", "sagemaker:ListUserProfiles", "sagemaker:ListTags")
#: The fields UpdateDomain changes in place (the others of the view but tags cannot change: replace_fields).
DOMAIN_UPDATABLE: tuple[str, ...] = ("appNetworkAccessType", "subnetIds", "securityGroupIds", "defaultExecutionRole")


@dataclass(frozen=True)
class StudioDomain(Resource):
    kind: ClassVar[str] = DOMAIN_KIND
    auth_mode: str = "IAM"
    app_network_access_type: str = "VpcOnly"
    vpc_id: str = ""
    subnet_ids: tuple[str, ...] = ()
    security_group_ids: tuple[str, ...] = ()
    default_execution_role: str = ""
    kms_key: str | None = None
    tags: Mapping[str, str] = field(default_factory=dict)
    deletion_policy: str = "Retain"  # its home volume holds people's work; Delete keeps that volume anyway


@dataclass(frozen=True)
class DomainProfile:
    """A user profile in the domain, as the domain's plan needs it: whether this plan would delete it."""

    name: str
    tags: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class LiveDomain:
    name: str
    domain_id: str
    arn: str
    tags: Mapping[str, str] = field(default_factory=dict)
    status: str | None = None
    detailed: bool = False
    auth_mode: str | None = None
    app_network_access_type: str | None = None
    vpc_id: str | None = None
    subnet_ids: tuple[str, ...] = ()
    security_group_ids: tuple[str, ...] = ()
    default_execution_role: str | None = None
    kms_key_id: str | None = None
    home_efs_file_system_id: str | None = None
    # Every user profile of the domain, by name (sorted).
    profiles: tuple[DomainProfile, ...] = ()
    # ``PROFILE/AppType/AppName`` (or ``space:SPACE/...``) of its apps InService, Pending or Deleting (sorted):
    # AWS refuses to change the network access type, or remove a subnet, while there are any.
    busy_apps: tuple[str, ...] = ()


def _role_name(arn: Any) -> str | None:
    return arn.rsplit("/", 1)[-1] if isinstance(arn, str) and arn else None


def _kms_name(arn: Any) -> str | None:
    """The KmsKey manifest a key reference names: ``arn:...:alias/NAME`` is the KmsKey NAME."""
    return arn.split(":alias/", 1)[1] if isinstance(arn, str) and ":alias/" in arn else None


class StudioDomainKind(Kind):
    name = DOMAIN_KIND
    schema = "studiodomain.schema.json"
    folder = "studio"
    after = ("Role", "KmsKey")
    sources = (SOURCE,)
    default_deletion_policy = "Retain"
    replace_fields = frozenset({"authMode", "vpcId", "kmsKey"})
    # Drift the audit reports: what decides where the apps can send data and what they may do.
    security_fields = frozenset(
        {"appNetworkAccessType", "subnetIds", "securityGroupIds", "defaultExecutionRole", "kmsKey"}
    )
    replace_hint = (
        "a new domain means new home volumes and profiles for everyone: change the field back in the manifest; "
        "or delete the domain by hand (after its profiles and apps) and the next apply creates it anew"
    )
    reads = (*LISTING_READS, "sagemaker:DescribeDomain", "sagemaker:ListApps")
    writes = (
        "sagemaker:CreateDomain",
        "sagemaker:UpdateDomain",
        "sagemaker:DeleteDomain",
        "sagemaker:AddTags",
        "sagemaker:DeleteTags",
        "iam:PassRole",  # the default execution role, to SageMaker only
    )

    def references(self, view: Mapping[str, Any], ctx: Target) -> set[str]:
        refs = set()
        if (role := _role_name(view.get("defaultExecutionRole"))) is not None:
            refs.add(f"Role/{role}")
        key = view.get("kmsKey")
        if isinstance(key, str) and (name := alias_name_of(key, ctx)) is not None:
            refs.add(f"KmsKey/{name}")
        return refs

    def desired_view(self, resource: Resource, ctx: Context) -> dict[str, Any]:
        assert isinstance(resource, StudioDomain)
        return {
            "authMode": resource.auth_mode,
            "appNetworkAccessType": resource.app_network_access_type,
            "vpcId": resource.vpc_id,
            "subnetIds": sorted(resource.subnet_ids),
            "securityGroupIds": sorted(resource.security_group_ids),
            "defaultExecutionRole": ctx.role_arn(resource.default_execution_role),
            "kmsKey": ctx.kms_key_arn(resource.kms_key) if resource.kms_key else None,
            "tags": {**ctx.owned_tags(resource.tags), **self.deletion_tags(resource)},
        }

    def live_view(self, live: Any, ctx: Context) -> dict[str, Any]:
        assert isinstance(live, LiveDomain)
        return {
            "authMode": live.auth_mode,
            "appNetworkAccessType": live.app_network_access_type,
            "vpcId": live.vpc_id,
            "subnetIds": sorted(live.subnet_ids),
            "securityGroupIds": sorted(live.security_group_ids),
            "defaultExecutionRole": live.default_execution_role,
            "kmsKey": live.kms_key_id,
            "tags": dict(live.tags),
        }

    def _profile_stays(self, profile: DomainProfile, ctx: Context) -> bool:
        """Whether a profile of the domain would still exist after a plan for ``ctx.desired``: only an owned
        profile that git no longer names and whose recorded deletion policy is Delete is deleted by it."""
        deleted = (
            ctx.desired.settings.prune
            and ctx.owns(profile.tags)
            and ctx.desired.get(PROFILE_KIND, profile.name) is None
            and profile.tags.get(DELETION_POLICY_TAG) == "Delete"
        )
        return not deleted

    def blocker(
        self,
        action: str,
        *,
        changed: Sequence[str],
        replaced: Sequence[str],
        live: Any,
        desired: Mapping[str, Any],
        ctx: Context,
    ) -> Blocker | None:
        if action in ("update", "adopt") and isinstance(live, LiveDomain) and live.busy_apps:
            network = [f for f in changed if f == "appNetworkAccessType"]
            removed = sorted(set(live.subnet_ids) - set(desired.get("subnetIds") or ()))
            if "subnetIds" in changed and removed:
                network.append(f"subnetIds (removing {', '.join(removed)})")
            if network:
                return Blocker(
                    "domain-apps-running",
                    f"SageMaker cannot change {' or '.join(network)} of domain {live.name} while it has apps "
                    f"running: {', '.join(live.busy_apps)}",
                    "stop (delete) those apps first, and plan again",
                )
        if action == "delete" and isinstance(live, LiveDomain):
            staying = [p.name for p in live.profiles if self._profile_stays(p, ctx)]
            if staying:
                return Blocker(
                    "domain-has-profiles",
                    f"domain {live.name} still holds user profile(s) this plan does not delete: {', '.join(staying)}",
                    "delete those profiles (and their apps) first: by hand, or with StudioUserProfile manifests "
                    "whose deletionPolicy is Delete, removed in an earlier apply; or keep the domain in git",
                )
        return super().blocker(action, changed=changed, replaced=replaced, live=live, desired=desired, ctx=ctx)

    def destroys(self, live: Any, state: LiveState) -> tuple[str, ...]:
        assert isinstance(live, LiveDomain)
        return ("its Studio URL and settings (its home volume, people's work, is retained)",)

    def plan_notes(self, action: str, changed: Sequence[str], live: Any, ctx: Context) -> tuple[str, ...]:
        if action == "create":
            return ("SageMaker creates a domain asynchronously: apply waits until it is InService",)
        if action in ("update", "adopt") and {"defaultExecutionRole", "securityGroupIds"} & set(changed):
            return ("the default role and security groups apply to apps started after the change",)
        return ()

    def build(self, name: str, spec: Mapping[str, Any], source: Source) -> Resource:
        return StudioDomain(
            name,
            source,
            auth_mode=spec["authMode"],
            app_network_access_type=spec["appNetworkAccessType"],
            vpc_id=spec["vpcId"],
            subnet_ids=tuple(spec["subnetIds"]),
            security_group_ids=tuple(spec.get("securityGroupIds", ())),
            default_execution_role=spec["defaultExecutionRole"],
            kms_key=spec.get("kmsKey"),
            tags=dict(spec.get("tags", {})),
            deletion_policy=spec["deletionPolicy"],
        )

    def check_references(self, resource: Resource, exists: Exists, report: Report) -> None:
        assert isinstance(resource, StudioDomain)
        role = resource.default_execution_role
        if not exists("Role", role):
            report(resource, ("spec", "defaultExecutionRole"), f"no Role manifest named '{role}'", ("Role", role))
        if resource.kms_key and not exists("KmsKey", resource.kms_key):
            key = resource.kms_key
            report(resource, ("spec", "kmsKey"), f"no KmsKey manifest named '{key}'", ("KmsKey", key))

    def import_needs(self, live: Any, name_of: Callable[[str], tuple[str, str] | None]) -> list[tuple[str, str]]:
        assert isinstance(live, LiveDomain)
        needs: list[tuple[str, str]] = []
        if live.default_execution_role:
            found = name_of(live.default_execution_role)
            needs.append(found if found is not None and found[0] == "Role" else ("", live.default_execution_role))
        if live.kms_key_id:
            found = name_of(live.kms_key_id)
            key = _kms_name(live.kms_key_id)
            if found is not None and found[0] == "KmsKey":
                needs.append(found)
            elif key is not None:
                needs.append(("KmsKey", key))
        return needs

    def import_skip(self, live: Any) -> str | None:
        assert isinstance(live, LiveDomain)
        if live.auth_mode not in (None, "IAM"):
            return f"its authMode is {live.auth_mode}: manifests say IAM only"
        if live.kms_key_id and _kms_name(live.kms_key_id) is None:
            return f"its KMS key {live.kms_key_id} is not named by an alias ARN: a manifest names a KmsKey by its alias"
        return None


#: The kind, as the registry lists it.
KIND = StudioDomainKind()
