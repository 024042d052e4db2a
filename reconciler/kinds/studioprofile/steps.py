"""The AWS steps of the StudioUserProfile kind. A profile is addressed by its domain's id, found by the domain's
name (the views hold names); SageMaker changes profiles asynchronously, so each step waits for the outcome."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from reconciler.aws.answers import error_code
from reconciler.kinds.context import DELETION_POLICY_TAG
from reconciler.kinds.steps import Step, StepContext, StepError, StepInput, retag, tag_list, until_consistent
from reconciler.kinds.studiodomain.steps import find_domain, wait_for
from reconciler.kinds.studioprofile import FOR_TAG

if TYPE_CHECKING:
    from mypy_boto3_sagemaker.client import SageMakerClient

_GONE = ("ResourceNotFound", "ValidationException")


def _sm(step: StepContext) -> SageMakerClient:
    return step.aws.client("sagemaker")


def _domain_id(step: StepContext, name: str, domain: str) -> str:
    found = find_domain(step, domain)
    if found is None:
        raise StepError(f"user profile {name}: its domain {domain} does not exist", retryable=True)
    return str(found["DomainId"])


def _describe(step: StepContext, domain_id: str, name: str) -> dict[str, Any] | None:
    try:
        return dict(_sm(step).describe_user_profile(DomainId=domain_id, UserProfileName=name))
    except ClientError as exc:
        if error_code(exc) in _GONE:
            return None
        raise


def _status(step: StepContext, domain_id: str, name: str) -> str | None:
    described = _describe(step, domain_id, name)
    return None if described is None else str(described.get("Status"))


def _in_service(step: StepContext, domain_id: str, name: str) -> None:
    wait_for(step, f"user profile {name}", lambda: _status(step, domain_id, name), lambda s: s == "InService")


def _role_not_assumable(exc: ClientError) -> bool:
    message = str(exc.response.get("Error", {}).get("Message", "")).lower()
    return error_code(exc) == "ValidationException" and "role" in message and ("assume" in message or "not" in message)


def _tags(want: dict[str, Any]) -> dict[str, str]:
    """The tags the profile carries: the view's, and who it is for."""
    return {**want["tags"], FOR_TAG: want["for"]}


def create_profile(step: StepContext, change: StepInput) -> None:
    want, name = change.desired, change.name
    domain_id = _domain_id(step, name, want["domain"])
    if _describe(step, domain_id, name) is None:  # else a run that crashed after creating it: wait for that one
        until_consistent(
            step,
            lambda: _sm(step).create_user_profile(
                DomainId=domain_id,
                UserProfileName=name,
                UserSettings={"ExecutionRole": want["executionRole"]},
                Tags=tag_list(_tags(want)),
            ),
            when=_role_not_assumable,
        )
    _in_service(step, domain_id, name)


def update_profile(step: StepContext, change: StepInput) -> None:
    have, want, name = change.live, change.desired, change.name
    if change.changed("domain"):
        raise StepError(f"user profile {name}: a profile cannot move from domain {have.get('domain')} to another")
    domain_id = _domain_id(step, name, want["domain"])
    described = _describe(step, domain_id, name)
    if described is None:
        raise StepError(f"user profile {name} no longer exists", retryable=True)
    arn = str(described["UserProfileArn"])
    if change.changed("tags") or change.changed("for"):
        live_tags = {**have.get("tags", {}), **({FOR_TAG: have["for"]} if have.get("for") else {})}
        retag(
            live_tags,
            _tags(want),
            add=lambda tags: _sm(step).add_tags(ResourceArn=arn, Tags=tags),
            remove=lambda keys: _sm(step).delete_tags(ResourceArn=arn, TagKeys=keys),
        )
    if change.changed("executionRole"):
        until_consistent(
            step,
            lambda: _sm(step).update_user_profile(
                DomainId=domain_id, UserProfileName=name, UserSettings={"ExecutionRole": want["executionRole"]}
            ),
            when=_role_not_assumable,
        )
        _in_service(step, domain_id, name)


def release_profile(step: StepContext, change: StepInput) -> None:
    """Keep the profile and its apps; remove the ownership mark, the deletion-policy tag, and who it is for."""
    marks = sorted(k for k in change.live.get("tags", {}) if k in (step.ctx.ownership_key, DELETION_POLICY_TAG))
    marks += [FOR_TAG] if change.live.get("for") else []
    domain = find_domain(step, str(change.live.get("domain") or ""))
    if not marks or domain is None:
        return
    described = _describe(step, str(domain["DomainId"]), change.name)
    if described is not None:
        _sm(step).delete_tags(ResourceArn=str(described["UserProfileArn"]), TagKeys=marks)


def _live_apps(step: StepContext, domain_id: str, name: str) -> list[dict[str, Any]]:
    """The profile's apps that are not deleted yet (AWS lists deleted apps for a while, as ``Deleted``)."""
    return [
        dict(a)
        for page in _sm(step).get_paginator("list_apps").paginate(DomainIdEquals=domain_id, UserProfileNameEquals=name)
        for a in page.get("Apps", [])
        if a.get("Status") != "Deleted"
    ]


def delete_profile(step: StepContext, change: StepInput) -> None:
    """Delete the profile's apps, wait until they are gone, then delete the profile (SageMaker refuses to delete
    a profile that still has apps)."""
    name = change.name
    domain = find_domain(step, str(change.live.get("domain") or ""))
    if domain is None:
        return
    domain_id = str(domain["DomainId"])
    if _describe(step, domain_id, name) is None:
        return
    for app in _live_apps(step, domain_id, name):
        if app.get("Status") == "Deleting":
            continue
        try:
            _sm(step).delete_app(
                DomainId=domain_id, UserProfileName=name, AppType=app["AppType"], AppName=app["AppName"]
            )
        except ClientError as exc:
            if error_code(exc) not in _GONE:
                raise
    wait_for(
        step,
        f"the apps of user profile {name}",
        lambda: "Deleting" if _live_apps(step, domain_id, name) else None,
        lambda s: s is None,
    )
    if _status(step, domain_id, name) != "Deleting":
        try:
            _sm(step).delete_user_profile(DomainId=domain_id, UserProfileName=name)
        except ClientError as exc:
            if error_code(exc) not in _GONE:
                raise
    wait_for(step, f"user profile {name}", lambda: _status(step, domain_id, name), lambda s: s is None)


STEPS: dict[str, Step] = {
    "create": create_profile,
    "update": update_profile,
    "delete": delete_profile,
    "release": release_profile,
}
