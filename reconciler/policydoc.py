"""IAM policy documents compared by meaning, not by spelling.

Policies reach the reconciler from two sides that spell the same thing differently: the YAML
manifests (a mapping, in which YAML may have turned ``true`` into a bool, ``123456789012`` into an
int and an unquoted ``2012-10-17`` into a date) and AWS (a mapping, a JSON string, or a URL-encoded
JSON string, depending on the API). :func:`normalise` maps both to one canonical form, so that an
unchanged policy never shows up in a plan and a changed one can be shown statement by statement
(:func:`diff_documents`, :func:`render_statement`).

The canonical form (everything is pure: no I/O, no AWS calls):

* ``Version`` is kept; a missing one becomes ``"2008-10-17"``, as AWS does. ``Id`` is kept if present.
* ``Statement`` is always a list, sorted by each statement's canonical JSON, without exact
  duplicates (a repeated statement grants nothing more).
* In each statement: ``Effect`` as written (AWS treats it case-sensitively); ``Sid`` kept (it is not
  semantic, but a renamed Sid is a real change to the stored document) and dropped when empty.
* ``Action``/``NotAction``: a sorted list of unique, **lower-cased** names. IAM matches action
  names case-insensitively (``s3:GetObject`` == ``s3:getobject``); lower case is the one form that
  needs no catalogue of actions. Consequence: canonical statements show lower-case actions.
* ``Resource``/``NotResource``: a sorted list of unique strings, **case kept**: ARNs are
  case-sensitive in their resource part (S3 keys, role names in paths...), so folding case would
  make different resources look equal.
* ``Principal``/``NotPrincipal``: a mapping of principal type -> sorted unique list; ``"*"`` is
  ``{"AWS": ["*"]}``; a bare 12-digit account id under ``AWS`` becomes
  ``arn:aws:iam::<id>:root`` (which is what AWS stores; ids are assumed to be in the ``aws``
  partition). Other values keep their case.
* ``Condition``: operator (as written) -> condition key (lower-cased: IAM condition keys are
  case-insensitive) -> sorted unique list of strings. Values keep their case (``StringEquals`` is
  case-sensitive); ``True``/``False`` become ``"true"``/``"false"``, numbers their decimal string,
  YAML dates/timestamps their ISO 8601 text (UTC as ``Z``). Empty operator blocks and an empty
  ``Condition`` are dropped: they constrain nothing.

Element names (``Statement``, ``Effect``, ...) are case-sensitive and must be the known ones: an
unknown element (usually a typo such as ``Resources``) is an error rather than silently ignored,
as are mutually exclusive pairs (``Action`` with ``NotAction``...) and a condition key that appears
twice under one operator once case is folded.
"""

from __future__ import annotations

import json
import math
import re
import urllib.parse
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Any, Final, TypeAlias

from reconciler.errors import ReconcilerError

__all__ = [
    "DEFAULT_VERSION",
    "PolicyDocumentError",
    "PolicyInput",
    "StatementDiff",
    "action_matches",
    "as_list",
    "canonical_action",
    "canonical_json",
    "diff_documents",
    "equivalent",
    "normalise",
    "parse_document",
    "render_statement",
    "statements",
]

PolicyInput: TypeAlias = str | Mapping[str, Any]
"""What the public functions accept: a mapping, a JSON string, or a URL-encoded JSON string."""

DEFAULT_VERSION: Final = "2008-10-17"
"""The policy language version AWS assumes when a document has no ``Version``."""

_TOP_LEVEL_ELEMENTS: Final = frozenset({"Version", "Id", "Statement"})
_STATEMENT_ELEMENTS: Final = frozenset(
    {
        "Sid",
        "Effect",
        "Principal",
        "NotPrincipal",
        "Action",
        "NotAction",
        "Resource",
        "NotResource",
        "Condition",
    }
)
_EXCLUSIVE_PAIRS: Final = (
    ("Action", "NotAction"),
    ("Resource", "NotResource"),
    ("Principal", "NotPrincipal"),
)
_ACCOUNT_ID: Final = re.compile(r"[0-9]{12}")
_EXCERPT_CHARS: Final = 60


class PolicyDocumentError(ReconcilerError, ValueError):
    """A policy document that cannot be read or is not a well-formed IAM policy."""


# --- parsing -----------------------------------------------------------------------------------


def parse_document(doc: PolicyInput) -> dict[str, Any]:
    """Return the top-level mapping of ``doc`` (a mapping, a JSON string or URL-encoded JSON).

    A string is URL-decoded only when it is not valid JSON as it stands, so a JSON document whose
    values contain ``%`` sequences is never altered. Nothing is normalised here (see
    :func:`normalise`); the result is a shallow copy.
    """
    parsed: object
    if isinstance(doc, Mapping):
        parsed = doc
    elif isinstance(doc, str):
        parsed = _load_json(doc)
    else:
        raise PolicyDocumentError(f"policy document must be a mapping or a JSON string, not {type(doc).__name__}")
    if not isinstance(parsed, Mapping):
        raise PolicyDocumentError(f"policy document must be a JSON object, not {_json_type(parsed)}")
    for key in parsed:
        if not isinstance(key, str):
            raise PolicyDocumentError(f"policy document has a non-string key {key!r}")
    return dict(parsed)


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


def _json_type(value: object) -> str:
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


# --- normalisation -----------------------------------------------------------------------------


def normalise(doc: PolicyInput) -> dict[str, Any]:
    """Return the canonical form of ``doc`` (see the module docstring). Idempotent.

    Raises :class:`PolicyDocumentError` when ``doc`` is unreadable or malformed.
    """
    raw = parse_document(doc)
    unknown = sorted(set(raw) - _TOP_LEVEL_ELEMENTS)
    if unknown:
        raise PolicyDocumentError(
            f"policy document has unknown element(s) {', '.join(unknown)}"
            f" (allowed: {', '.join(sorted(_TOP_LEVEL_ELEMENTS))})"
        )
    if "Statement" not in raw:
        raise PolicyDocumentError("policy document has no Statement")
    out: dict[str, Any] = {"Version": _version(raw.get("Version", DEFAULT_VERSION))}
    if "Id" in raw and raw["Id"] is not None:
        out["Id"] = _label(raw["Id"], "Id")
    out["Statement"] = _normalise_statements(raw["Statement"])
    return out


def statements(doc: PolicyInput) -> list[dict[str, Any]]:
    """The canonical statements of ``doc`` (actions lower-cased, see :func:`canonical_action`)."""
    result: list[dict[str, Any]] = normalise(doc)["Statement"]
    return result


def canonical_json(doc: PolicyInput) -> str:
    """Deterministic compact JSON of the canonical form: equal for exactly the equivalent documents."""
    return _dumps(normalise(doc))


def equivalent(a: PolicyInput, b: PolicyInput) -> bool:
    """True when AWS treats ``a`` and ``b`` as the same policy."""
    return normalise(a) == normalise(b)


def as_list(value: Any) -> list[str]:
    """A policy element that may be one string or a list of strings, as a list (order kept).

    ``None`` (element absent) gives ``[]``. Anything else than strings raises
    :class:`PolicyDocumentError`. No de-duplication or case folding: use :func:`statements` for that.
    """
    if value is None:
        return []
    return _strings(value, "value")


def canonical_action(action: str) -> str:
    """The form in which action names appear in canonical statements (IAM ignores their case)."""
    return action.lower()


@lru_cache(maxsize=16384)
def action_regex(pattern: str) -> re.Pattern[str]:
    """An action pattern (``*``/``?`` wildcards) as a regex over lower-cased ``service:Name``.

    Compiled once per pattern: AWS managed policies hold thousands of patterns, more than ``re``'s own
    cache keeps, and the rules ask about each of them for every principal that attaches the policy.
    """
    return re.compile(
        "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern.lower()), re.DOTALL
    )


@lru_cache(maxsize=4096)
def actions_regex(patterns: tuple[str, ...]) -> re.Pattern[str]:
    """One regex for a list of action patterns (any of them): an AWS managed policy's statement can
    list thousands, and one match in C beats a Python loop over as many regexes."""
    return re.compile("|".join(f"(?:{action_regex(p).pattern})" for p in patterns), re.DOTALL)


def action_matches(pattern: str, action: str) -> bool:
    """Whether the IAM action ``pattern`` (``*`` and ``?`` wildcards allowed) covers ``action``.

    Case-insensitive, as IAM is: ``action_matches("IAM:Pass*", "iam:PassRole")`` is true.
    """
    return action_regex(pattern).fullmatch(action.lower()) is not None


def _version(value: object) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, date) and not isinstance(value, datetime):
        # YAML reads an unquoted ``Version: 2012-10-17`` as a date.
        return value.isoformat()
    raise PolicyDocumentError(f'Version must be a string such as "2012-10-17", not {_json_type(value)}')


def _label(value: object, where: str) -> str:
    """Sid and Id: strings; YAML may have produced an int from an unquoted numeric label."""
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    raise PolicyDocumentError(f"{where} must be a string, not {_json_type(value)}")


def _normalise_statements(value: object) -> list[dict[str, Any]]:
    items: list[object]
    if isinstance(value, Mapping):
        items = [value]
    elif isinstance(value, list | tuple):
        items = list(value)
    else:
        raise PolicyDocumentError(f"Statement must be an object or a list of objects, not {_json_type(value)}")
    by_key: dict[str, dict[str, Any]] = {}
    for index, item in enumerate(items):
        where = f"Statement[{index}]"
        if not isinstance(item, Mapping):
            raise PolicyDocumentError(f"{where} must be an object, not {_json_type(item)}")
        stmt = _statement(item, where, fold_case=True)
        by_key.setdefault(_dumps(stmt), stmt)
    return [by_key[key] for key in sorted(by_key)]


def _statement(raw: Mapping[str, Any], where: str, *, fold_case: bool) -> dict[str, Any]:
    """One statement in canonical form; ``fold_case=False`` keeps the case of actions and keys (display)."""
    for key in raw:
        if not isinstance(key, str) or key not in _STATEMENT_ELEMENTS:
            raise PolicyDocumentError(
                f"{where} has unknown element {key!r} (allowed: {', '.join(sorted(_STATEMENT_ELEMENTS))})"
            )
    for first, second in _EXCLUSIVE_PAIRS:
        if first in raw and second in raw:
            raise PolicyDocumentError(f"{where} has both {first} and {second}; a statement may have only one")
    out: dict[str, Any] = {}
    sid = raw.get("Sid")
    if sid is not None:
        label = _label(sid, f"{where}.Sid")
        if label:
            out["Sid"] = label
    if "Effect" not in raw:
        raise PolicyDocumentError(f"{where} has no Effect")
    effect = raw["Effect"]
    if not isinstance(effect, str):
        raise PolicyDocumentError(f'{where}.Effect must be "Allow" or "Deny", not {_json_type(effect)}')
    out["Effect"] = effect
    for element in ("Action", "NotAction"):
        if element in raw:
            names = _strings(raw[element], f"{where}.{element}")
            out[element] = _sorted_unique([canonical_action(n) for n in names] if fold_case else names)
    for element in ("Resource", "NotResource"):
        if element in raw:
            out[element] = _sorted_unique(_strings(raw[element], f"{where}.{element}"))
    for element in ("Principal", "NotPrincipal"):
        if element in raw:
            out[element] = _principal(raw[element], f"{where}.{element}")
    if "Condition" in raw:
        condition = _condition(raw["Condition"], f"{where}.Condition", fold_case=fold_case)
        if condition:
            out["Condition"] = condition
    return out


def _strings(value: object, where: str) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list | tuple):
        for index, item in enumerate(value):
            if not isinstance(item, str):
                raise PolicyDocumentError(f"{where}[{index}] must be a string, not {_json_type(item)}")
        return list(value)
    raise PolicyDocumentError(f"{where} must be a string or a list of strings, not {_json_type(value)}")


def _sorted_unique(values: list[str]) -> list[str]:
    return sorted(set(values))


def _principal(value: object, where: str) -> dict[str, list[str]]:
    if value == "*":
        return {"AWS": ["*"]}
    if isinstance(value, str):
        raise PolicyDocumentError(f'{where} must be "*" or an object such as {{"AWS": ...}}, not {value!r}')
    if not isinstance(value, Mapping):
        raise PolicyDocumentError(f'{where} must be "*" or an object, not {_json_type(value)}')
    out: dict[str, list[str]] = {}
    for kind, raw_ids in value.items():
        if not isinstance(kind, str):
            raise PolicyDocumentError(f"{where} has a non-string principal type {kind!r}")
        items = raw_ids if isinstance(raw_ids, list | tuple) else [raw_ids]
        out[kind] = _sorted_unique(
            [_principal_id(kind, item, f"{where}.{kind}[{index}]") for index, item in enumerate(items)]
        )
    return out


def _principal_id(kind: str, value: object, where: str) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)  # YAML reads an unquoted account id as an int.
    if not isinstance(value, str):
        raise PolicyDocumentError(f"{where} must be a string, not {_json_type(value)}")
    if kind == "AWS" and _ACCOUNT_ID.fullmatch(value):
        return f"arn:aws:iam::{value}:root"
    return value


def _condition(value: object, where: str, *, fold_case: bool) -> dict[str, dict[str, list[str]]]:
    if not isinstance(value, Mapping):
        raise PolicyDocumentError(f"{where} must be an object, not {_json_type(value)}")
    out: dict[str, dict[str, list[str]]] = {}
    for operator, block in value.items():
        if not isinstance(operator, str):
            raise PolicyDocumentError(f"{where} has a non-string operator {operator!r}")
        if not isinstance(block, Mapping):
            raise PolicyDocumentError(f"{where}.{operator} must be an object, not {_json_type(block)}")
        keys: dict[str, list[str]] = {}
        for key, raw_values in block.items():
            if not isinstance(key, str):
                raise PolicyDocumentError(f"{where}.{operator} has a non-string condition key {key!r}")
            canonical_key = key.lower() if fold_case else key
            if canonical_key in keys:
                raise PolicyDocumentError(
                    f"{where}.{operator} has condition key {key!r} more than once (keys are case-insensitive)"
                )
            items = raw_values if isinstance(raw_values, list | tuple) else [raw_values]
            keys[canonical_key] = _sorted_unique(
                [_condition_value(item, f"{where}.{operator}.{key}") for item in items]
            )
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
        f"{where} must be a string, number or boolean (or a list of them), not {_json_type(value)}"
    )


def _dumps(value: object) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


# --- diff and display --------------------------------------------------------------------------


@dataclass(frozen=True)
class StatementDiff:
    """How two policy documents differ, in canonical form.

    ``added``: statements only in the new document; ``removed``: only in the old one (each sorted
    by canonical JSON). A statement edited in place shows as one removed and one added.
    ``changed_top``: top-level elements other than ``Statement`` that differ (e.g. ``"Version"``).
    """

    added: tuple[dict[str, Any], ...] = ()
    removed: tuple[dict[str, Any], ...] = ()
    changed_top: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        """True when the documents are equivalent."""
        return not (self.added or self.removed or self.changed_top)

    def lines(self) -> list[str]:
        """Plan-output lines: ``~ Version changed``, ``- <removed statement>``, ``+ <added statement>``."""
        return (
            [f"~ {name} changed" for name in self.changed_top]
            + [f"- {render_statement(stmt)}" for stmt in self.removed]
            + [f"+ {render_statement(stmt)}" for stmt in self.added]
        )


def diff_documents(old: PolicyInput, new: PolicyInput) -> StatementDiff:
    """Statement-level difference from ``old`` to ``new``; ``.empty`` exactly when they are equivalent."""
    old_doc, new_doc = normalise(old), normalise(new)
    old_stmts = {_dumps(s): s for s in old_doc["Statement"]}
    new_stmts = {_dumps(s): s for s in new_doc["Statement"]}
    missing = object()
    changed_top = sorted(
        name
        for name in (set(old_doc) | set(new_doc)) - {"Statement"}
        if old_doc.get(name, missing) != new_doc.get(name, missing)
    )
    return StatementDiff(
        added=tuple(new_stmts[key] for key in sorted(new_stmts.keys() - old_stmts.keys())),
        removed=tuple(old_stmts[key] for key in sorted(old_stmts.keys() - new_stmts.keys())),
        changed_top=tuple(changed_top),
    )


def render_statement(stmt: Mapping[str, Any]) -> str:
    """One line for plan output, e.g.
    ``Allow s3:GetObject, s3:ListBucket on arn:aws:s3:::b, arn:aws:s3:::b/* when StringEquals
    aws:SourceAccount=123456789012``.

    Accepts a raw or canonical statement. Lists are sorted and de-duplicated but the case of action
    names and condition keys is kept as given, so a manifest statement reads as written (canonical
    statements, as in a :class:`StatementDiff`, show lower-case actions).
    """
    if not isinstance(stmt, Mapping):
        raise PolicyDocumentError(f"statement must be an object, not {_json_type(stmt)}")
    s = _statement(stmt, "statement", fold_case=False)
    parts: list[str] = []
    if "Sid" in s:
        parts.append(f"[{s['Sid']}]")
    parts.append(s["Effect"])
    if "Action" in s:
        parts.append(_join(s["Action"]))
    elif "NotAction" in s:
        parts.append(f"all actions except {_join(s['NotAction'])}")
    else:
        parts.append("(no action)")
    if "Principal" in s:
        parts.append(f"for {_render_principal(s['Principal'])}")
    elif "NotPrincipal" in s:
        parts.append(f"for anyone except {_render_principal(s['NotPrincipal'])}")
    if "Resource" in s:
        parts.append(f"on {_join(s['Resource'])}")
    elif "NotResource" in s:
        parts.append(f"on all resources except {_join(s['NotResource'])}")
    if "Condition" in s:
        clauses = [
            f"{operator} {_render_values(key, values)}"
            for operator, block in sorted(s["Condition"].items())
            for key, values in sorted(block.items())
        ]
        parts.append("when " + " and ".join(clauses))
    return " ".join(parts)


def _join(values: list[str]) -> str:
    return ", ".join(values) if values else "(none)"


def _render_values(name: str, values: list[str]) -> str:
    if len(values) == 1:
        return f"{name}={values[0]}"
    return f"{name} in ({_join(values)})"


def _render_principal(principal: dict[str, list[str]]) -> str:
    if principal == {"AWS": ["*"]}:
        return "*"
    if not principal:
        return "(no principal)"
    return " or ".join(_render_values(kind, ids) for kind, ids in sorted(principal.items()))
