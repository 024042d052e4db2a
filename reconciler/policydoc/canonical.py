"""The canonical form of a policy document (see the package docstring): equal for exactly the
documents AWS treats as the same policy. Built from the parser's typed statements."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from reconciler.policydoc.actions import canonical_action
from reconciler.policydoc.parse import PolicyInput, PolicyStatement, Principals, parse_policy

__all__ = ["canonical_json", "dumps", "equivalent", "normalise", "statement_form", "statements"]


def normalise(doc: PolicyInput) -> dict[str, Any]:
    """Return the canonical form of ``doc`` (see the package docstring). Idempotent.

    Raises :class:`~reconciler.policydoc.PolicyDocumentError` when ``doc`` is unreadable or malformed.
    """
    policy = parse_policy(doc)
    out: dict[str, Any] = {"Version": policy.version}
    if policy.id is not None:
        out["Id"] = policy.id
    by_key: dict[str, dict[str, Any]] = {}
    for stmt in policy.statements:
        form = statement_form(stmt, fold_case=True)
        by_key.setdefault(dumps(form), form)  # a repeated statement grants nothing more
    out["Statement"] = [by_key[key] for key in sorted(by_key)]
    return out


def statements(doc: PolicyInput) -> list[dict[str, Any]]:
    """The canonical statements of ``doc`` (actions lower-cased, see :func:`canonical_action`)."""
    result: list[dict[str, Any]] = normalise(doc)["Statement"]
    return result


def canonical_json(doc: PolicyInput) -> str:
    """Deterministic compact JSON of the canonical form: equal for exactly the equivalent documents."""
    return dumps(normalise(doc))


def equivalent(a: PolicyInput, b: PolicyInput) -> bool:
    """True when AWS treats ``a`` and ``b`` as the same policy."""
    return normalise(a) == normalise(b)


def statement_form(stmt: PolicyStatement, *, fold_case: bool) -> dict[str, Any]:
    """A statement as a mapping with sorted, unique lists. ``fold_case=True``: the canonical form
    (action names and condition keys lower-cased); ``False``: their case as written (display)."""
    out: dict[str, Any] = {}
    if stmt.sid:
        out["Sid"] = stmt.sid
    out["Effect"] = stmt.effect
    for element, names in (("Action", stmt.action), ("NotAction", stmt.not_action)):
        if names is not None:
            out[element] = _sorted_unique(canonical_action(n) for n in names) if fold_case else _sorted_unique(names)
    for element, values in (("Resource", stmt.resource), ("NotResource", stmt.not_resource)):
        if values is not None:
            out[element] = _sorted_unique(values)
    for element, principal in (("Principal", stmt.principal), ("NotPrincipal", stmt.not_principal)):
        if principal is not None:
            out[element] = _principal_form(principal)
    if stmt.condition:
        out["Condition"] = {
            operator: {(key.lower() if fold_case else key): _sorted_unique(values) for key, values in block.items()}
            for operator, block in stmt.condition.items()
        }
    return out


def _principal_form(principal: Principals) -> dict[str, list[str]]:
    return {kind: _sorted_unique(ids) for kind, ids in principal.items()}


def _sorted_unique(values: Iterable[str]) -> list[str]:
    return sorted(set(values))


def dumps(value: object) -> str:
    """Compact JSON with sorted keys: the key statements are sorted and compared by."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"))
