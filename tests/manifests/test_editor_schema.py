"""schemas/manifest.schema.json, the editor's dispatcher, is what the registry generates."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema

from reconciler.kinds import REGISTRY
from reconciler.kinds.editorschema import editor_schema, editor_schema_text

SCHEMAS = Path(__file__).resolve().parents[2] / "schemas"


def test_the_editor_schema_file_is_the_registrys() -> None:
    assert (SCHEMAS / "manifest.schema.json").read_text(encoding="utf-8") == editor_schema_text(), (
        "regenerate it: python -m reconciler.kinds.editorschema > schemas/manifest.schema.json"
    )


def test_it_names_every_kind_and_dispatches_to_an_existing_schema() -> None:
    schema = editor_schema()
    assert schema["properties"]["kind"]["enum"] == ["Settings", "Account", *REGISTRY]
    for branch in schema["allOf"]:
        assert (SCHEMAS / branch["then"]["$ref"]).is_file()
    jsonschema.Draft202012Validator.check_schema(json.loads(editor_schema_text()))
