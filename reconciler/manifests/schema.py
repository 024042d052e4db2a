"""Validation of manifest documents against the JSON Schemas in ``schemas/``.

The schemas are the single source of truth: they validate, they carry the defaults that the loader
fills in, and a custom ``x-message`` keyword on a subschema can replace jsonschema's generic text
for a keyword (``{"x-message": {"oneOf": "give exactly one of ..."}}``).
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterator, Mapping
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator, validators
from jsonschema.exceptions import ValidationError, best_match
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

KIND_SCHEMAS: dict[str, str] = {
    "Settings": "settings.schema.json",
    "Policy": "policy.schema.json",
    "Role": "role.schema.json",
    "Group": "group.schema.json",
    "User": "user.schema.json",
    "Bucket": "bucket.schema.json",
    "NotebookInstance": "notebookinstance.schema.json",
}


def schema_dir() -> Path:
    """Where the schemas are: inside the installed wheel, or the repository's ``schemas/``."""
    packaged = resources.files("reconciler") / "_schemas"
    if packaged.is_dir():
        return Path(str(packaged))
    return Path(__file__).resolve().parents[2] / "schemas"


@cache
def _registry() -> Registry:
    registry: Registry = Registry()
    for path in sorted(schema_dir().glob("*.schema.json")):
        contents = json.loads(path.read_text(encoding="utf-8"))
        registry = registry.with_resource(path.name, Resource.from_contents(contents, DRAFT202012))
    return registry


def _fill_defaults(validator_class: Any) -> Any:
    """A validator class whose ``properties`` keyword also fills in ``default`` values."""
    validate_properties = validator_class.VALIDATORS["properties"]

    def set_defaults(validator: Any, properties: Mapping[str, Any], instance: Any, schema: Any) -> Any:
        if isinstance(instance, dict):
            for name, subschema in properties.items():
                if name in instance:
                    continue
                resolved = subschema
                if "$ref" in subschema and "default" not in subschema:
                    resolved = validator._resolver.lookup(subschema["$ref"]).contents
                if "default" in resolved:
                    instance[name] = json.loads(json.dumps(resolved["default"]))
        yield from validate_properties(validator, properties, instance, schema)

    return validators.extend(validator_class, {"properties": set_defaults})


_DefaultingValidator = _fill_defaults(Draft202012Validator)


@cache
def _validator(schema_file: str) -> Any:
    registry = _registry()
    schema = registry.contents(schema_file)
    return _DefaultingValidator(schema, registry=registry)


def validate(kind: str, document: dict[str, Any]) -> list[ValidationError]:
    """Validate ``document`` (filled with defaults in place); return the most specific errors."""
    errors = sorted(_validator(KIND_SCHEMAS[kind]).iter_errors(document), key=lambda e: list(e.path))
    return [_most_specific(error) for error in errors]


def _most_specific(error: ValidationError) -> ValidationError:
    if error.validator in ("oneOf", "anyOf") and error.context:
        custom = _custom_message(error)
        if custom is not None:
            return error
        best = best_match(error.context)
        return _most_specific(best) if best is not None else error
    return error


def _custom_message(error: ValidationError) -> str | None:
    messages = error.schema.get("x-message") if isinstance(error.schema, dict) else None
    if isinstance(messages, dict):
        text = messages.get(str(error.validator))
        return str(text) if text is not None else None
    return None


def _short(value: Any, limit: int = 60) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def describe(error: ValidationError) -> tuple[list[str | int], bool, str]:
    """(path of the offending node, whether to point at its key, one-line message)."""
    path: list[str | int] = list(error.absolute_path)
    custom = _custom_message(error)
    if custom is not None:
        return path, False, custom
    validator = error.validator
    instance = error.instance
    if validator == "additionalProperties" and isinstance(instance, dict):
        allowed = set(error.schema.get("properties", {}))
        extra = sorted(k for k in instance if k not in allowed)
        if extra:
            name = extra[0]
            hint = difflib.get_close_matches(name, sorted(allowed), n=1)
            suggestion = f"; did you mean '{hint[0]}'?" if hint else (
                f"; allowed: {', '.join(sorted(allowed))}" if allowed else "")
            return [*path, name], True, f"unknown field '{name}'{suggestion}"
    if validator == "required":
        missing = [m for m in error.validator_value if isinstance(instance, dict) and m not in instance]
        field = missing[0] if missing else "?"
        return path, True, f"missing required field '{field}'"
    if validator == "type":
        expected = error.validator_value
        expected_text = " or ".join(expected) if isinstance(expected, list) else str(expected)
        message = f"expected {expected_text}, got {_type_name(instance)} {_short(instance)}"
        if isinstance(instance, bool) and "string" in str(expected):
            message += " (quote it: YAML reads yes/no/on/off/true/false as booleans)"
        return path, False, message
    if validator in ("enum", "const"):
        options = error.validator_value if validator == "enum" else [error.validator_value]
        return path, False, f"{_short(instance)} is not one of {', '.join(_short(o) for o in options)}"
    if validator == "pattern":
        return path, False, f"{_short(instance)} does not match the expected format {error.validator_value}"
    if validator == "not" and isinstance(error.validator_value, dict) and "required" in error.validator_value:
        both = " and ".join(error.validator_value["required"])
        return path, False, f"{both} cannot be used together"
    if validator == "oneOf":
        return path, False, "matches more than one of the allowed forms"
    if validator == "minItems" and error.validator_value == 1:
        return path, False, "list must not be empty"
    if validator == "minProperties" and error.validator_value == 1:
        return path, False, "mapping must not be empty"
    if validator == "uniqueItems":
        return path, False, "list has duplicate items"
    return path, False, error.message


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "list"
    if isinstance(value, dict):
        return "mapping"
    return type(value).__name__


def kinds() -> Iterator[str]:
    return iter(KIND_SCHEMAS)
