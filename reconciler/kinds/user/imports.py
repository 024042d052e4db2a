"""A User manifest for a live user. Nothing secret is ever read, so nothing secret can be written: a user
carries groups, tags, path and whether it has a console password, never the password or access keys."""

from __future__ import annotations

from typing import Any

from reconciler.kinds.importing import ImportContext, deletion_policy, user_tags
from reconciler.kinds.user import LiveUser


def to_spec(live: LiveUser, ictx: ImportContext) -> dict[str, Any]:
    return {
        "groups": sorted(live.groups),
        "path": live.path,
        "tags": user_tags(live.tags, ictx.ctx),
        "consoleAccess": bool(live.console_access),
        "permissionsBoundary": ictx.policy_ref(live.boundary) if live.boundary else None,
        "deletionPolicy": deletion_policy(live.tags),
    }
