"""The AWS steps of the KmsKey kind. Nothing here deletes a key at once: a deletion is scheduled, with its
pending window, and the alias goes after it is scheduled (a rerun after a crash in between finds the alias
and finishes). KMS changes a key by its id, not its alias: each step looks the id up by alias first."""

from __future__ import annotations

from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from reconciler.aws.answers import error_code
from reconciler.kinds.context import DELETION_POLICY_TAG
from reconciler.kinds.kmskey import ALIAS_TAG, ENABLED, PENDING_DELETION, PENDING_WINDOW_TAG, pending_window
from reconciler.kinds.steps import Step, StepContext, StepError, StepInput, doc, ignore

if TYPE_CHECKING:
    from mypy_boto3_kms.client import KMSClient
    from mypy_boto3_kms.type_defs import KeyMetadataTypeDef, TagTypeDef

NOT_FOUND = ("NotFoundException",)


def _kms(step: StepContext) -> KMSClient:
    client: KMSClient = step.aws.client("kms")
    return client


def _alias(name: str) -> str:
    return f"alias/{name}"


def _kms_tags(tags: dict[str, str]) -> list[TagTypeDef]:
    return [{"TagKey": k, "TagValue": v} for k, v in sorted(tags.items())]


def _describe(step: StepContext, name: str) -> KeyMetadataTypeDef | None:
    """The key ``alias/NAME`` points to; None when there is no such alias."""
    try:
        return _kms(step).describe_key(KeyId=_alias(name))["KeyMetadata"]
    except ClientError as exc:
        if error_code(exc) in NOT_FOUND:
            return None
        raise


def _key(step: StepContext, name: str) -> KeyMetadataTypeDef:
    meta = _describe(step, name)
    if meta is None:
        raise StepError(f"KMS alias {_alias(name)} no longer exists", retryable=True)
    return meta


def _tags_of(step: StepContext, key_id: str) -> dict[str, str]:
    pages = _kms(step).get_paginator("list_resource_tags").paginate(KeyId=key_id)
    return {t["TagKey"]: t["TagValue"] for page in pages for t in page.get("Tags", [])}


def _unaliased_key_made_for(step: StepContext, name: str) -> str | None:
    """The key a create of ``name`` interrupted before ``CreateAlias`` left: owned, tagged with its alias, without
    an alias, not scheduled for deletion. Only unaliased keys are looked at: few, in a sound account."""
    kms = _kms(step)
    aliased = {
        a["TargetKeyId"]
        for page in kms.get_paginator("list_aliases").paginate()
        for a in page.get("Aliases", [])
        if a.get("TargetKeyId")
    }
    keys = [k["KeyId"] for page in kms.get_paginator("list_keys").paginate() for k in page.get("Keys", [])]
    for key_id in sorted(k for k in keys if k not in aliased):
        try:
            tags = _tags_of(step, key_id)
            if tags.get(ALIAS_TAG) != name or not step.ctx.owns(tags):
                continue
            meta = kms.describe_key(KeyId=key_id)["KeyMetadata"]
        except ClientError as exc:
            if error_code(exc) in (*NOT_FOUND, "AccessDeniedException"):
                continue
            raise
        if meta.get("KeyManager") == "CUSTOMER" and meta.get("KeyState") != PENDING_DELETION:
            return key_id
    return None


def _set_tags(step: StepContext, key_id: str, have: dict[str, str], want: dict[str, str]) -> None:
    added = {k: v for k, v in want.items() if have.get(k) != v}
    removed = sorted(k for k in have if k not in want)
    if added:
        _kms(step).tag_resource(KeyId=key_id, Tags=_kms_tags(added))
    if removed:
        _kms(step).untag_resource(KeyId=key_id, TagKeys=removed)


def _enable(step: StepContext, name: str, meta: KeyMetadataTypeDef) -> None:
    """Make the key usable again: cancel a scheduled deletion (which leaves it disabled), then enable it."""
    state, key_id = meta.get("KeyState"), meta["KeyId"]
    if state == ENABLED:
        return
    if state not in ("Disabled", PENDING_DELETION):
        raise StepError(f"KMS key {key_id} (alias/{name}) is {state}; apply enables only a disabled key")
    if state == PENDING_DELETION:
        ignore(("KMSInvalidStateException",), _kms(step).cancel_key_deletion, KeyId=key_id)
    _kms(step).enable_key(KeyId=key_id)


def _converge(step: StepContext, name: str, meta: KeyMetadataTypeDef, change: StepInput, *, everything: bool) -> None:
    kms, want, key_id = _kms(step), change.desired, meta["KeyId"]
    # The state first: a disabled key takes no rotation change.
    if everything or change.changed("state"):
        _enable(step, name, meta)
    if everything or change.changed("policy"):
        kms.put_key_policy(KeyId=key_id, PolicyName="default", Policy=doc(want["policy"]))
    if everything or change.changed("description"):
        kms.update_key_description(KeyId=key_id, Description=want["description"])
    if everything or change.changed("rotation"):
        if want["rotation"]:
            kms.enable_key_rotation(KeyId=key_id)
        else:
            kms.disable_key_rotation(KeyId=key_id)
    if everything:
        have = {k: v for k, v in _tags_of(step, key_id).items() if k != ALIAS_TAG}
        _set_tags(step, key_id, have, {**want["tags"]})
    elif change.changed("tags"):
        _set_tags(step, key_id, dict(change.live.get("tags") or {}), dict(want["tags"]))


def create_key(step: StepContext, change: StepInput) -> None:
    """``CreateKey`` with its policy, description and tags (the ownership mark and the alias it is made for),
    then ``CreateAlias``, then rotation. A rerun after a crash between the two finds the key it made."""
    kms, name, want = _kms(step), change.name, change.desired
    meta = _describe(step, name)
    if meta is not None:  # the alias exists: a rerun after the alias was made, or someone else's key
        if not step.ctx.owns(_tags_of(step, meta["KeyId"])):
            raise StepError(
                f"KMS alias {_alias(name)} already points to key {meta['KeyId']}, which the reconciler does not "
                "own; plan again and adopt it (apply --adopt)"
            )
        _converge(step, name, meta, change, everything=True)
        return
    key_id = _unaliased_key_made_for(step, name)
    if key_id is None:
        created = kms.create_key(
            Description=want["description"],
            Policy=doc(want["policy"]),
            KeyUsage="ENCRYPT_DECRYPT",
            KeySpec="SYMMETRIC_DEFAULT",
            Tags=_kms_tags({**want["tags"], ALIAS_TAG: name}),
        )
        key_id = created["KeyMetadata"]["KeyId"]
        kms.create_alias(AliasName=_alias(name), TargetKeyId=key_id)
        if want["rotation"]:
            kms.enable_key_rotation(KeyId=key_id)
        return
    kms.create_alias(AliasName=_alias(name), TargetKeyId=key_id)
    _converge(step, name, _key(step, name), change, everything=True)


def update_key(step: StepContext, change: StepInput) -> None:
    _converge(step, change.name, _key(step, change.name), change, everything=False)


def delete_key(step: StepContext, change: StepInput) -> None:
    """Schedule the key's deletion with the recorded pending window, then delete the alias. Never at once."""
    name = change.name
    meta = _describe(step, name)
    if meta is None:
        return
    if meta.get("KeyState") != PENDING_DELETION:
        days = pending_window(dict(change.live.get("tags") or {}))
        _kms(step).schedule_key_deletion(KeyId=meta["KeyId"], PendingWindowInDays=days)
    ignore(NOT_FOUND, _kms(step).delete_alias, AliasName=_alias(name))


def release_key(step: StepContext, change: StepInput) -> None:
    """Keep the key as it is; remove the reconciler's marks (ownership, deletion policy, window, alias)."""
    meta = _key(step, change.name)
    marks = (step.ctx.ownership_key, DELETION_POLICY_TAG, PENDING_WINDOW_TAG, ALIAS_TAG)
    present = sorted(k for k in _tags_of(step, meta["KeyId"]) if k in marks)
    if present:
        _kms(step).untag_resource(KeyId=meta["KeyId"], TagKeys=present)


STEPS: dict[str, Step] = {
    "create": create_key,
    "update": update_key,
    "delete": delete_key,
    "release": release_key,
}
