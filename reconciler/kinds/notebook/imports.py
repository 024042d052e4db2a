"""A NotebookInstance manifest for a live notebook instance (its role by name: the import brings it along)."""

from __future__ import annotations

from typing import Any

from reconciler.kinds.importing import ImportContext, deletion_policy, user_tags
from reconciler.kinds.kmskey import imported_key_name
from reconciler.kinds.notebook import LiveNotebook


def to_spec(live: LiveNotebook, ictx: ImportContext) -> dict[str, Any]:
    found = ictx.name_of(live.role_arn or "")
    key = imported_key_name(live.kms_key_id, ictx)
    return {
        "instanceType": live.instance_type,
        "role": found[1] if found is not None and found[0] == "Role" else "",
        "rootAccess": live.root_access,
        "directInternetAccess": live.direct_internet_access,
        "subnetId": live.subnet_id,
        "securityGroupIds": sorted(live.security_group_ids),
        "kmsKeyId": None if key else live.kms_key_id,
        "kmsKey": key,
        "volumeSizeInGB": live.volume_size_in_gb,
        "lifecycleConfigName": live.lifecycle_config_name,
        "deletionPolicy": deletion_policy(live.tags),
        "tags": user_tags(live.tags, ictx.ctx),
    }
