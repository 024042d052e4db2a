"""The live state: what the account holds, as plain immutable values (no boto3 objects).

Each kind defines its own live model (``reconciler.kinds.<kind>``); the state holds them by kind and name.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from reconciler.aws.policies import AwsPolicy

ABSENT = "absent"


def fingerprint(resource: Any | None) -> str:
    """A digest of everything read about one live resource (``absent`` when it does not exist).

    Two reads of an unchanged resource give the same fingerprint: every live model keeps its lists sorted. A field
    whose metadata says ``{"fingerprint": False}`` is left out (how a fact was read, not the fact).
    """
    if resource is None:
        return ABSENT
    data = asdict(resource)
    for item in fields(resource):
        if not item.metadata.get("fingerprint", True):
            data.pop(item.name, None)
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class LiveState:
    """The part of the account the reconciler considers: each kind's live models, by kind and name."""

    account_id: str
    region: str
    resources: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    # AWS managed policies referenced by the manifests, by ARN (their documents feed the invariants).
    aws_policies: Mapping[str, AwsPolicy] = field(default_factory=dict)

    def of(self, kind: str) -> Mapping[str, Any]:
        return self.resources.get(kind, {})
