"""A Policy manifest for a live customer managed policy."""

from __future__ import annotations

from typing import Any

from reconciler.kinds.importing import ImportContext, deletion_policy, document, user_tags
from reconciler.kinds.policy import LivePolicy


def to_spec(live: LivePolicy, ictx: ImportContext) -> dict[str, Any]:
    return {
        "description": live.description,
        "path": live.path,
        "document": document(live.document),
        "deletionPolicy": deletion_policy(live.tags),
        "tags": user_tags(live.tags, ictx.ctx),
    }
