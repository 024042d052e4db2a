"""The KmsKey kind: a customer managed KMS key, found and named by its alias ``alias/NAME``.

Manifests of other kinds refer to a key by name (``kmsKey: NAME``); AWS then sees the ARN of its alias
(``Context.kms_key_arn``), known before the key exists and stable if the key is ever replaced.

A key holds no data, but everything encrypted under it becomes unreadable once it is deleted: removing the
manifest releases the key by default, and ``deletionPolicy: Delete`` only schedules its deletion (AWS waits
``pendingWindowDays``, during which the deletion can be cancelled), never deletes it at once.

Creating a key is two calls (``CreateKey``, then ``CreateAlias``): the key is created carrying the ownership
tag and :data:`ALIAS_TAG` naming its alias, so that a create interrupted between the two finds the key it made
and gives it its alias instead of making a second key (``steps.py``). What stays true: the read finds keys by
alias only, so an owned key left without its alias is invisible to plan until its manifest is applied again;
one whose manifest is removed meanwhile stays, tagged, without alias (see docs/manifests.md).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from reconciler.aws.live import LiveState
from reconciler.kinds.base import Kind
from reconciler.kinds.context import DELETION_POLICY_TAG, Blocker, Context, Target
from reconciler.manifests.model import DesiredState, Resource, Source
from reconciler.policydoc import PolicyDocumentError, PolicyStatement, action_matches, parse_policy

if TYPE_CHECKING:
    from reconciler.kinds.importing import ImportContext

#: The tag a key is created with that names its alias: how a create interrupted before ``CreateAlias`` finds
#: the key it made. Not part of the views (a manifest never says it; adopted keys do not carry it).
ALIAS_TAG = "reconciler/kms-alias"
#: The tag recording ``pendingWindowDays`` when it is not the default, so that the window is known once the
#: manifest is gone (like the deletion-policy tag).
PENDING_WINDOW_TAG = "reconciler/pending-window-days"
DEFAULT_PENDING_WINDOW = 30
#: The key states in which AWS deletes the key: what plan shows as ``state``, and what apply repairs.
ENABLED = "Enabled"
PENDING_DELETION = "PendingDeletion"


def default_policy(account_id: str) -> dict[str, Any]:
    """The standard key policy: the account's IAM policies decide who may use the key."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "EnableIAMUserPermissions",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{account_id}:root"},
                "Action": "kms:*",
                "Resource": "*",
            }
        ],
    }


@dataclass(frozen=True)
class KmsKey(Resource):
    kind: ClassVar[str] = "KmsKey"
    description: str = ""
    policy: Mapping[str, Any] | None = None  # None: the default key policy
    rotation: bool = True
    tags: Mapping[str, str] = field(default_factory=dict)
    deletion_policy: str = "Retain"  # what it encrypted needs it
    pending_window_days: int = DEFAULT_PENDING_WINDOW


def kms_keys(desired: DesiredState) -> Mapping[str, KmsKey]:
    """The KmsKey manifests of ``desired``, typed."""
    return {name: r for name, r in desired.of("KmsKey").items() if isinstance(r, KmsKey)}


@dataclass(frozen=True)
class LiveKmsKey:
    """One aliased customer managed key. ``arn`` is the alias's ARN: how manifests refer to the key, and what
    the importer matches a bucket's or notebook's key against."""

    name: str  # the alias without "alias/"
    arn: str  # arn:aws:kms:REGION:ACCOUNT:alias/NAME
    key_id: str
    key_arn: str
    key_manager: str = "CUSTOMER"
    state: str = ENABLED  # KeyState: Enabled, Disabled, PendingDeletion, ...
    enabled: bool = True
    description: str = ""
    tags: Mapping[str, str] = field(default_factory=dict)
    # The details below are read only for keys named in git or owned (None: not read).
    detailed: bool = False
    policy: Mapping[str, Any] | None = None
    rotation: bool | None = None


def live_kms_keys(live: LiveState) -> Mapping[str, LiveKmsKey]:
    """The KmsKey resources of the account, typed."""
    return {name: r for name, r in live.of("KmsKey").items() if isinstance(r, LiveKmsKey)}


def alias_name_of(arn: str, ctx: Target) -> str | None:
    """The KmsKey name an alias ARN of the target account and region refers to (None: not one)."""
    prefix = f"arn:aws:kms:{ctx.region}:{ctx.account_id}:alias/"
    return arn[len(prefix) :] if arn.startswith(prefix) and len(arn) > len(prefix) else None


def imported_key_name(key: object, ictx: ImportContext) -> str | None:
    """For the import of a bucket or a notebook: the name of the imported KmsKey whose alias ARN ``key`` is (the
    manifest says ``kmsKey: NAME``), or None (the manifest keeps the key as it is, ``kmsKeyId``)."""
    found = ictx.name_of(key) if isinstance(key, str) else None
    return found[1] if found is not None and found[0] == "KmsKey" and ictx.imported(*found) else None


def _statements(policy: Any) -> tuple[PolicyStatement, ...]:
    """The statements of a key policy, read by the one policy parser (none when it is absent or malformed:
    what cannot be read names no principal)."""
    if not policy:
        return ()
    try:
        return parse_policy(policy).statements
    except PolicyDocumentError:
        return ()


def principals_of(policy: Any, account_id: str) -> set[tuple[str, str]]:
    """(kind, name) of the roles and users of ``account_id`` a key policy names as principals."""
    found: set[tuple[str, str]] = set()
    for statement in _statements(policy):
        for arn in (statement.principal or {}).get("AWS", ()):
            prefix, _, resource = arn.partition(f":iam::{account_id}:")
            kind, _, path_and_name = resource.partition("/")
            if prefix == "arn:aws" and kind in ("role", "user") and path_and_name:
                found.add((kind.capitalize(), path_and_name.rsplit("/", 1)[-1]))
    return found


def decrypters(policy: Mapping[str, Any] | None) -> list[str]:
    """The AWS principal ARNs a key policy itself allows ``kms:Decrypt`` (Allow statements whose actions match
    it), the account roots (the delegation to IAM) and ``*`` left out: who the key lets read what it encrypts."""
    found: set[str] = set()
    for statement in _statements(policy):
        if statement.allow and any(action_matches(a, "kms:Decrypt") for a in statement.action or ()):
            arns = (statement.principal or {}).get("AWS", ())
            found.update(a for a in arns if a != "*" and not a.endswith(":root"))
    return sorted(found)


def pending_window(tags: Mapping[str, str]) -> int:
    """The pending window recorded on a key (the default when none is)."""
    value = tags.get(PENDING_WINDOW_TAG, "")
    return int(value) if value.isdigit() and 7 <= int(value) <= 30 else DEFAULT_PENDING_WINDOW


class KmsKeyKind(Kind):
    name = "KmsKey"
    schema = "kmskey.schema.json"
    folder = "kms-keys"
    # A key policy may name the account's roles and users: KMS refuses a policy whose principals do not exist.
    after = ("Role", "User")
    default_deletion_policy = "Retain"
    document_fields = frozenset({"policy"})

    def references(self, view: Mapping[str, Any], ctx: Target) -> set[str]:
        """The roles and users of the account the key policy names (created before the key's policy is put)."""
        return {f"{kind}/{name}" for kind, name in principals_of(view.get("policy"), ctx.account_id)}

    reads = (
        "kms:ListAliases",
        "kms:DescribeKey",
        "kms:GetKeyPolicy",
        "kms:GetKeyRotationStatus",
        "kms:ListResourceTags",
    )
    writes = (
        "kms:CreateKey",
        "kms:TagResource",  # CreateKey with tags, and tag changes
        "kms:UntagResource",
        "kms:CreateAlias",
        "kms:ListKeys",  # a create interrupted before its alias: the key it made
        "kms:PutKeyPolicy",
        "kms:UpdateKeyDescription",
        "kms:EnableKeyRotation",
        "kms:DisableKeyRotation",
        "kms:EnableKey",
        "kms:CancelKeyDeletion",
        "kms:DeleteAlias",
        "kms:ScheduleKeyDeletion",
    )
    security_fields = frozenset({"policy", "rotation", "state"})

    # ------------------------------------------------------------------ the views

    def deletion_tags(self, resource: Resource) -> dict[str, str]:
        """The deletion-policy tag, and with Delete a window other than the default: known once the manifest goes."""
        tags = super().deletion_tags(resource)
        assert isinstance(resource, KmsKey)
        if resource.deletion_policy == "Delete" and resource.pending_window_days != DEFAULT_PENDING_WINDOW:
            tags[PENDING_WINDOW_TAG] = str(resource.pending_window_days)
        return tags

    def desired_view(self, resource: Resource, ctx: Context) -> dict[str, Any]:
        assert isinstance(resource, KmsKey)
        return {
            "description": resource.description,
            "policy": dict(resource.policy) if resource.policy is not None else default_policy(ctx.account_id),
            "rotation": resource.rotation,
            "state": ENABLED,
            "tags": {**ctx.owned_tags(resource.tags), **self.deletion_tags(resource)},
        }

    def live_view(self, live: Any, ctx: Context) -> dict[str, Any]:
        assert isinstance(live, LiveKmsKey)
        return {
            "description": live.description,
            "policy": live.policy,
            "rotation": live.rotation,
            "state": live.state,
            "tags": {k: v for k, v in live.tags.items() if k != ALIAS_TAG},
        }

    def release_fields(self, live: Any, ctx: Context) -> list[tuple[str, Any, Any]]:
        marks = (ctx.ownership_key, DELETION_POLICY_TAG, PENDING_WINDOW_TAG, ALIAS_TAG)
        tags = getattr(live, "tags", {})
        return [("tags", {k: v for k, v in tags.items() if k in marks}, {})]

    def plan_notes(self, action: str, changed: Sequence[str], live: Any, ctx: Context) -> tuple[str, ...]:
        if action not in ("update", "adopt") or "state" not in changed or not isinstance(live, LiveKmsKey):
            return ()
        if live.state == PENDING_DELETION:
            return (
                f"the key is scheduled for deletion: apply cancels the deletion and enables the key ({live.key_id})",
            )
        return (f"the key is {live.state}: apply enables it ({live.key_id})",)

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
        repairable = (ENABLED, "Disabled", PENDING_DELETION)
        if action in ("update", "adopt") and isinstance(live, LiveKmsKey) and live.state not in repairable:
            return Blocker(
                "key-state",
                f"KMS key {live.key_id} (alias/{live.name}) is {live.state}; apply changes only a key that is "
                "enabled, disabled or scheduled for deletion",
                "repair the key by hand (e.g. import its key material), or remove its manifest",
            )
        return super().blocker(action, changed=changed, replaced=replaced, live=live, desired=desired, ctx=ctx)

    def destroys(self, live: Any, state: LiveState) -> tuple[str, ...]:
        assert isinstance(live, LiveKmsKey)
        days = pending_window(live.tags)
        return (
            f"its alias alias/{live.name}, at once",
            f"the key {live.key_id}: scheduled for deletion in {days} days; data encrypted under it becomes "
            "unreadable unless the deletion is cancelled (kms:CancelKeyDeletion) before then",
        )

    # ------------------------------------------------------------------ the manifest

    def build(self, name: str, spec: Mapping[str, Any], source: Source) -> Resource:
        return KmsKey(
            name,
            source,
            description=spec["description"],
            policy=spec.get("policy"),
            rotation=spec["rotation"],
            tags=dict(spec.get("tags", {})),
            deletion_policy=spec["deletionPolicy"],
            pending_window_days=spec["pendingWindowDays"],
        )

    # ------------------------------------------------------------------ the import

    def import_skip(self, live: Any) -> str | None:
        assert isinstance(live, LiveKmsKey)
        if live.key_manager != "CUSTOMER":
            return "an AWS managed key"
        if live.state == PENDING_DELETION:
            return "the key is scheduled for deletion"
        return None


#: The kind, as the registry lists it.
KIND = KmsKeyKind()
