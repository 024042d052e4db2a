"""Live states built by hand, for the differ's unit tests: no emulator, no network, no AWS SDK.

``live_model`` gives, for one manifest, the live model the reader would read back from an account in which the
reconciler applied exactly that manifest (the shapes of ``reconciler/kinds/*/read.py``: sorted tuples, a bucket's
versioning as ``"Enabled"``, a notebook's status, the deletion policy tag); ``in_sync`` does that for a whole
desired state. Tests then change the few fields they are about with ``dataclasses.replace`` (``changed``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any

from reconciler.aws.live import LiveState
from reconciler.engine.differ import context
from reconciler.kinds import REGISTRY, Context
from reconciler.kinds.bucket import LiveBucket
from reconciler.kinds.group import LiveGroup
from reconciler.kinds.kmskey import LiveKmsKey
from reconciler.kinds.notebook import LiveNotebook
from reconciler.kinds.policy import LivePolicy
from reconciler.kinds.role import LiveRole
from reconciler.kinds.studiodomain import LiveDomain
from reconciler.kinds.studioprofile import FOR_TAG, LiveProfile
from reconciler.kinds.user import LiveUser, User
from reconciler.manifests.model import DesiredState, Resource

ACCOUNT = "123456789012"
REGION = "ap-northeast-1"


def live_model(resource: Resource, ctx: Context, *, status: str = "InService") -> Any:
    """The live model of ``resource`` as the reader sees it once apply made it (``status``: a notebook's)."""
    view = REGISTRY[resource.kind].desired_view(resource, ctx)
    name = resource.name
    if resource.kind == "Policy":
        return LivePolicy(
            name=name,
            arn=ctx.policy_arn(name),
            path=view["path"],
            document=view["document"],
            default_version_id="v1",
            version_ids=("v1",),
            description=view["description"],
            tags=view["tags"],
        )
    if resource.kind == "Role":
        return LiveRole(
            name=name,
            arn=ctx.role_arn(name),
            path=view["path"],
            trust=view["trust"],
            attached=tuple(view["policies"]),
            inline=view["inlinePolicies"],
            boundary=view["permissionsBoundary"],
            max_session_duration=view["maxSessionDuration"],
            description=view["description"],
            tags=view["tags"],
        )
    if resource.kind == "Group":
        return LiveGroup(
            name=name,
            arn=f"arn:aws:iam::{ctx.account_id}:group{view['path']}{name}",
            path=view["path"],
            attached=tuple(view["policies"]),
            inline=view["inlinePolicies"],
            members=tuple(view["members"]),
        )
    if resource.kind == "User":
        assert isinstance(resource, User)
        return LiveUser(
            name=name,
            arn=ctx.user_arn(name),
            path=view["path"],
            groups=tuple(sorted(resource.groups)),
            tags=view["tags"],
            boundary=view["permissionsBoundary"],
            console_access=view["consoleAccess"],
            access_keys=(),
        )
    if resource.kind == "Bucket":
        return LiveBucket(
            name=name,
            tags=view["tags"],
            detailed=True,
            versioning="Enabled" if view["versioning"] else None,
            encryption=view["encryption"],
            public_access_block=view["publicAccessBlock"],
            policy=view["policy"],
        )
    if resource.kind == "NotebookInstance":
        return LiveNotebook(
            name=name,
            arn=f"arn:aws:sagemaker:{ctx.region}:{ctx.account_id}:notebook-instance/{name}",
            tags=view["tags"],
            detailed=True,
            status=status,
            instance_type=view["instanceType"],
            role_arn=view["role"],
            root_access=view["rootAccess"],
            direct_internet_access=view["directInternetAccess"],
            subnet_id=view["subnetId"],
            security_group_ids=tuple(view["securityGroupIds"]),
            kms_key_id=view["kmsKeyId"],
            volume_size_in_gb=view["volumeSizeInGB"],
            lifecycle_config_name=view["lifecycleConfigName"],
        )
    if resource.kind == "KmsKey":
        key_id = f"key-{name}"
        return LiveKmsKey(
            name=name,
            arn=ctx.kms_key_arn(name),
            key_id=key_id,
            key_arn=f"arn:aws:kms:{ctx.region}:{ctx.account_id}:key/{key_id}",
            state=view["state"],
            description=view["description"],
            tags=view["tags"],
            detailed=True,
            policy=view["policy"],
            rotation=view["rotation"],
        )
    if resource.kind == "StudioDomain":
        return LiveDomain(
            name=name,
            domain_id=f"d-{name}",
            arn=f"arn:aws:sagemaker:{ctx.region}:{ctx.account_id}:domain/d-{name}",
            tags=view["tags"],
            status=status,
            detailed=True,
            auth_mode=view["authMode"],
            app_network_access_type=view["appNetworkAccessType"],
            vpc_id=view["vpcId"],
            subnet_ids=tuple(view["subnetIds"]),
            security_group_ids=tuple(view["securityGroupIds"]),
            default_execution_role=view["defaultExecutionRole"],
            kms_key_id=view["kmsKey"],
        )
    if resource.kind == "StudioUserProfile":
        return LiveProfile(
            name=name,
            domain_id=f"d-{view['domain']}",
            domain=view["domain"],
            arn=f"arn:aws:sagemaker:{ctx.region}:{ctx.account_id}:user-profile/d-{view['domain']}/{name}",
            tags={**view["tags"], FOR_TAG: view["for"]},
            status=status,
            detailed=True,
            execution_role=view["executionRole"],
        )
    raise AssertionError(f"no live model for kind {resource.kind}: add it here")


def in_sync(desired: DesiredState, *, region: str = REGION, skip: Iterable[str] = ()) -> LiveState:
    """The account once apply made ``desired`` (every resource but the ``Kind/name`` refs in ``skip``)."""
    ctx = context(desired, region)
    left_out = set(skip)
    resources = {
        kind: {name: live_model(r, ctx) for name, r in desired.of(kind).items() if f"{kind}/{name}" not in left_out}
        for kind in REGISTRY
    }
    # A user that is not there is nobody's member.
    resources["Group"] = {
        name: replace(group, members=tuple(m for m in group.members if m in resources["User"]))
        for name, group in resources["Group"].items()
    }
    return LiveState(ctx.account_id, region, resources)


def empty(desired: DesiredState, *, region: str = REGION) -> LiveState:
    return LiveState(desired.settings.account_id, region)


def changed(live: LiveState, kind: str, name: str, **fields: Any) -> LiveState:
    """``live`` with the fields of one resource replaced."""
    return put(live, kind, name, replace(live.of(kind)[name], **fields))


def put(live: LiveState, kind: str, name: str, model: Any) -> LiveState:
    """``live`` with ``model`` as resource ``kind/name`` (added or replacing the one there)."""
    resources: dict[str, Mapping[str, Any]] = {k: dict(v) for k, v in live.resources.items()}
    resources[kind] = {**resources.get(kind, {}), name: model}
    return LiveState(live.account_id, live.region, resources, live.aws_policies)
