"""A StudioUserProfile manifest for a live profile: its domain, role and person by name (imported with it)."""

from __future__ import annotations

from typing import Any

from reconciler.kinds.importing import ImportContext, deletion_policy, user_tags
from reconciler.kinds.studioprofile import FOR_TAG, LiveProfile


def to_spec(live: LiveProfile, ictx: ImportContext) -> dict[str, Any]:
    role = ictx.name_of(live.execution_role or "")
    kind, _, name = live.tags.get(FOR_TAG, "").partition("/")
    return {
        "domain": live.domain,
        "executionRole": role[1] if role is not None and role[0] == "Role" else "",
        "for": {kind.lower(): name} if kind and name else None,
        "deletionPolicy": deletion_policy(live.tags),
        "tags": {k: v for k, v in user_tags(live.tags, ictx.ctx).items() if k != FOR_TAG},
    }
