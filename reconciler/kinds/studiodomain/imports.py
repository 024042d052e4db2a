"""A StudioDomain manifest for a live domain (its role and KMS key by name: the import brings them along)."""

from __future__ import annotations

from typing import Any

from reconciler.kinds.importing import ImportContext, deletion_policy, user_tags
from reconciler.kinds.kmskey import imported_key_name
from reconciler.kinds.studiodomain import LiveDomain


def to_spec(live: LiveDomain, ictx: ImportContext) -> dict[str, Any]:
    role = ictx.name_of(live.default_execution_role or "")
    return {
        "authMode": live.auth_mode,
        "appNetworkAccessType": live.app_network_access_type,
        "vpcId": live.vpc_id,
        "subnetIds": sorted(live.subnet_ids),
        "securityGroupIds": sorted(live.security_group_ids),
        "defaultExecutionRole": role[1] if role is not None and role[0] == "Role" else "",
        "kmsKey": imported_key_name(live.kms_key_id, ictx),
        "deletionPolicy": deletion_policy(live.tags),
        "tags": user_tags(live.tags, ictx.ctx),
    }
