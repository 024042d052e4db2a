"""Validation of manifest documents against the JSON Schemas in ``schemas/``.

The schemas are the single source of truth: they validate, they carry the defaults that the loader
fills in, and a custom ``x-message`` keyword on a subschema can replace jsonschema's generic text
for a keyword (``{"x-message": {"oneOf": "give exactly one of ..."}}``).
"""

from __future__ import annotations

import ast
import difflib
import json
import re
from collections.abc import Iterator, Mapping
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, NamedTuple

from jsonschema import Draft202012Validator, validators
from jsonschema.exceptions import ValidationError, best_match
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from reconciler.clock import ExpiryFormatError, expiry_instant
from reconciler.manifests.compiled import Added, Check, compile_schema
from reconciler.manifests.schedule import ScheduleError, parse_cron, parse_duration, parse_timezone
from reconciler.manifests.yamlsource import printable


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


def _ecma_pattern(pattern: str) -> str:
    r"""``pattern`` (an ECMA-262 regex, as JSON Schema patterns are) with ECMA's ``$`` for Python's ``re``.

    An ECMA ``$`` (without the multiline flag) matches only at the very end, while Python's also matches
    before a final newline: ``name: |`` (the string ``g`` and a newline) passed ``^[\w+=,.@-]+$``, and the
    name then split every problem line that printed it. Python's ``\Z`` is ECMA's ``$``.
    """
    out: list[str] = []
    escaped = in_class = False
    for char in pattern:
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
        elif char == "$":
            out.append(r"\Z")
            continue
        out.append(char)
    return "".join(out)


@cache
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(_ecma_pattern(pattern))


def _pattern(validator: Any, pattern: str, instance: Any, schema: Any) -> Iterator[ValidationError]:
    if validator.is_type(instance, "string") and not _compiled(pattern).search(instance):
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


#: ``x-format``: what a string must mean beyond its shape, checked by the parser that reads it later (so a
#: value the schema accepts is one the product can use). Each raises on a value it cannot read.
_FORMATS: dict[str, Any] = {
    "cron": parse_cron,
    "duration": parse_duration,
    "timezone": parse_timezone,
    "expiry": expiry_instant,
}


def _x_format(validator: Any, format_name: str, instance: Any, schema: Any) -> Iterator[ValidationError]:
    if not validator.is_type(instance, "string"):
        return
    pattern = schema.get("pattern")
    if isinstance(pattern, str) and not _compiled(pattern).search(instance):
        return  # the pattern's own problem says what is wrong with its shape
    try:
        _FORMATS[format_name](instance)
    except (ScheduleError, ExpiryFormatError) as exc:
        yield ValidationError(str(exc))


def _is_integer(checker: Any, instance: Any) -> bool:
    # jsonschema counts 20.0 as an integer; YAML's 20.0 is a float, and boto3 refuses a float where
    # AWS wants an integer, so only a YAML integer is one.
    return isinstance(instance, int) and not isinstance(instance, bool)


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

    return validators.extend(
        validator_class,
        {"properties": set_defaults, "pattern": _pattern, "x-format": _x_format},
        type_checker=validator_class.TYPE_CHECKER.redefine("integer", _is_integer),
    )


_DefaultingValidator = _fill_defaults(Draft202012Validator)


def _inline(node: Any, resolver: Any, within: frozenset[int] = frozenset()) -> Any:
    """``node`` with every ``$ref`` replaced by the (inlined) schema it names.

    Resolving a ``$ref`` through the registry on every use was two thirds of validating a manifest;
    the schemas are not recursive, so each kind's schema is inlined once. A ``$ref`` with sibling
    keywords becomes ``allOf`` (both apply, as in 2020-12), and a ``default`` of the referenced
    schema stays visible to the defaults filler. A recursive reference, should one appear, is left
    to the resolver.
    """
    if isinstance(node, list):
        return [_inline(item, resolver, within) for item in node]
    if not isinstance(node, dict):
        return node
    ref = node.get("$ref")
    rest = {key: _inline(value, resolver, within) for key, value in node.items() if key != "$ref"}
    if not isinstance(ref, str):
        return rest
    resolved = resolver.lookup(ref)
    if id(resolved.contents) in within:
        return {"$ref": ref, **rest}
    inner = _inline(resolved.contents, resolved.resolver, within | {id(resolved.contents)})
    if not rest:
        return inner
    if "default" in inner and "default" not in rest:
        rest["default"] = inner["default"]
    return {**rest, "allOf": [*rest.get("allOf", []), inner]}


@cache
def _validator(schema_file: str) -> Any:
    registry = _registry()
    schema = _inline(registry.contents(schema_file), registry.resolver(schema_file))
    return _DefaultingValidator(schema, registry=registry)


@cache
def _compiled_check(schema_file: str) -> Check | None:
    return compile_schema(
        _validator(schema_file).schema, frozenset(_DefaultingValidator.VALIDATORS), _compiled, _FORMATS
    )


def validate(schema_file: str, document: dict[str, Any]) -> list[ValidationError]:
    """Validate ``document`` against ``schema_file`` (in :func:`schema_dir`), filling in defaults in place;
    return the most specific errors.

    The compiled schema (:mod:`reconciler.manifests.compiled`) tells a valid document, its defaults filled in;
    a document it finds invalid is put back as it was and validated by jsonschema, which names the problems."""
    check = _compiled_check(schema_file)
    if check is not None:
        added: Added = []
        if check(document, True, added):
            return []
        for mapping, key in reversed(added):
            del mapping[key]
    errors = sorted(_validator(schema_file).iter_errors(document), key=lambda e: list(e.path))
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
    """``value`` as JSON, on one line (control characters escaped), cut at ``limit`` characters."""
    text = printable(json.dumps(value, ensure_ascii=False, default=str))
    return text if len(text) <= limit else text[: limit - 3] + "..."


# The words of the messages: YAML's, on both sides of "expected X, got Y".
_TYPE_WORDS = {"object": "mapping", "array": "list"}
BOOLEAN_HINT = "(quote it: YAML reads yes/no/on/off/true/false as booleans)"
NUMBER_HINT = "(quote it: YAML reads unquoted digits as a number)"


class Described(NamedTuple):
    """One validation problem, ready to print."""

    path: tuple[str | int, ...]
    """The field the problem is about (printed as ``spec.a.b``)."""
    message: str
    at: tuple[str | int, ...]
    """The node to point at: ``path`` itself, or one of its keys."""
    key: bool = False
    """Point at the node's key rather than at its value."""


def describe_all(errors: list[ValidationError]) -> list[Described]:
    """Every problem of ``errors``, without the redundant ones.

    An empty string (or key) that also fails a ``pattern`` is reported as empty only.
    """
    described = [(error, d) for error in errors for d in describe(error)]
    empty = {(d.at, d.key) for error, d in described if error.validator == "minLength" and error.instance == ""}
    return [
        d
        for error, d in described
        if not (error.validator == "pattern" and error.instance == "" and (d.at, d.key) in empty)
    ]


def describe(error: ValidationError) -> list[Described]:
    """The problems one jsonschema error stands for (one per unknown field of an object)."""
    path = tuple(error.absolute_path)
    custom = _custom_message(error)
    if custom is not None:
        return [Described(path, custom, path)]
    if _is_key_error(error):
        # propertyNames: the instance is the key itself; the path is the mapping's.
        name = str(error.instance)
        return [Described(path, _message(error, subject=f"key {_short(name)}", empty="key"), (*path, name), True)]
    instance = error.instance
    if error.validator == "additionalProperties" and isinstance(instance, dict):
        allowed = sorted(error.schema.get("properties", {}))
        extra = [k for k in instance if k not in allowed]
        if extra:
            problems = []
            for name in extra:
                hint = difflib.get_close_matches(name, allowed, n=1)
                suggestion = (
                    f"; did you mean '{hint[0]}'?" if hint else (f"; allowed: {', '.join(allowed)}" if allowed else "")
                )
                field = (*path, name)
                problems.append(Described(field, f"unknown field '{printable(name)}'{suggestion}", field, True))
            return problems
    if error.validator == "required":
        return [Described(path, f"missing required field '{_required_name(error)}'", path, True)]
    return [Described(path, _message(error, subject=_short(instance), empty="string"), path)]


def _is_key_error(error: ValidationError) -> bool:
    """Whether ``error`` is about a mapping key (it comes from a ``propertyNames`` subschema)."""
    schema_path = list(error.absolute_schema_path)
    return any(
        part == "propertyNames" and (i == 0 or schema_path[i - 1] != "properties") for i, part in enumerate(schema_path)
    )


_REQUIRED = re.compile(r"(?s)(?P<name>.*) is a required property")


def _required_name(error: ValidationError) -> str:
    """The missing property of a ``required`` error: jsonschema yields one error per missing property."""
    match = _REQUIRED.fullmatch(error.message)
    if match is not None:
        try:
            name = ast.literal_eval(match["name"])
        except (ValueError, SyntaxError):
            name = None
        if isinstance(name, str):
            return name
    instance = error.instance
    missing = [m for m in error.validator_value if isinstance(instance, dict) and m not in instance]
    return str(missing[0]) if missing else "?"


def _message(error: ValidationError, *, subject: str, empty: str) -> str:
    """The one-line message of ``error``; ``subject`` names the offending string (a value or a key)."""
    validator = error.validator
    instance = error.instance
    limit = error.validator_value
    if validator == "type":
        names = limit if isinstance(limit, list) else [limit]
        expected = " or ".join(_TYPE_WORDS.get(str(n), str(n)) for n in names)
        got = _type_name(instance) + ("" if instance is None else f" {_short(instance)}")
        message = f"expected {expected}, got {got}"
        if "string" in names:
            message += _quote_hint(instance)
        return message
    if validator in ("enum", "const"):
        options = limit if validator == "enum" else [limit]
        message = f"{subject} is not one of {', '.join(_short(o) for o in options)}"
        if isinstance(instance, bool) and any(isinstance(o, str) for o in options):
            message += " " + BOOLEAN_HINT
        return message
    if validator == "pattern":
        return f"{subject} does not match the expected format {limit}"
    if validator == "x-format":
        return printable(error.message)
    if validator == "not" and isinstance(limit, dict) and "required" in limit:
        return f"{' and '.join(limit['required'])} cannot be used together"
    if validator == "oneOf":
        return "matches more than one of the allowed forms"
    if validator == "minLength" and isinstance(instance, str):
        if limit == 1:
            return f"{empty} must not be empty"
        return f"{subject} is too short: {len(instance)} characters, at least {limit}"
    if validator == "maxLength" and isinstance(instance, str):
        return f"{subject} is too long: {len(instance)} characters, the limit is {limit}"
    if validator == "minItems" and isinstance(instance, list):
        if limit == 1:
            return "list must not be empty"
        return f"list has {_count(len(instance), 'item')}; at least {limit} are required"
    if validator == "maxItems" and isinstance(instance, list):
        return f"list has {_count(len(instance), 'item')}; the limit is {limit}"
    if validator == "minProperties" and isinstance(instance, dict):
        if limit == 1:
            return "mapping must not be empty"
        return f"mapping has {_count(len(instance), 'entry', 'entries')}; at least {limit} are required"
    if validator == "maxProperties" and isinstance(instance, dict):
        return f"mapping has {_count(len(instance), 'entry', 'entries')}; the limit is {limit}"
    if validator == "minimum":
        return f"{subject} is less than the minimum of {_short(limit)}"
    if validator == "maximum":
        return f"{subject} is greater than the maximum of {_short(limit)}"
    if validator == "exclusiveMinimum":
        return f"{subject} must be greater than {_short(limit)}"
    if validator == "exclusiveMaximum":
        return f"{subject} must be less than {_short(limit)}"
    if validator == "uniqueItems" and isinstance(instance, list):
        duplicate = _first_duplicate(instance)
        if duplicate is None:
            return "list has duplicate items"
        first, again = duplicate
        return f"list has duplicate items: {_short(instance[again])} at [{first}] and [{again}]"
    # A keyword the schemas do not use today: jsonschema's own text, on one line and bounded.
    text = printable(error.message)
    return text if len(text) <= 200 else text[:197] + "..."


def _quote_hint(instance: Any) -> str:
    if isinstance(instance, bool):
        return " " + BOOLEAN_HINT
    if isinstance(instance, int | float):
        return " " + NUMBER_HINT
    return ""


def _count(n: int, singular: str, plural: str | None = None) -> str:
    return f"{n} {singular if n == 1 else plural or singular + 's'}"


def _uniqueness_key(value: Any) -> Any:
    """A hashable stand-in for ``value``, equal as ``uniqueItems`` compares: ``true`` is not ``1``, ``1`` is ``1.0``."""
    if isinstance(value, bool):
        return ("boolean", value)
    if isinstance(value, list):
        return ("list", tuple(_uniqueness_key(v) for v in value))
    if isinstance(value, dict):
        return ("mapping", frozenset((k, _uniqueness_key(v)) for k, v in value.items()))
    return ("scalar", value)


def _first_duplicate(items: list[Any]) -> tuple[int, int] | None:
    """(index of the first occurrence, index of the repetition) of the first item that repeats an earlier one."""
    seen: dict[Any, int] = {}
    for index, item in enumerate(items):
        try:
            first = seen.setdefault(_uniqueness_key(item), index)
        except TypeError:  # not hashable after all: give up naming it
            return None
        if first != index:
            return first, index
    return None


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
