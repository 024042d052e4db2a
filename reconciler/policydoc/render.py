"""One line per statement, for plan output and findings."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from reconciler.policydoc.canonical import statement_form
from reconciler.policydoc.parse import PolicyDocumentError, PolicyStatement, json_type, parse_statement

__all__ = ["render_statement"]


def render_statement(stmt: Mapping[str, Any] | PolicyStatement) -> str:
    """One line for plan output, e.g.
    ``Allow s3:GetObject, s3:ListBucket on arn:aws:s3:::b, arn:aws:s3:::b/* when StringEquals
    aws:SourceAccount=123456789012``.

    Accepts a raw or canonical statement, or a parsed one. Lists are sorted and de-duplicated but the
    case of action names and condition keys is kept as given, so a manifest statement reads as written
    (canonical statements, as in a :class:`~reconciler.policydoc.StatementDiff`, show lower-case actions).
    """
    if not isinstance(stmt, PolicyStatement):
        if not isinstance(stmt, Mapping):
            raise PolicyDocumentError(f"statement must be an object, not {json_type(stmt)}")
        stmt = parse_statement(stmt)
    s = statement_form(stmt, fold_case=False)
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
