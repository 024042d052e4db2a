"""Reading notebook instances: ``ListNotebookInstances``, tags for every one (ownership is a tag), then
``DescribeNotebookInstance`` for those named in git or owned; all fanned out."""

from __future__ import annotations

from concurrent.futures import Future
from typing import Any

from botocore.exceptions import ClientError

from reconciler.aws.answers import error_code, tags
from reconciler.aws.failures import translate_errors
from reconciler.aws.session import ReadSession
from reconciler.kinds.notebook import LiveNotebook


def read(session: ReadSession) -> dict[str, LiveNotebook]:
    sm = session.factory.client("sagemaker")
    with translate_errors("reading SageMaker (ListNotebookInstances)"):
        listed = [
            (n["NotebookInstanceName"], n["NotebookInstanceArn"])
            for page in sm.get_paginator("list_notebook_instances").paginate()
            for n in page.get("NotebookInstances", [])
        ]
    tag_futures = session.fan_out(lambda arn: _tags(session, arn), (arn for _, arn in listed))
    notebooks: dict[str, LiveNotebook] = {}
    details: dict[str, Future[dict[str, Any] | None]] = {}
    for (name, arn), future in zip(listed, tag_futures, strict=True):
        notebooks[name] = LiveNotebook(name=name, arn=arn, tags=future.result())
        if session.scope.detailed("NotebookInstance", name, notebooks[name].tags):
            details[name] = session.submit(_describe, session, name)
    for name, detail in details.items():
        d = detail.result()
        if d is None:  # deleted since it was listed
            del notebooks[name]
            continue
        notebooks[name] = LiveNotebook(
            name=name,
            arn=notebooks[name].arn,
            tags=notebooks[name].tags,
            detailed=True,
            status=d.get("NotebookInstanceStatus"),
            instance_type=d.get("InstanceType"),
            role_arn=d.get("RoleArn"),
            root_access=d.get("RootAccess", "Enabled"),
            direct_internet_access=d.get("DirectInternetAccess", "Enabled"),
            subnet_id=d.get("SubnetId"),
            security_group_ids=tuple(sorted(d.get("SecurityGroups", []))),
            kms_key_id=d.get("KmsKeyId"),
            volume_size_in_gb=d.get("VolumeSizeInGB"),
            lifecycle_config_name=d.get("NotebookInstanceLifecycleConfigName"),
        )
    return notebooks


def _tags(session: ReadSession, arn: str) -> dict[str, str]:
    with translate_errors("reading SageMaker (ListTags)"):
        pages = session.factory.client("sagemaker").get_paginator("list_tags").paginate(ResourceArn=arn)
        return {k: v for page in pages for k, v in tags(page.get("Tags")).items()}


def _describe(session: ReadSession, name: str) -> dict[str, Any] | None:
    try:
        with translate_errors("reading SageMaker (DescribeNotebookInstance)"):
            return dict(session.factory.client("sagemaker").describe_notebook_instance(NotebookInstanceName=name))
    except ClientError as exc:
        if error_code(exc) in ("ValidationException", "ResourceNotFound"):
            return None
        raise
