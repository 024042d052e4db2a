"""Reading a policy document: the one parser of IAM policy documents.

:func:`parse_policy` turns a document (a mapping, a JSON string or URL-encoded JSON) into a
:class:`PolicyDocument` of :class:`PolicyStatement` values: every element checked and typed, every
value in one form whatever its spelling (see the package docstring), in the order and case written.
Comparison by meaning (:mod:`reconciler.policydoc.canonical`), plan output
(:mod:`reconciler.policydoc.render`) and the security rules (``reconciler.facts.model``) all read
documents through it, so they never disagree on what a document says.
"""

from __future__ import annotations

import json
import math
import re
import urllib.parse
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Final, TypeAlias

from reconciler.errors import ReconcilerError

__all__ = [
    "DEFAULT_VERSION",
    "PolicyDocument",
    "PolicyDocumentError",
    "PolicyInput",
    "PolicyStatement",
    "as_list",
    "json_type",
    "parse_document",
    "parse_policy",
    "parse_statement",
]

PolicyInput: TypeAlias = str | Mapping[str, Any]
"""What the public functions accept: a mapping, a JSON string, or a URL-encoded JSON string."""

DEFAULT_VERSION: Final = "2008-10-17"
"""The policy language version AWS assumes when a document has no ``Version``."""

#: A document's elements and a statement's, in the order IAM writes them.
TOP_LEVEL_ORDER: Final = ("Version", "Id", "Statement")
STATEMENT_ORDER: Final = (
    "Sid",
    "Effect",
    "Principal",
    "NotPrincipal",
    "Action",
    "NotAction",
    "Resource",
    "NotResource",
    "Condition",
)
TOP_LEVEL_ELEMENTS: Final = frozenset(TOP_LEVEL_ORDER)
STATEMENT_ELEMENTS: Final = frozenset(STATEMENT_ORDER)
_EXCLUSIVE_PAIRS: Final = (
    ("Action", "NotAction"),
    ("Resource", "NotResource"),
    ("Principal", "NotPrincipal"),
)
_ACCOUNT_ID: Final = re.compile(r"[0-9]{12}")  # ASCII digits only: str.isdigit() would take any script's
_EXCERPT_CHARS: Final = 60

Principals: TypeAlias = Mapping[str, tuple[str, ...]]
"""Principal type (``AWS``, ``Service``...) -> identifiers, in the order written."""
Conditions: TypeAlias = Mapping[str, Mapping[str, tuple[str, ...]]]
"""Operator -> condition key (as written; unique ignoring case) -> values as strings."""


class PolicyDocumentError(ReconcilerError, ValueError):
    """A policy document that cannot be read or is not a well-formed IAM policy."""


@dataclass(frozen=True)
class PolicyStatement:
    """One statement, read and checked: each element typed, each value in its one form.

    ``None`` means the element is absent. Lists keep the order, duplicates and case as written (the
    canonical form sorts, de-duplicates and folds case: :func:`reconciler.policydoc.normalise`).
    Values are normalised as AWS reads them: a principal given as a 12-digit account id under ``AWS``
    is that account's root ARN, ``"*"`` is ``{"AWS": ("*",)}``; condition values are strings
    (``true``/``false``, decimal numbers, ISO 8601 dates); an empty condition block, which constrains
    nothing, is left out, so ``condition`` is empty exactly when the statement is unconditional.
    """

    effect: str
    sid: str | None = None
    action: tuple[str, ...] | None = None
    not_action: tuple[str, ...] | None = None
    resource: tuple[str, ...] | None = None
    not_resource: tuple[str, ...] | None = None
    principal: Principals | None = None
    not_principal: Principals | None = None
    condition: Conditions = field(default_factory=dict)

    @property
    def allow(self) -> bool:
        return self.effect == "Allow"

    @property
    def deny(self) -> bool:
        return self.effect == "Deny"

    def condition_keys(self) -> frozenset[str]:
        """The condition keys tested, lower-cased (IAM condition keys are case-insensitive)."""
        return frozenset(key.lower() for block in self.condition.values() for key in block)

    def condition_values(self, operator_prefix: str, key: str) -> tuple[str, ...] | None:
        """Values of ``key`` (any case) under an operator named ``operator_prefix`` (exactly, or with IfExists)."""
        wanted = key.lower()
        for operator, block in self.condition.items():
            if operator in (operator_prefix, f"{operator_prefix}IfExists"):
                for name, values in block.items():
                    if name.lower() == wanted:
                        return values
        return None


@dataclass(frozen=True)
class PolicyDocument:
    """A whole document, read and checked: ``version`` defaults to :data:`DEFAULT_VERSION`."""

    version: str
    id: str | None
    statements: tuple[PolicyStatement, ...]


# --- the document ------------------------------------------------------------------------------


def parse_document(doc: PolicyInput) -> dict[str, Any]:
    """Return the top-level mapping of ``doc`` (a mapping, a JSON string or URL-encoded JSON).

    A string is URL-decoded only when it is not valid JSON as it stands, so a JSON document whose
    values contain ``%`` sequences is never altered. Nothing is checked or normalised here (see
    :func:`parse_policy`); the result is a shallow copy.
    """
    parsed: object
    if isinstance(doc, Mapping):
        parsed = doc
    elif isinstance(doc, str):
        parsed = _load_json(doc)
    else:
        raise PolicyDocumentError(f"policy document must be a mapping or a JSON string, not {type(doc).__name__}")
    if not isinstance(parsed, Mapping):
        raise PolicyDocumentError(f"policy document must be a JSON object, not {json_type(parsed)}")
    for key in parsed:
        if not isinstance(key, str):
            raise PolicyDocumentError(f"policy document has a non-string key {key!r}")
    return dict(parsed)


def parse_policy(doc: PolicyInput) -> PolicyDocument:
    """Read and check ``doc``: its statements typed and normalised, in the order written.

    Raises :class:`PolicyDocumentError` when ``doc`` is unreadable or not a well-formed IAM policy:
    an unknown element (usually a typo such as ``Resources``), a mutually exclusive pair, a missing
    ``Statement`` or ``Effect``, a value of the wrong type, a condition key twice under one operator.
    """
    raw = parse_document(doc)
    unknown = sorted(set(raw) - TOP_LEVEL_ELEMENTS)
    if unknown:
        raise PolicyDocumentError(
            f"policy document has unknown element(s) {', '.join(unknown)}"
            f" (allowed: {', '.join(sorted(TOP_LEVEL_ELEMENTS))})"
        )
    if "Statement" not in raw:
        raise PolicyDocumentError("policy document has no Statement")
    version = _version(raw.get("Version", DEFAULT_VERSION))
    label = _label(raw["Id"], "Id") if raw.get("Id") is not None else None
    return PolicyDocument(version, label, _statements(raw["Statement"]))


def _statements(value: object) -> tuple[PolicyStatement, ...]:
    items: list[object]
    if isinstance(value, Mapping):
        items = [value]
    elif isinstance(value, list | tuple):
        items = list(value)
    else:
        raise PolicyDocumentError(f"Statement must be an object or a list of objects, not {json_type(value)}")
    out = []
    for index, item in enumerate(items):
        where = f"Statement[{index}]"
        if not isinstance(item, Mapping):
            raise PolicyDocumentError(f"{where} must be an object, not {json_type(item)}")
        out.append(parse_statement(item, where))
    return tuple(out)


def _load_json(text: str) -> object:
    if not text.strip():
        raise PolicyDocumentError("policy document is an empty string")
    try:
        return json.loads(text)
    except json.JSONDecodeError as plain_error:
        decoded = urllib.parse.unquote(text)
        if decoded == text:
            raise PolicyDocumentError(
                f"policy document is not valid JSON ({plain_error}): {_excerpt(text)}"
            ) from plain_error
        try:
            return json.loads(decoded)
        except json.JSONDecodeError as decoded_error:
            raise PolicyDocumentError(
                f"policy document is neither JSON nor URL-encoded JSON ({decoded_error}): {_excerpt(text)}"
            ) from decoded_error


def _excerpt(text: str) -> str:
    return repr(text if len(text) <= _EXCERPT_CHARS else text[:_EXCERPT_CHARS] + "...")


def json_type(value: object) -> str:
    """How a value is named in error messages: its JSON type ("a list", "null"...)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, Sequence):
        return "a list"
    if isinstance(value, Mapping):
        return "an object"
    return type(value).__name__


def _version(value: object) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, date) and not isinstance(value, datetime):
        # YAML reads an unquoted ``Version: 2012-10-17`` as a date.
        return value.isoformat()
    raise PolicyDocumentError(f'Version must be a string such as "2012-10-17", not {json_type(value)}')


def _label(value: object, where: str) -> str:
    """Sid and Id: strings; YAML may have produced an int from an unquoted numeric label."""
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    raise PolicyDocumentError(f"{where} must be a string, not {json_type(value)}")


# --- one statement -----------------------------------------------------------------------------


def parse_statement(raw: Mapping[str, Any], where: str = "statement") -> PolicyStatement:
    """Read and check one statement (``where`` names it in error messages)."""
    for key in raw:
        if not isinstance(key, str) or key not in STATEMENT_ELEMENTS:
            raise PolicyDocumentError(
                f"{where} has unknown element {key!r} (allowed: {', '.join(sorted(STATEMENT_ELEMENTS))})"
            )
    for first, second in _EXCLUSIVE_PAIRS:
        if first in raw and second in raw:
            raise PolicyDocumentError(f"{where} has both {first} and {second}; a statement may have only one")
    sid = _label(raw["Sid"], f"{where}.Sid") if raw.get("Sid") is not None else None
    if "Effect" not in raw:
        raise PolicyDocumentError(f"{where} has no Effect")
    effect = raw["Effect"]
    if not isinstance(effect, str):
        raise PolicyDocumentError(f'{where}.Effect must be "Allow" or "Deny", not {json_type(effect)}')

    def strings(element: str) -> tuple[str, ...] | None:
        return tuple(_strings(raw[element], f"{where}.{element}")) if element in raw else None

    def principal(element: str) -> Principals | None:
        return _principal(raw[element], f"{where}.{element}") if element in raw else None

    return PolicyStatement(
        effect=effect,
        sid=sid or None,
        action=strings("Action"),
        not_action=strings("NotAction"),
        resource=strings("Resource"),
        not_resource=strings("NotResource"),
        principal=principal("Principal"),
        not_principal=principal("NotPrincipal"),
        condition=_condition(raw["Condition"], f"{where}.Condition") if "Condition" in raw else {},
    )


def as_list(value: Any) -> list[str]:
    """A policy element that may be one string or a list of strings, as a list (order kept).

    ``None`` (element absent) gives ``[]``. Anything else than strings raises
    :class:`PolicyDocumentError`. No de-duplication or case folding: use
    :func:`reconciler.policydoc.statements` for that.
    """
    if value is None:
        return []
    return _strings(value, "value")


def _strings(value: object, where: str) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list | tuple):
        for index, item in enumerate(value):
            if not isinstance(item, str):
                raise PolicyDocumentError(f"{where}[{index}] must be a string, not {json_type(item)}")
        return list(value)
    raise PolicyDocumentError(f"{where} must be a string or a list of strings, not {json_type(value)}")


def _principal(value: object, where: str) -> Principals:
    if value == "*":
        return {"AWS": ("*",)}
    if isinstance(value, str):
        raise PolicyDocumentError(f'{where} must be "*" or an object such as {{"AWS": ...}}, not {value!r}')
    if not isinstance(value, Mapping):
        raise PolicyDocumentError(f'{where} must be "*" or an object, not {json_type(value)}')
    out: dict[str, tuple[str, ...]] = {}
    for kind, raw_ids in value.items():
        if not isinstance(kind, str):
            raise PolicyDocumentError(f"{where} has a non-string principal type {kind!r}")
        items = raw_ids if isinstance(raw_ids, list | tuple) else [raw_ids]
        out[kind] = tuple(_principal_id(kind, item, f"{where}.{kind}[{index}]") for index, item in enumerate(items))
    return out


def _principal_id(kind: str, value: object, where: str) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)  # YAML reads an unquoted account id as an int.
    if not isinstance(value, str):
        raise PolicyDocumentError(f"{where} must be a string, not {json_type(value)}")
    if kind == "AWS" and _ACCOUNT_ID.fullmatch(value):
        return f"arn:aws:iam::{value}:root"
    return value


def _condition(value: object, where: str) -> Conditions:
    if not isinstance(value, Mapping):
        raise PolicyDocumentError(f"{where} must be an object, not {json_type(value)}")
    out: dict[str, dict[str, tuple[str, ...]]] = {}
    for operator, block in value.items():
        if not isinstance(operator, str):
            raise PolicyDocumentError(f"{where} has a non-string operator {operator!r}")
        if not isinstance(block, Mapping):
            raise PolicyDocumentError(f"{where}.{operator} must be an object, not {json_type(block)}")
        keys: dict[str, tuple[str, ...]] = {}
        seen: set[str] = set()
        for key, raw_values in block.items():
            if not isinstance(key, str):
                raise PolicyDocumentError(f"{where}.{operator} has a non-string condition key {key!r}")
            if key.lower() in seen:
                raise PolicyDocumentError(
                    f"{where}.{operator} has condition key {key!r} more than once (keys are case-insensitive)"
                )
            seen.add(key.lower())
            items = raw_values if isinstance(raw_values, list | tuple) else [raw_values]
            keys[key] = tuple(_condition_value(item, f"{where}.{operator}.{key}") for item in items)
        if keys:
            out[operator] = keys
    return out


def _condition_value(value: object, where: str) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise PolicyDocumentError(f"{where} must be a finite number, not {value!r}")
        return repr(value)
    if isinstance(value, datetime):
        if value.utcoffset() == timedelta(0):
            return value.replace(tzinfo=None).isoformat() + "Z"
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    raise PolicyDocumentError(
        f"{where} must be a string, number or boolean (or a list of them), not {json_type(value)}"
    )
