"""A Group manifest for a live group. The guard policy is the reconciler's ownership mark (and its MFA deny),
never user content: without it the group enforces nothing of the reconciler's, and ``requireMFA: false`` keeps
it that way."""

from __future__ import annotations

from typing import Any

from reconciler.kinds.group import LiveGroup
from reconciler.kinds.group.guard import GROUP_GUARD_POLICY, Group, group_guard_document
from reconciler.kinds.importing import ImportContext, document
from reconciler.policydoc import PolicyDocumentError, equivalent


def to_spec(live: LiveGroup, ictx: ImportContext) -> dict[str, Any]:
    guard = live.inline.get(GROUP_GUARD_POLICY)
    require_mfa, retain = False, False
    for deletion_policy in ("Delete", "Retain"):
        generated = group_guard_document(
            Group(live.name, None, path=live.path, require_mfa=True, deletion_policy=deletion_policy), ictx.ctx
        )
        try:
            if guard is not None and equivalent(guard, generated):
                require_mfa, retain = True, deletion_policy == "Retain"
        except PolicyDocumentError:
            pass
    return {
        "policies": ictx.policy_refs(live.attached),
        "inlinePolicies": {k: document(live.inline[k]) for k in sorted(live.inline) if k != GROUP_GUARD_POLICY},
        "requireMFA": require_mfa,
        "path": live.path,
        "deletionPolicy": "Retain" if retain else None,
    }
