"""The live model: what the account holds, as plain immutable values (no boto3 objects)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

ABSENT = "absent"


def fingerprint(resource: Any | None) -> str:
    """A digest of everything read about one live resource (``absent`` when it does not exist).

    Two reads of an unchanged resource give the same fingerprint: every model keeps its lists sorted.
    """
    if resource is None:
        return ABSENT
    text = json.dumps(asdict(resource), sort_keys=True, separators=(",", ":"), default=str)
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class LivePolicy:
    name: str
    arn: str
    path: str
    document: Mapping[str, Any]
    default_version_id: str
    version_ids: tuple[str, ...] = ()
    description: str | None = None
    tags: Mapping[str, str] = field(default_factory=dict)
    attachment_count: int = 0


@dataclass(frozen=True)
class LiveRole:
    name: str
    arn: str
    path: str
    trust: Mapping[str, Any]
    attached: tuple[str, ...] = ()
    inline: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    boundary: str | None = None
    max_session_duration: int = 3600
    description: str | None = None
    tags: Mapping[str, str] = field(default_factory=dict)
    instance_profiles: tuple[str, ...] = ()


@dataclass(frozen=True)
class LiveGroup:
    name: str
    arn: str
    path: str
    attached: tuple[str, ...] = ()
    inline: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    members: tuple[str, ...] = ()


@dataclass(frozen=True)
class LiveUser:
    name: str
    arn: str
    path: str
    groups: tuple[str, ...] = ()
    attached: tuple[str, ...] = ()
    inline: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    tags: Mapping[str, str] = field(default_factory=dict)
    boundary: str | None = None
    # None: not read (the user is neither named in git nor owned).
    console_access: bool | None = None
    # The user's own credentials: "ID (Status)" per access key, read for every user named in git or
    # owned (keys of humans are not declared in git, so they are reported); MFA devices (serial
    # numbers), signing certificates and SSH public keys (IDs), read for users a plan may delete, since
    # deleting the user removes them. None: not read.
    access_keys: tuple[str, ...] | None = None
    mfa_devices: tuple[str, ...] | None = None
    signing_certificates: tuple[str, ...] | None = None
    ssh_public_keys: tuple[str, ...] | None = None


@dataclass(frozen=True)
class LiveBucket:
    name: str
    tags: Mapping[str, str] = field(default_factory=dict)
    # The details below are read only for buckets named in git or owned (None: not read / not set).
    detailed: bool = False
    versioning: str | None = None  # "Enabled", "Suspended", or None when never set
    encryption: Mapping[str, Any] | None = None  # {"type": "SSE-S3"|"SSE-KMS", "kmsKeyId": ...}
    public_access_block: Mapping[str, bool] | None = None
    policy: Mapping[str, Any] | None = None
    region: str | None = None
    # Whether the bucket holds no object, version or delete marker; read only for buckets a plan may
    # delete (None: not read).
    empty: bool | None = None


@dataclass(frozen=True)
class LiveNotebook:
    name: str
    arn: str
    tags: Mapping[str, str] = field(default_factory=dict)
    detailed: bool = False
    status: str | None = None
    instance_type: str | None = None
    role_arn: str | None = None
    root_access: str | None = None
    direct_internet_access: str | None = None
    subnet_id: str | None = None
    security_group_ids: tuple[str, ...] = ()
    kms_key_id: str | None = None
    volume_size_in_gb: int | None = None
    lifecycle_config_name: str | None = None


@dataclass(frozen=True)
class LiveState:
    """The part of the account the reconciler considers."""

    account_id: str
    region: str
    policies: Mapping[str, LivePolicy] = field(default_factory=dict)
    roles: Mapping[str, LiveRole] = field(default_factory=dict)
    groups: Mapping[str, LiveGroup] = field(default_factory=dict)
    users: Mapping[str, LiveUser] = field(default_factory=dict)
    buckets: Mapping[str, LiveBucket] = field(default_factory=dict)
    notebooks: Mapping[str, LiveNotebook] = field(default_factory=dict)
    # AWS managed policies referenced by the manifests, by ARN (their documents feed the invariants).
    aws_policies: Mapping[str, LivePolicy] = field(default_factory=dict)

    def of(self, kind: str) -> Mapping[str, Any]:
        return {
            "Policy": self.policies,
            "Role": self.roles,
            "Group": self.groups,
            "User": self.users,
            "Bucket": self.buckets,
            "NotebookInstance": self.notebooks,
        }[kind]
