"""Reading KMS keys: ``ListAliases`` (the keys are found by alias), then ``DescribeKey`` and ``ListResourceTags``
for every aliased key (ownership is a tag; AWS managed keys are dropped), then the key policy and the rotation
status of those named in git or owned; all fanned out on the shared pool."""

from __future__ import annotations

from concurrent.futures import Future
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from reconciler.aws.answers import document, error_code
from reconciler.aws.failures import translate_errors
from reconciler.aws.session import ReadSession
from reconciler.kinds.kmskey import LiveKmsKey

if TYPE_CHECKING:
    from mypy_boto3_kms.client import KMSClient

#: The answers that mean the key went away since it was listed.
GONE = ("NotFoundException",)
AWS_ALIASES = "alias/aws/"


def _kms(session: ReadSession) -> KMSClient:
    client: KMSClient = session.factory.client("kms")
    return client


def read(session: ReadSession) -> dict[str, LiveKmsKey]:
    kms = _kms(session)
    with translate_errors("reading KMS (ListAliases)"):
        aliases = [
            (str(a["AliasName"])[len("alias/") :], str(a.get("AliasArn", "")), str(a["TargetKeyId"]))
            for page in kms.get_paginator("list_aliases").paginate()
            for a in page.get("Aliases", [])
            if a.get("TargetKeyId") and not str(a.get("AliasName", "")).startswith(AWS_ALIASES)
        ]
    summaries = session.fan_out(lambda alias: _summary(session, *alias), aliases)
    keys: dict[str, LiveKmsKey] = {}
    details: dict[str, tuple[Future[dict[str, Any] | None], Future[bool | None]]] = {}
    for future in summaries:
        key = future.result()
        if key is None:  # gone since listed, or AWS managed
            continue
        keys[key.name] = key
        if session.scope.detailed("KmsKey", key.name, key.tags):
            details[key.name] = (
                session.submit(_policy, session, key.key_id),
                session.submit(_rotation, session, key.key_id),
            )
    for name, (policy, rotation) in details.items():
        key = keys[name]
        keys[name] = LiveKmsKey(
            name=key.name,
            arn=key.arn,
            key_id=key.key_id,
            key_arn=key.key_arn,
            key_manager=key.key_manager,
            state=key.state,
            enabled=key.enabled,
            description=key.description,
            tags=key.tags,
            detailed=True,
            policy=policy.result(),
            rotation=rotation.result(),
        )
    return keys


def _summary(session: ReadSession, name: str, alias_arn: str, key_id: str) -> LiveKmsKey | None:
    """The key an alias points to, with its tags; None for an AWS managed key or one gone meanwhile."""
    kms = _kms(session)
    try:
        with translate_errors("reading KMS (DescribeKey)"):
            meta = kms.describe_key(KeyId=key_id)["KeyMetadata"]
        if meta.get("KeyManager") != "CUSTOMER":
            return None
        with translate_errors("reading KMS (ListResourceTags)"):
            tags = {
                str(t["TagKey"]): str(t.get("TagValue", ""))
                for page in kms.get_paginator("list_resource_tags").paginate(KeyId=key_id)
                for t in page.get("Tags", [])
            }
    except ClientError as exc:
        if error_code(exc) in GONE:
            return None
        raise
    return LiveKmsKey(
        name=name,
        arn=alias_arn,
        key_id=str(meta["KeyId"]),
        key_arn=str(meta.get("Arn", "")),
        key_manager=str(meta.get("KeyManager")),
        state=str(meta.get("KeyState", "")),
        enabled=bool(meta.get("Enabled")),
        description=str(meta.get("Description") or ""),
        tags=dict(sorted(tags.items())),
    )


def _policy(session: ReadSession, key_id: str) -> dict[str, Any] | None:
    try:
        with translate_errors("reading KMS (GetKeyPolicy)"):
            return document(_kms(session).get_key_policy(KeyId=key_id, PolicyName="default")["Policy"])
    except ClientError as exc:
        if error_code(exc) in GONE:
            return None
        raise


def _rotation(session: ReadSession, key_id: str) -> bool | None:
    """Whether automatic rotation is on; None when the key's state does not say (or it is gone)."""
    try:
        with translate_errors("reading KMS (GetKeyRotationStatus)"):
            return bool(_kms(session).get_key_rotation_status(KeyId=key_id)["KeyRotationEnabled"])
    except ClientError as exc:
        if error_code(exc) in (*GONE, "KMSInvalidStateException", "UnsupportedOperationException"):
            return None
        raise
