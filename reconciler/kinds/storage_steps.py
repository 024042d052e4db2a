"""The AWS steps for S3 buckets and SageMaker notebook instances.

Nothing here deletes, overwrites or expires an object: a bucket is deleted only when it is empty,
and the client factory refuses object deletions and lifecycle rules outright.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from reconciler.kinds.base import DELETION_POLICY_TAG
from reconciler.kinds.steps import (
    Pending,
    StepContext,
    StepError,
    StepInput,
    code,
    doc,
    ignore,
    tag_list,
    until_consistent,
)
from reconciler.kinds.storage import NOTEBOOK_UPDATABLE

NO_BUCKET = ("NoSuchBucket",)


def _s3(step: StepContext) -> Any:
    return step.aws.client("s3")


def _sm(step: StepContext) -> Any:
    return step.aws.client("sagemaker")


# ------------------------------------------------------------------------------------------ Bucket


def _put_tags(step: StepContext, name: str, tags: dict[str, str]) -> None:
    if tags:
        _s3(step).put_bucket_tagging(Bucket=name, Tagging={"TagSet": tag_list(tags)})
    else:
        ignore(NO_BUCKET, _s3(step).delete_bucket_tagging, Bucket=name)


def _put_encryption(step: StepContext, name: str, encryption: dict[str, Any]) -> None:
    default: dict[str, str] = {"SSEAlgorithm": "AES256" if encryption["type"] == "SSE-S3" else "aws:kms"}
    if encryption.get("kmsKeyId"):
        default["KMSMasterKeyID"] = encryption["kmsKeyId"]
    rule: dict[str, Any] = {"ApplyServerSideEncryptionByDefault": default}
    if encryption["type"] == "SSE-KMS":
        rule["BucketKeyEnabled"] = True
    _s3(step).put_bucket_encryption(Bucket=name, ServerSideEncryptionConfiguration={"Rules": [rule]})


def _converge_bucket(step: StepContext, change: StepInput, *, everything: bool) -> None:
    s3, name, want = _s3(step), change.name, change.desired
    # Public access is blocked first, before anything else is set.
    if everything or change.changed("publicAccessBlock"):
        s3.put_public_access_block(Bucket=name, PublicAccessBlockConfiguration=want["publicAccessBlock"])
    if everything or change.changed("encryption"):
        _put_encryption(step, name, want["encryption"])
    if everything or change.changed("versioning"):
        live_versioning = change.live.get("versioning")
        if want["versioning"] or live_versioning:
            status = "Enabled" if want["versioning"] else "Suspended"
            s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": status})
    if everything or change.changed("policy"):
        s3.put_bucket_policy(Bucket=name, Policy=doc(want["policy"]))
    if not everything and change.changed("tags"):
        _put_tags(step, name, want["tags"])


def create_bucket(step: StepContext, change: StepInput) -> None:
    s3, name, want = _s3(step), change.name, change.desired
    config: dict[str, Any] = {"Tags": tag_list(want["tags"])}
    region = step.ctx.region
    if region != "us-east-1":
        config["LocationConstraint"] = region
    try:
        s3.create_bucket(Bucket=name, CreateBucketConfiguration=config)
    except ClientError as exc:
        if code(exc) == "BucketAlreadyExists":
            raise StepError(f"bucket name {name} is taken by another AWS account; choose another name") from exc
        if code(exc) != "BucketAlreadyOwnedByYou":
            raise
    _put_tags(step, name, want["tags"])  # also where CreateBucket does not take tags
    _converge_bucket(step, change, everything=True)


def update_bucket(step: StepContext, change: StepInput) -> None:
    _converge_bucket(step, change, everything=False)


def bucket_is_empty(step: StepContext, name: str) -> bool:
    """No object, no version and no delete marker."""
    page = _s3(step).list_object_versions(Bucket=name, MaxKeys=1)
    return not (page.get("Versions") or page.get("DeleteMarkers"))


def delete_bucket(step: StepContext, change: StepInput) -> None:
    name = change.name
    if not bucket_is_empty(step, name):
        raise StepError(
            f"bucket {name} is not empty; the reconciler never deletes objects, so the bucket is "
            "kept. Empty it by hand, or set deletionPolicy: Retain to release it"
        )
    ignore(NO_BUCKET, _s3(step).delete_bucket, Bucket=name)


def release_bucket(step: StepContext, change: StepInput) -> None:
    """Keep the bucket and its data; remove the ownership tag (and the deletion-policy tag)."""
    tags = {
        k: v for k, v in change.live.get("tags", {}).items() if k not in (step.ctx.ownership_key, DELETION_POLICY_TAG)
    }
    _put_tags(step, change.name, tags)


# ------------------------------------------------------------------------------------------ Notebook


def _role_not_assumable(exc: ClientError) -> bool:
    message = str(exc.response.get("Error", {}).get("Message", "")).lower()
    return code(exc) == "ValidationException" and ("assume" in message or ("role" in message and "not" in message))


def create_notebook(step: StepContext, change: StepInput) -> None:
    want = change.desired
    if want["directInternetAccess"] == "Disabled" and not want.get("subnetId"):
        raise StepError(
            f"notebook {change.name}: directInternetAccess Disabled needs subnetId (SageMaker refuses it otherwise)"
        )
    args: dict[str, Any] = {
        "NotebookInstanceName": change.name,
        "InstanceType": want["instanceType"],
        "RoleArn": want["role"],
        "RootAccess": want["rootAccess"],
        "DirectInternetAccess": want["directInternetAccess"],
        "VolumeSizeInGB": want["volumeSizeInGB"],
        "Tags": tag_list(want["tags"]),
    }
    for key, field in (
        ("SubnetId", "subnetId"),
        ("KmsKeyId", "kmsKeyId"),
        ("LifecycleConfigName", "lifecycleConfigName"),
    ):
        if want.get(field):
            args[key] = want[field]
    if want.get("securityGroupIds"):
        args["SecurityGroupIds"] = want["securityGroupIds"]
    # A role created seconds ago may not be assumable by SageMaker yet: retry, bounded.
    until_consistent(step, lambda: _sm(step).create_notebook_instance(**args), when=_role_not_assumable)


def _status(step: StepContext, name: str) -> str:
    return str(_sm(step).describe_notebook_instance(NotebookInstanceName=name)["NotebookInstanceStatus"])


def _wait(step: StepContext, name: str, waiter: str) -> None:
    _sm(step).get_waiter(waiter).wait(
        NotebookInstanceName=name, WaiterConfig={"Delay": max(1, int(step.poll_interval)), "MaxAttempts": 120}
    )


def update_notebook(step: StepContext, change: StepInput) -> None:
    have, want, name = change.live, change.desired, change.name
    replaced = sorted(
        f for f in ("directInternetAccess", "subnetId", "securityGroupIds", "kmsKeyId") if change.changed(f)
    )
    if replaced:
        raise StepError(
            f"notebook {name}: SageMaker cannot change {', '.join(replaced)} in place and replacing "
            "the instance would delete its storage volume; stop and delete it by hand, and the next "
            "apply creates it as the manifest says"
        )
    if change.changed("tags"):
        arn = _notebook_arn(step, name)
        live_tags, want_tags = have.get("tags", {}), want["tags"]
        added = {k: v for k, v in want_tags.items() if live_tags.get(k) != v}
        removed = sorted(k for k in live_tags if k not in want_tags)
        if added:
            _sm(step).add_tags(ResourceArn=arn, Tags=tag_list(added))
        if removed:
            _sm(step).delete_tags(ResourceArn=arn, TagKeys=removed)
    updates = [f for f in NOTEBOOK_UPDATABLE if change.changed(f)]
    if not updates:
        return
    status = _status(step, name)
    restart = False
    if status not in ("Stopped", "Failed"):
        if step.notebook_updates != "restart":
            raise Pending(
                f"notebook {name} is {status}; {', '.join(updates)} will be updated when it is stopped "
                "(or set Settings.notebookUpdates: restart)"
            )
        if status in ("Pending", "Updating", "Stopping"):
            raise Pending(f"notebook {name} is {status}; it will be updated on a later run")
        _sm(step).stop_notebook_instance(NotebookInstanceName=name)
        _wait(step, name, "notebook_instance_stopped")
        restart = True
    args: dict[str, Any] = {"NotebookInstanceName": name}
    if "instanceType" in updates:
        args["InstanceType"] = want["instanceType"]
    if "role" in updates:
        args["RoleArn"] = want["role"]
    if "rootAccess" in updates:
        args["RootAccess"] = want["rootAccess"]
    if "volumeSizeInGB" in updates:
        if (have.get("volumeSizeInGB") or 0) > want["volumeSizeInGB"]:
            raise StepError(f"notebook {name}: the volume cannot shrink from {have.get('volumeSizeInGB')} GB")
        args["VolumeSizeInGB"] = want["volumeSizeInGB"]
    if "lifecycleConfigName" in updates:
        if want.get("lifecycleConfigName"):
            args["LifecycleConfigName"] = want["lifecycleConfigName"]
        else:
            args["DisassociateLifecycleConfig"] = True
    until_consistent(step, lambda: _sm(step).update_notebook_instance(**args), when=_role_not_assumable)
    if restart:
        _sm(step).start_notebook_instance(NotebookInstanceName=name)


def _notebook_arn(step: StepContext, name: str) -> str:
    return f"arn:aws:sagemaker:{step.ctx.region}:{step.ctx.account_id}:notebook-instance/{name}"


def release_notebook(step: StepContext, change: StepInput) -> None:
    """Keep the instance and its volume; remove the ownership mark (and the deletion-policy tag)."""
    marks = sorted(k for k in change.live.get("tags", {}) if k in (step.ctx.ownership_key, DELETION_POLICY_TAG))
    if marks:
        _sm(step).delete_tags(ResourceArn=_notebook_arn(step, change.name), TagKeys=marks)


def delete_notebook(step: StepContext, change: StepInput) -> None:
    name = change.name
    try:
        status = _status(step, name)
    except ClientError as exc:
        if code(exc) in ("ValidationException", "ResourceNotFound"):
            return
        raise
    if status in ("InService", "Pending", "Updating"):
        _sm(step).stop_notebook_instance(NotebookInstanceName=name)
    if status != "Deleting":
        _wait(step, name, "notebook_instance_stopped")
        _sm(step).delete_notebook_instance(NotebookInstanceName=name)
