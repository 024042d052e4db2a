"""A Role manifest for a live role: its trust as ``trustedServices`` when the reconciler would generate exactly
that document, else as written."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from reconciler.kinds.importing import ImportContext, deletion_policy, document, raw_statements, user_tags
from reconciler.kinds.role import LiveRole, Role, trust_document
from reconciler.policydoc import PolicyDocumentError, equivalent

_SERVICE = re.compile(r"^[a-z0-9.-]+\.amazonaws\.com(\.cn)?$")


def _trust(live: LiveRole, ictx: ImportContext) -> dict[str, Any]:
    stmts = raw_statements(live.trust)
    principal = stmts[0].get("Principal") if len(stmts) == 1 and isinstance(stmts[0], Mapping) else None
    services = principal.get("Service") if isinstance(principal, Mapping) else None
    services = [services] if isinstance(services, str) else services
    if isinstance(services, list) and services and all(isinstance(s, str) and _SERVICE.match(s) for s in services):
        generated = trust_document(Role(live.name, None, trusted_services=tuple(sorted(set(services)))), ictx.ctx)
        try:
            if equivalent(generated, live.trust):
                return {"trustedServices": sorted(set(services))}
        except PolicyDocumentError:
            pass
    return {"assumeRolePolicy": document(live.trust)}


def to_spec(live: LiveRole, ictx: ImportContext) -> dict[str, Any]:
    return {
        "description": live.description,
        **_trust(live, ictx),
        "policies": ictx.policy_refs(live.attached),
        "inlinePolicies": {k: document(live.inline[k]) for k in sorted(live.inline)},
        "permissionsBoundary": ictx.policy_ref(live.boundary) if live.boundary else None,
        "maxSessionDuration": live.max_session_duration,
        "path": live.path,
        "deletionPolicy": deletion_policy(live.tags),
        "tags": user_tags(live.tags, ictx.ctx),
    }
