"""The NotebookInstance kind: a SageMaker notebook instance; its volume holds people's work."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from reconciler.aws.live import LiveState
from reconciler.kinds.base import Kind
from reconciler.kinds.context import Blocker, Context, Exists, Report, Target
from reconciler.kinds.kmskey import alias_name_of
from reconciler.manifests.model import DesiredState, Resource, Source


@dataclass(frozen=True)
class NotebookInstance(Resource):
    kind: ClassVar[str] = "NotebookInstance"
    instance_type: str = ""
    role: str = ""
    root_access: str = "Disabled"
    direct_internet_access: str = "Disabled"
    subnet_id: str | None = None
    security_group_ids: tuple[str, ...] = ()
    kms_key_id: str | None = None  # free form: a key id, alias or ARN
    kms_key: str | None = None  # the name of a KmsKey manifest
    volume_size_in_gb: int = 5
    lifecycle_config_name: str | None = None
    tags: Mapping[str, str] = field(default_factory=dict)
    deletion_policy: str = "Retain"  # its volume holds people's work


def notebooks(desired: DesiredState) -> Mapping[str, NotebookInstance]:
    """The NotebookInstance manifests of ``desired``, typed."""
    return {name: r for name, r in desired.of("NotebookInstance").items() if isinstance(r, NotebookInstance)}


# Fields SageMaker's UpdateNotebookInstance takes (the instance must be stopped).
NOTEBOOK_UPDATABLE: tuple[str, ...] = ("instanceType", "role", "rootAccess", "volumeSizeInGB", "lifecycleConfigName")


@dataclass(frozen=True)
class LiveNotebook:
    name: str
    arn: str
    tags: Mapping[str, str] = field(default_factory=dict)
    detailed: bool = False
    status: str | None = None
    instance_type: str | None = None
    role_arn: str | None = None
    root_access: str | None = None
    direct_internet_access: str | None = None
    subnet_id: str | None = None
    security_group_ids: tuple[str, ...] = ()
    kms_key_id: str | None = None
    volume_size_in_gb: int | None = None
    lifecycle_config_name: str | None = None


class NotebookKind(Kind):
    name = "NotebookInstance"
    schema = "notebookinstance.schema.json"
    folder = "notebooks"
    after = ("Role", "KmsKey")
    # The instance's storage volume holds people's work: removing the manifest releases it.
    default_deletion_policy = "Retain"

    def references(self, view: Mapping[str, Any], ctx: Target) -> set[str]:
        role, key = view.get("role"), view.get("kmsKeyId")
        refs = {f"Role/{role.rsplit('/', 1)[-1]}"} if isinstance(role, str) else set()
        name = alias_name_of(key, ctx) if isinstance(key, str) else None
        return refs | {f"KmsKey/{name}"} if name else refs

    replace_fields = frozenset({"directInternetAccess", "subnetId", "securityGroupIds", "kmsKeyId"})
    replace_hint = (
        "change the field back in the manifest (replacing a notebook deletes its storage volume and the work "
        "on it: save that work first; with the default deletionPolicy Retain, --replace also needs "
        "--allow-destroy-retained)"
    )

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
        if action in ("update", "adopt") and "volumeSizeInGB" in changed and isinstance(live, LiveNotebook):
            have, want = live.volume_size_in_gb or 0, desired.get("volumeSizeInGB") or 0
            if want < have:
                return Blocker(
                    "volume-shrink",
                    f"the volume of notebook {live.name} cannot shrink from {have} GB to {want} GB",
                    f"keep volumeSizeInGB at {have} or more in the manifest",
                )
        return super().blocker(action, changed=changed, replaced=replaced, live=live, desired=desired, ctx=ctx)

    def plan_notes(self, action: str, changed: Sequence[str], live: Any, ctx: Context) -> tuple[str, ...]:
        updates = [f for f in NOTEBOOK_UPDATABLE if f in changed]
        if action not in ("update", "adopt") or not updates or not isinstance(live, LiveNotebook):
            return ()
        if live.status in ("Stopped", "Failed", None):
            return ()
        what = ", ".join(updates)
        if ctx.desired.settings.notebook_updates == "restart":
            return (
                f"the notebook is {live.status}: apply stops it, updates {what}, and starts it again "
                "(Settings.notebookUpdates: restart)",
            )
        return (
            f"pending: the notebook is {live.status}; {what} will be updated by the first apply after it "
            "is stopped (Settings.notebookUpdates: restart stops it instead)",
        )

    def destroys(self, live: Any, state: LiveState) -> tuple[str, ...]:
        assert isinstance(live, LiveNotebook)
        size = f" ({live.volume_size_in_gb} GB)" if live.volume_size_in_gb else ""
        return (f"its storage volume{size} and all the work saved on it",)

    reads = ("sagemaker:ListNotebookInstances", "sagemaker:ListTags", "sagemaker:DescribeNotebookInstance")
    writes = (
        "sagemaker:CreateNotebookInstance",
        "sagemaker:UpdateNotebookInstance",
        "sagemaker:StartNotebookInstance",
        "sagemaker:StopNotebookInstance",
        "sagemaker:DeleteNotebookInstance",
        "sagemaker:AddTags",
        "sagemaker:DeleteTags",
        "iam:PassRole",  # the notebook's role, to SageMaker only
    )
    security_fields = frozenset(
        {"rootAccess", "directInternetAccess", "role", "subnetId", "securityGroupIds", "kmsKeyId"}
    )

    def desired_view(self, resource: Resource, ctx: Context) -> dict[str, Any]:
        assert isinstance(resource, NotebookInstance)
        return {
            "instanceType": resource.instance_type,
            "role": ctx.role_arn(resource.role),
            "rootAccess": resource.root_access,
            "directInternetAccess": resource.direct_internet_access,
            "subnetId": resource.subnet_id,
            "securityGroupIds": sorted(resource.security_group_ids),
            "kmsKeyId": ctx.kms_key_arn(resource.kms_key) if resource.kms_key else resource.kms_key_id,
            "volumeSizeInGB": resource.volume_size_in_gb,
            "lifecycleConfigName": resource.lifecycle_config_name,
            "tags": {**ctx.owned_tags(resource.tags), **self.deletion_tags(resource)},
        }

    def live_view(self, live: Any, ctx: Context) -> dict[str, Any]:
        assert isinstance(live, LiveNotebook)
        return {
            "instanceType": live.instance_type,
            "role": live.role_arn,
            "rootAccess": live.root_access,
            "directInternetAccess": live.direct_internet_access,
            "subnetId": live.subnet_id,
            "securityGroupIds": sorted(live.security_group_ids),
            "kmsKeyId": live.kms_key_id,
            "volumeSizeInGB": live.volume_size_in_gb,
            "lifecycleConfigName": live.lifecycle_config_name,
            "tags": dict(live.tags),
        }

    def build(self, name: str, spec: Mapping[str, Any], source: Source) -> Resource:
        return NotebookInstance(
            name,
            source,
            instance_type=spec["instanceType"],
            role=spec["role"],
            root_access=spec["rootAccess"],
            direct_internet_access=spec["directInternetAccess"],
            subnet_id=spec.get("subnetId"),
            security_group_ids=tuple(spec["securityGroupIds"]),
            kms_key_id=spec.get("kmsKeyId"),
            kms_key=spec.get("kmsKey"),
            volume_size_in_gb=spec["volumeSizeInGB"],
            lifecycle_config_name=spec.get("lifecycleConfigName"),
            tags=dict(spec.get("tags", {})),
            deletion_policy=spec["deletionPolicy"],
        )

    def check_references(self, resource: Resource, exists: Exists, report: Report) -> None:
        assert isinstance(resource, NotebookInstance)
        if not exists("Role", resource.role):
            report(resource, ("spec", "role"), f"no Role manifest named '{resource.role}'", ("Role", resource.role))
        key = resource.kms_key
        if key and not exists("KmsKey", key):
            report(resource, ("spec", "kmsKey"), f"no KmsKey manifest named '{key}'", ("KmsKey", key))

    def import_needs(self, live: Any, name_of: Callable[[str], tuple[str, str] | None]) -> list[tuple[str, str]]:
        if not live.role_arn:
            return []
        found = name_of(live.role_arn)
        return [found if found is not None and found[0] == "Role" else ("", str(live.role_arn))]


#: The kind, as the registry lists it.
KIND = NotebookKind()
