"""A KmsKey manifest for a live customer managed key. The standard key policy (the one a manifest without
``policy`` gets) is left out; any other policy is written as it is, AWS's own default included (its Sid holds
spaces, which a key policy's schema allows)."""

from __future__ import annotations

from typing import Any

from reconciler.kinds.importing import ImportContext, deletion_policy, document, user_tags
from reconciler.kinds.kmskey import ALIAS_TAG, PENDING_WINDOW_TAG, LiveKmsKey, default_policy, pending_window
from reconciler.policydoc import PolicyDocumentError, equivalent


def _is_default(policy: Any, account_id: str) -> bool:
    try:
        return bool(equivalent(policy, default_policy(account_id)))
    except PolicyDocumentError:
        return False


def to_spec(live: LiveKmsKey, ictx: ImportContext) -> dict[str, Any]:
    policy = None
    if live.policy is not None and not _is_default(live.policy, ictx.ctx.account_id):
        policy = document(live.policy)
    tags = user_tags(live.tags, ictx.ctx)
    return {
        "description": live.description,
        "policy": policy,
        "rotation": live.rotation,
        "deletionPolicy": deletion_policy(live.tags),
        "pendingWindowDays": pending_window(live.tags) if PENDING_WINDOW_TAG in live.tags else None,
        "tags": {k: v for k, v in tags.items() if k not in (PENDING_WINDOW_TAG, ALIAS_TAG)},
    }
