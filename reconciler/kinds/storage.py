"""Bucket and NotebookInstance kinds."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from reconciler.aws.live import LiveBucket, LiveNotebook, LiveState
from reconciler.kinds.base import Blocker, Context, Kind, Target
from reconciler.manifests.model import Bucket, NotebookInstance, Resource

PUBLIC_ACCESS_BLOCK_ON: dict[str, bool] = {
    "BlockPublicAcls": True,
    "IgnorePublicAcls": True,
    "BlockPublicPolicy": True,
    "RestrictPublicBuckets": True,
}

# Object-level actions that write, overwrite, delete, or loosen protection of data.
OBJECT_WRITE_ACTIONS: tuple[str, ...] = (
    "s3:PutObject",
    "s3:DeleteObject",
    "s3:DeleteObjectVersion",
    "s3:PutObjectAcl",
    "s3:PutObjectVersionAcl",
    "s3:PutObjectRetention",
    "s3:PutObjectLegalHold",
    "s3:BypassGovernanceRetention",
    "s3:RestoreObject",
)


def writer_arns(bucket: Bucket, ctx: Context) -> list[str]:
    """Principal ARNs allowed to write the bucket's objects (groups expand to their users)."""
    arns: set[str] = set()
    for ref in bucket.access.write:
        kind, _, name = ref.partition("/")
        if kind == "Role":
            arns.add(ctx.role_arn(name))
        elif kind == "User":
            arns.add(ctx.user_arn(name))
        elif kind == "Group":
            arns.update(ctx.user_arn(u.name) for u in ctx.desired.users.values() if name in u.groups)
    return sorted(arns)


def bucket_policy(bucket: Bucket, ctx: Context) -> dict[str, Any]:
    """The bucket policy the reconciler writes: TLS only; writes only by the declared writers; extras."""
    bucket_arn = f"arn:aws:s3:::{bucket.name}"
    statements: list[dict[str, Any]] = [
        {
            "Sid": "DenyInsecureTransport",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": [bucket_arn, f"{bucket_arn}/*"],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        }
    ]
    if bucket.access.write:
        writers = writer_arns(bucket, ctx)
        statements.append(
            {
                "Sid": "DenyObjectWritesExceptDeclaredWriters",
                "Effect": "Deny",
                "Principal": "*",
                "Action": list(OBJECT_WRITE_ACTIONS),
                "Resource": f"{bucket_arn}/*",
                "Condition": {"ArnNotEquals": {"aws:PrincipalArn": writers or [f"arn:aws:iam::{ctx.account_id}:root"]}},
            }
        )
    statements.extend(dict(s) for s in bucket.policy)
    return {"Version": "2012-10-17", "Statement": statements}


# Fields SageMaker's UpdateNotebookInstance takes (the instance must be stopped).
NOTEBOOK_UPDATABLE: tuple[str, ...] = ("instanceType", "role", "rootAccess", "volumeSizeInGB", "lifecycleConfigName")


class BucketKind(Kind):
    name = "Bucket"
    default_deletion_policy = "Retain"
    document_fields = frozenset({"policy"})
    reads = (
        "s3:ListAllMyBuckets",
        "s3:GetBucketTagging",
        "s3:GetBucketVersioning",
        "s3:GetEncryptionConfiguration",
        "s3:GetBucketPublicAccessBlock",
        "s3:GetBucketPolicy",
        "s3:ListBucketVersions",  # whether a bucket a plan may delete is empty
    )

    def desired_view(self, resource: Resource, ctx: Context) -> dict[str, Any]:
        assert isinstance(resource, Bucket)
        tags = {**ctx.owned_tags(resource.tags), **self.deletion_tags(resource)}
        encryption: dict[str, Any] = {"type": resource.encryption.type}
        if resource.encryption.type == "SSE-KMS" and resource.encryption.kms_key_id:
            encryption["kmsKeyId"] = resource.encryption.kms_key_id
        return {
            "versioning": resource.versioning,
            "encryption": encryption,
            "publicAccessBlock": dict(PUBLIC_ACCESS_BLOCK_ON),
            "policy": bucket_policy(resource, ctx),
            "tags": tags,
        }

    def live_view(self, live: Any, ctx: Context) -> dict[str, Any]:
        assert isinstance(live, LiveBucket)
        return {
            "versioning": live.versioning == "Enabled",
            "encryption": dict(live.encryption) if live.encryption else None,
            "publicAccessBlock": dict(live.public_access_block) if live.public_access_block else None,
            "policy": dict(live.policy) if live.policy else None,
            "tags": dict(live.tags),
        }

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
        if action == "delete" and isinstance(live, LiveBucket) and live.empty is False:
            return Blocker(
                "not-empty",
                f"bucket {live.name} holds objects, and the reconciler never deletes an object",
                "empty the bucket by hand, or put its manifest back (with deletionPolicy: Retain it is kept "
                "and released when the manifest goes)",
            )
        return super().blocker(action, changed=changed, replaced=replaced, live=live, desired=desired, ctx=ctx)

    def destroys(self, live: Any, state: LiveState) -> tuple[str, ...]:
        return ("the bucket itself (it is empty: no object, version or delete marker)",)


class NotebookKind(Kind):
    name = "NotebookInstance"
    # The instance's storage volume holds people's work: removing the manifest releases it.
    default_deletion_policy = "Retain"

    def references(self, view: Mapping[str, Any], ctx: Target) -> set[str]:
        role = view.get("role")
        return {f"Role/{role.rsplit('/', 1)[-1]}"} if isinstance(role, str) else set()

    replace_fields = frozenset({"directInternetAccess", "subnetId", "securityGroupIds", "kmsKeyId"})
    replace_hint = (
        "replacing a notebook deletes its storage volume and the work on it: save that work, stop and "
        "delete the notebook by hand, and the next apply creates it as the manifest says; or change the "
        "field back in the manifest"
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
        if action == "update" and "volumeSizeInGB" in changed and isinstance(live, LiveNotebook):
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

    def desired_view(self, resource: Resource, ctx: Context) -> dict[str, Any]:
        assert isinstance(resource, NotebookInstance)
        return {
            "instanceType": resource.instance_type,
            "role": ctx.role_arn(resource.role),
            "rootAccess": resource.root_access,
            "directInternetAccess": resource.direct_internet_access,
            "subnetId": resource.subnet_id,
            "securityGroupIds": sorted(resource.security_group_ids),
            "kmsKeyId": resource.kms_key_id,
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


def _install_steps() -> None:
    # Late import: storage_steps imports DELETION_POLICY_TAG from this module.
    from reconciler.kinds import storage_steps  # noqa: PLC0415

    BucketKind.steps = {
        "create": storage_steps.create_bucket,
        "update": storage_steps.update_bucket,
        "delete": storage_steps.delete_bucket,
        "release": storage_steps.release_bucket,
    }
    NotebookKind.steps = {
        "create": storage_steps.create_notebook,
        "update": storage_steps.update_notebook,
        "delete": storage_steps.delete_notebook,
        "release": storage_steps.release_notebook,
    }


_install_steps()
