"""The AWS steps of the NotebookInstance kind. SageMaker changes a notebook only while it is stopped."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from botocore.exceptions import ClientError

from reconciler.aws.answers import error_code
from reconciler.kinds.context import DELETION_POLICY_TAG
from reconciler.kinds.notebook import KIND, NOTEBOOK_UPDATABLE
from reconciler.kinds.steps import (
    Pending,
    Step,
    StepContext,
    StepError,
    StepInput,
    retag,
    tag_list,
    until_consistent,
)

if TYPE_CHECKING:
    from mypy_boto3_sagemaker.client import SageMakerClient
    from mypy_boto3_sagemaker.type_defs import CreateNotebookInstanceInputTypeDef, UpdateNotebookInstanceInputTypeDef


def _sm(step: StepContext) -> SageMakerClient:
    return step.aws.client("sagemaker")


def _role_not_assumable(exc: ClientError) -> bool:
    message = str(exc.response.get("Error", {}).get("Message", "")).lower()
    return error_code(exc) == "ValidationException" and (
        "assume" in message or ("role" in message and "not" in message)
    )


def create_notebook(step: StepContext, change: StepInput) -> None:
    want = change.desired
    if want["directInternetAccess"] == "Disabled" and not want.get("subnetId"):
        raise StepError(
            f"notebook {change.name}: directInternetAccess Disabled needs subnetId (SageMaker refuses it otherwise)"
        )
    args: CreateNotebookInstanceInputTypeDef = {
        "NotebookInstanceName": change.name,
        "InstanceType": want["instanceType"],
        "RoleArn": want["role"],
        "RootAccess": want["rootAccess"],
        "DirectInternetAccess": want["directInternetAccess"],
        "VolumeSizeInGB": want["volumeSizeInGB"],
        "Tags": tag_list(want["tags"]),
    }
    if want.get("subnetId"):
        args["SubnetId"] = want["subnetId"]
    if want.get("kmsKeyId"):
        args["KmsKeyId"] = want["kmsKeyId"]
    if want.get("lifecycleConfigName"):
        args["LifecycleConfigName"] = want["lifecycleConfigName"]
    if want.get("securityGroupIds"):
        args["SecurityGroupIds"] = want["securityGroupIds"]
    # A role created seconds ago may not be assumable by SageMaker yet: retry, bounded.
    until_consistent(step, lambda: _sm(step).create_notebook_instance(**args), when=_role_not_assumable)


def _status(step: StepContext, name: str) -> str:
    return str(_sm(step).describe_notebook_instance(NotebookInstanceName=name)["NotebookInstanceStatus"])


def _wait(step: StepContext, name: str, waiter: Literal["notebook_instance_stopped"]) -> None:
    _sm(step).get_waiter(waiter).wait(
        NotebookInstanceName=name, WaiterConfig={"Delay": max(1, int(step.poll_interval)), "MaxAttempts": 120}
    )


def update_notebook(step: StepContext, change: StepInput) -> None:
    have, want, name = change.live, change.desired, change.name
    replaced = sorted(f for f in KIND.replace_fields if change.changed(f))
    if replaced:
        raise StepError(
            f"notebook {name}: SageMaker cannot change {', '.join(replaced)} in place and replacing "
            "the instance would delete its storage volume; stop and delete it by hand, and the next "
            "apply creates it as the manifest says"
        )
    if change.changed("tags"):
        arn = _notebook_arn(step, name)
        retag(
            have.get("tags", {}),
            want["tags"],
            add=lambda tags: _sm(step).add_tags(ResourceArn=arn, Tags=tags),
            remove=lambda keys: _sm(step).delete_tags(ResourceArn=arn, TagKeys=keys),
        )
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
    args: UpdateNotebookInstanceInputTypeDef = {"NotebookInstanceName": name}
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
        if error_code(exc) in ("ValidationException", "ResourceNotFound"):
            return
        raise
    if status in ("InService", "Pending", "Updating"):
        _sm(step).stop_notebook_instance(NotebookInstanceName=name)
    if status != "Deleting":
        _wait(step, name, "notebook_instance_stopped")
        _sm(step).delete_notebook_instance(NotebookInstanceName=name)


def replace_notebook(step: StepContext, change: StepInput) -> None:
    """Stop and delete the instance (its volume goes with it), wait until SageMaker has released the name, and
    create it as the manifest says."""
    delete_notebook(step, change)
    _sm(step).get_waiter("notebook_instance_deleted").wait(
        NotebookInstanceName=change.name,
        WaiterConfig={"Delay": max(1, int(step.poll_interval)), "MaxAttempts": 120},
    )
    create_notebook(step, change)


STEPS: dict[str, Step] = {
    "create": create_notebook,
    "update": update_notebook,
    "delete": delete_notebook,
    "replace": replace_notebook,
    "release": release_notebook,
}
