"""The editor's schema (``schemas/manifest.schema.json``): one file that dispatches on ``kind`` to every kind's own
schema, for a YAML language server. The reconciler does not read it (the loader asks each kind for its schema);
it is generated from the registry, and a test keeps the file equal to what this module writes.

    python -m reconciler.kinds.editorschema > schemas/manifest.schema.json
"""

from __future__ import annotations

import json
from typing import Any

from reconciler.kinds.registry import REGISTRY
from reconciler.manifests.fleet import ACCOUNT, ACCOUNT_SCHEMA
from reconciler.manifests.model import SETTINGS, SETTINGS_SCHEMA

__all__ = ["editor_schema", "editor_schema_text"]


def editor_schema() -> dict[str, Any]:
    schemas = {
        SETTINGS: SETTINGS_SCHEMA,
        ACCOUNT: ACCOUNT_SCHEMA,
        **{kind.name: kind.schema for kind in REGISTRY.values()},
    }
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "reconciler manifest (any kind)",
        "description": "Dispatches on `kind` to the kind's own schema. Point your editor's YAML language server at "
        "this file.",
        "type": "object",
        "properties": {"kind": {"enum": list(schemas), "description": "The resource kind."}},
        "required": ["kind"],
        "allOf": [
            {
                "if": {"properties": {"kind": {"const": name}}, "required": ["kind"]},
                "then": {"$ref": schema},
            }
            for name, schema in schemas.items()
        ],
    }


def editor_schema_text() -> str:
    return json.dumps(editor_schema(), indent=2) + "\n"


if __name__ == "__main__":
    print(editor_schema_text(), end="")
