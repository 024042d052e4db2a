"""The AWS steps of the StudioDomain kind. SageMaker creates, updates and deletes a domain asynchronously: each
step waits until the domain is InService again (or gone). A domain is found by name (``ListDomains``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from reconciler.aws.answers import error_code
from reconciler.kinds.context import DELETION_POLICY_TAG
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
from reconciler.kinds.studiodomain import DOMAIN_UPDATABLE, KIND

if TYPE_CHECKING:
    from mypy_boto3_sagemaker.client import SageMakerClient
    from mypy_boto3_sagemaker.type_defs import (
        CreateDomainRequestTypeDef,
        UpdateDomainRequestTypeDef,
        UserSettingsTypeDef,
    )

#: How many status polls a step waits for (``StepContext.poll_interval`` apart) before leaving it to a later run.
WAIT_POLLS = 600
_GONE = ("ResourceNotFound", "ValidationException")


def _sm(step: StepContext) -> SageMakerClient:
    return step.aws.client("sagemaker")


def find_domain(step: StepContext, name: str) -> dict[str, Any] | None:
    """The summary of the domain named ``name`` (None: there is none). Two of them: a clear error, no guess."""
    found = [
        dict(d)
        for page in _sm(step).get_paginator("list_domains").paginate()
        for d in page.get("Domains", [])
        if d["DomainName"] == name
    ]
    if len(found) > 1:
        ids = ", ".join(sorted(str(d["DomainId"]) for d in found))
        raise StepError(f"domain {name}: {len(found)} domains carry this name ({ids}); the reconciler does not guess")
    return found[0] if found else None


def _status(step: StepContext, domain_id: str) -> str | None:
    """The domain's status, None once it is gone."""
    try:
        return str(_sm(step).describe_domain(DomainId=domain_id)["Status"])
    except ClientError as exc:
        if error_code(exc) in _GONE:
            return None
        raise


def wait_for(
    step: StepContext, what: str, status: Callable[[], str | None], done: Callable[[str | None], bool]
) -> None:
    """Poll ``status()`` until ``done(status)``; a failure is a StepError, a wait that outlasts the bound Pending."""
    for _ in range(WAIT_POLLS):
        current = status()
        if done(current):
            return
        if current in ("Failed", "Update_Failed", "Delete_Failed"):
            raise StepError(f"{what} is {current}", retryable=True)
        step.sleep(step.poll_interval)
    raise Pending(f"{what} is still {status()}; a later run continues")


def _in_service(step: StepContext, name: str, domain_id: str) -> None:
    wait_for(step, f"domain {name}", lambda: _status(step, domain_id), lambda s: s == "InService")


def _busy_apps(step: StepContext, domain_id: str) -> list[str]:
    return sorted(
        f"{a.get('UserProfileName') or a.get('SpaceName')}/{a['AppType']}/{a['AppName']}"
        for page in _sm(step).get_paginator("list_apps").paginate(DomainIdEquals=domain_id)
        for a in page.get("Apps", [])
        if a.get("Status") in ("InService", "Pending", "Deleting")
    )


def _role_not_assumable(exc: ClientError) -> bool:
    message = str(exc.response.get("Error", {}).get("Message", "")).lower()
    return error_code(exc) == "ValidationException" and "role" in message and ("assume" in message or "not" in message)


def create_domain(step: StepContext, change: StepInput) -> None:
    want, name = change.desired, change.name
    existing = find_domain(step, name)  # a run that crashed after CreateDomain: wait for that one
    if existing is None:
        settings: UserSettingsTypeDef = {"ExecutionRole": want["defaultExecutionRole"]}
        if want.get("securityGroupIds"):
            settings["SecurityGroups"] = want["securityGroupIds"]
        args: CreateDomainRequestTypeDef = {
            "DomainName": name,
            "AuthMode": want["authMode"],
            "DefaultUserSettings": settings,
            "SubnetIds": want["subnetIds"],
            "VpcId": want["vpcId"],
            "AppNetworkAccessType": want["appNetworkAccessType"],
            "Tags": tag_list(want["tags"]),
        }
        if want.get("kmsKey"):
            args["KmsKeyId"] = want["kmsKey"]
        created = until_consistent(step, lambda: _sm(step).create_domain(**args), when=_role_not_assumable)
        domain_id = str(created.get("DomainId") or str(created["DomainArn"]).rsplit("/", 1)[-1])
    else:
        domain_id = str(existing["DomainId"])
    _in_service(step, name, domain_id)


def update_domain(step: StepContext, change: StepInput) -> None:
    have, want, name = change.live, change.desired, change.name
    replaced = sorted(f for f in KIND.replace_fields if change.changed(f))
    if replaced:
        raise StepError(f"domain {name}: SageMaker cannot change {', '.join(replaced)} in place")
    found = find_domain(step, name)
    if found is None:
        raise StepError(f"domain {name} no longer exists", retryable=True)
    domain_id, arn = str(found["DomainId"]), str(found["DomainArn"])
    if change.changed("tags"):
        retag(
            have.get("tags", {}),
            want["tags"],
            add=lambda tags: _sm(step).add_tags(ResourceArn=arn, Tags=tags),
            remove=lambda keys: _sm(step).delete_tags(ResourceArn=arn, TagKeys=keys),
        )
    updates = [f for f in DOMAIN_UPDATABLE if change.changed(f)]
    if not updates:
        return
    if "appNetworkAccessType" in updates or set(have.get("subnetIds") or ()) - set(want["subnetIds"]):
        busy = _busy_apps(step, domain_id)
        if busy:
            raise StepError(f"domain {name}: apps are running ({', '.join(busy)}); stop them first", retryable=True)
    status = _status(step, domain_id)
    if status != "InService":
        raise Pending(f"domain {name} is {status}; {', '.join(updates)} will be updated when it is InService")
    args: UpdateDomainRequestTypeDef = {"DomainId": domain_id}
    settings: UserSettingsTypeDef = {}
    if "defaultExecutionRole" in updates:
        settings["ExecutionRole"] = want["defaultExecutionRole"]
    if "securityGroupIds" in updates:
        settings["SecurityGroups"] = want["securityGroupIds"]
    if settings:
        args["DefaultUserSettings"] = settings
    if "subnetIds" in updates:
        args["SubnetIds"] = want["subnetIds"]
    if "appNetworkAccessType" in updates:
        args["AppNetworkAccessType"] = want["appNetworkAccessType"]
    until_consistent(step, lambda: _sm(step).update_domain(**args), when=_role_not_assumable)
    _in_service(step, name, domain_id)


def release_domain(step: StepContext, change: StepInput) -> None:
    """Keep the domain; remove the ownership mark (and the deletion-policy tag)."""
    marks = sorted(k for k in change.live.get("tags", {}) if k in (step.ctx.ownership_key, DELETION_POLICY_TAG))
    found = find_domain(step, change.name)
    if marks and found is not None:
        _sm(step).delete_tags(ResourceArn=str(found["DomainArn"]), TagKeys=marks)


def delete_domain(step: StepContext, change: StepInput) -> None:
    """Delete the domain, never its home volume (``RetentionPolicy: HomeEfsFileSystem: Retain``). Refused while
    the domain holds user profiles (the plan's blocker says so first)."""
    name = change.name
    found = find_domain(step, name)
    if found is None:
        return
    domain_id = str(found["DomainId"])
    profiles = sorted(
        str(p["UserProfileName"])
        for page in _sm(step).get_paginator("list_user_profiles").paginate(DomainIdEquals=domain_id)
        for p in page.get("UserProfiles", [])
    )
    if profiles:
        raise StepError(f"domain {name} still holds user profile(s) {', '.join(profiles)}: delete them first")
    if found.get("Status") != "Deleting":
        try:
            _sm(step).delete_domain(DomainId=domain_id, RetentionPolicy={"HomeEfsFileSystem": "Retain"})
        except ClientError as exc:
            if error_code(exc) not in _GONE:
                raise
    wait_for(step, f"domain {name}", lambda: _status(step, domain_id), lambda s: s is None)


STEPS: dict[str, Step] = {
    "create": create_domain,
    "update": update_domain,
    "delete": delete_domain,
    "release": release_domain,
}
