"""Renderers of a :class:`~reconciler.engine.plan.Plan`: terminal text, JSON, and a pull-request comment.

All three are pure and deterministic: the same plan gives byte-identical output (mapping keys are
sorted wherever a plan value holds a mapping; changes and fields keep the plan's own order, which
is execution order).

* :func:`render_text` -- Terraform-like, for a terminal (ANSI colour only when asked).
* :func:`render_json` / :func:`plan_to_dict` -- machine-readable, described by
  ``schemas/plan.schema.json``.
* :func:`~reconciler.engine.render_markdown.render_markdown` -- a GitHub pull-request comment kept under a
  size limit (its own module).

Policy documents are shown statement by statement (``+ Allow s3:GetObject on ...``), never as a
wall of JSON. Statements are shown as written where the plan holds the written document (git for
added statements, AWS for removed ones), so action names keep their case.

Everything that comes from a manifest or from the account (names, tag values, statements...) is
shown with control and formatting characters escaped, so a hostile value cannot move the cursor,
recolour the terminal, or break a line of the plan.
"""

from __future__ import annotations

import json
import math
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Final

from reconciler.engine.plan import Action, Change, FieldChange, Plan
from reconciler.engine.verdict import Verdict
from reconciler.kinds.context import Grant
from reconciler.policydoc import PolicyDocumentError, normalise, render_statement, statements
from reconciler.rules.accessdiff import AccessDiff, access_to_dict
from reconciler.values import thaw

__all__ = [
    "FORMAT_VERSION",
    "plan_to_dict",
    "render_json",
    "render_text",
    "render_verdict",
]

FORMAT_VERSION: Final = 1
"""``formatVersion`` of :func:`plan_to_dict`; raised on any incompatible change of its shape."""

NO_CHANGES: Final = "No changes. The account matches the manifests."

# Symbol and wording of each action. RELEASE shares UPDATE's symbol: the resource stays.
SYMBOLS: Final[Mapping[Action, str]] = {
    Action.CREATE: "+",
    Action.UPDATE: "~",
    Action.DELETE: "-",
    Action.ADOPT: "!",
    Action.REPLACE: "-/+",
    Action.RELEASE: "~",
}
WORDING: Final[Mapping[Action, str]] = {
    Action.CREATE: "create",
    Action.UPDATE: "update in place",
    Action.DELETE: "delete",
    Action.ADOPT: "adopt (needs --adopt)",
    Action.REPLACE: "replace: delete, then create as the manifest says (--replace)",
    Action.RELEASE: "release (kept, ownership tag removed)",
}
# ADOPT under ``plan --adopt``: what ``apply --adopt`` will do with it.
_ADOPT_WORDING: Final = "adopt: apply --adopt takes it over (adds the ownership mark) and converges it"
_REPLACE_WORDING: Final = "update: the resource must be replaced"
_FORCES_REPLACEMENT: Final = "(forces replacement)"

_COLOURS: Final[Mapping[str, str]] = {"+": "32", "~": "33", "-": "31", "!": "35", "-/+": "31"}
OBSERVED_HEADING: Final = "Observed, not enforced (metadata.management: observe): what enforcing them would change"
_RED: Final = "31"

# Columns of the text layout: change headers, fields, items within a field.
_HEADER_COL: Final = 2
_FIELD_COL: Final = 6
_ITEM_COL: Final = 8


# --- shared: the lines of one change --------------------------------------------------------------


@dataclass(frozen=True)
class _Line:
    """One line of the text diff: the column it starts at, an optional symbol, text, a red tail."""

    col: int
    sym: str
    text: str
    tail: str = ""

    def text_form(self, *, color: bool) -> str:
        sym = f"{_paint(self.sym, _COLOURS[self.sym], color)} " if self.sym else ""
        tail = f"  {_paint(self.tail, _RED, color)}" if self.tail else ""
        return f"{' ' * self.col}{sym}{self.text}{tail}"

    def diff_form(self) -> str:
        """For a ```diff block: the symbol moves to column 0, where GitHub highlights it."""
        tail = f"  {self.tail}" if self.tail else ""
        lead = f"{self.sym}{' ' * (self.col - 1)}" if self.sym else " " * self.col
        return f"{lead}{self.text}{tail}"


def _paint(text: str, code: str, color: bool) -> str:
    return f"\x1b[{code}m{text}\x1b[0m" if color else text


def _clean(text: str) -> str:
    """``text`` with control and bidi/format characters escaped (``\\x1b``, ``\\u202e``): one safe line."""
    if text.isprintable():  # False for any Cc, Cf (bidi controls included), Zl, Zp character
        return text
    out = []
    for char in text:
        if unicodedata.category(char) in ("Cc", "Cf", "Zl", "Zp"):
            code = ord(char)
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")
        else:
            out.append(char)
    return "".join(out)


def _jsonable(value: Any) -> Any:
    """JSON-compatible data: dates as ISO 8601 text, non-finite floats and unknown types as text."""
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, date | datetime):
        return value.isoformat()
    return str(value)


def _fmt(value: Any) -> str:
    """A value on one line: compact JSON with sorted keys (strings quoted, so spaces show)."""
    return _clean(json.dumps(_jsonable(thaw(value)), sort_keys=True, ensure_ascii=False, separators=(", ", ": ")))


def _is_document(value: Any) -> bool:
    return isinstance(value, Mapping) and "Statement" in value


def _is_document_map(value: Any) -> bool:
    return isinstance(value, Mapping) and bool(value) and all(_is_document(v) for v in value.values())


def _is_list(value: Any) -> bool:
    return isinstance(value, list | tuple)


def _raw_statements(doc: Any) -> list[Any]:
    if not isinstance(doc, Mapping):
        return []
    stmts = doc.get("Statement")
    if isinstance(stmts, Mapping):
        return [stmts]
    return list(stmts) if isinstance(stmts, list | tuple) else []


def _statement_text(stmt: Any) -> str:
    try:
        return _clean(render_statement(stmt))
    except PolicyDocumentError:
        return _fmt(stmt)


def _canonical_key(stmt: Any) -> str:
    return json.dumps(stmt, sort_keys=True, separators=(",", ":"))


def _as_written(canonical: Sequence[Mapping[str, Any]], doc: Any) -> list[str]:
    """Display lines of canonical statements, using the statement of ``doc`` that each came from."""
    written: dict[str, Any] = {}
    for raw in _raw_statements(doc):
        try:
            (canon,) = statements({"Statement": [raw]})
        except (PolicyDocumentError, ValueError):
            continue
        written.setdefault(_canonical_key(canon), raw)
    return [_statement_text(written.get(_canonical_key(stmt), stmt)) for stmt in canonical]


def _top_level(doc: Any, name: str) -> str:
    try:
        return _fmt(normalise(thaw(doc)).get(name))
    except PolicyDocumentError:
        return "?"


def _tail(fc: FieldChange) -> str:
    return _FORCES_REPLACEMENT if fc.replaces else ""


def _document_lines(name: str, doc: Any, sym: str, tail: str) -> list[_Line]:
    """A whole document (create, delete): its statements as written, one line each."""
    stmts = _raw_statements(doc)
    if not stmts:
        return [_Line(_FIELD_COL, sym, f"{_clean(name)}: (no statements)", tail)]
    return [
        _Line(_FIELD_COL, sym, f"{_clean(name)}:", tail),
        *(_Line(_ITEM_COL, sym, _statement_text(s)) for s in stmts),
    ]


def _whole_field(fc: FieldChange, value: Any, sym: str) -> list[_Line]:
    """A field of a created or deleted resource, compactly. Absent (None) fields are left out."""
    if value is None:
        return []
    if _is_document(value):
        return _document_lines(fc.field, value, sym, _tail(fc))
    if _is_document_map(value):
        return [
            line for key in sorted(value) for line in _document_lines(f"{fc.field}.{key}", value[key], sym, _tail(fc))
        ]
    return [_Line(_FIELD_COL, sym, f"{_clean(fc.field)}: {_fmt(value)}", _tail(fc))]


def _document_change(fc: FieldChange) -> list[_Line]:
    state = " (new document)" if fc.old is None else " (document removed)" if fc.new is None else ""
    head = _Line(_FIELD_COL, "", f"{_clean(fc.field)}:{state}", _tail(fc))
    diff = fc.statements
    if diff is None:
        # Not a readable policy document on one side: the documents as they are, one line each.
        return [
            head,
            *(_Line(_ITEM_COL, sym, _fmt(doc)) for sym, doc in (("-", fc.old), ("+", fc.new)) if doc is not None),
        ]
    lines = [head]
    if fc.old is not None and fc.new is not None:
        # Against an absent document every top-level element "changes": only show real edits.
        lines += [
            _Line(_ITEM_COL, "~", f"{_clean(name)}: {_top_level(fc.old, name)} -> {_top_level(fc.new, name)}")
            for name in diff.changed_top
        ]
    lines += [_Line(_ITEM_COL, "-", text) for text in _as_written(diff.removed, fc.old)]
    lines += [_Line(_ITEM_COL, "+", text) for text in _as_written(diff.added, fc.new)]
    if len(lines) == 1:
        lines.append(_Line(_ITEM_COL, "", "(equivalent documents)"))
    return lines


# List fields whose items read better as a relation: "- member alice" rather than a quoted value.
_RELATION_ITEMS: Final[Mapping[str, str]] = {"members": "member"}


def _list_change(fc: FieldChange) -> list[_Line]:
    label = _RELATION_ITEMS.get(fc.name) if len(fc.path) == 1 else None

    def item(value: Any) -> str:
        return f"{label} {_clean(str(value))}" if label else _fmt(value)

    old = {item(v) for v in (fc.old or ())}
    new = {item(v) for v in (fc.new or ())}
    removed, added = sorted(old - new), sorted(new - old)
    if not (removed or added):
        # Same members, different order or repetition.
        return [_Line(_FIELD_COL, "", f"{_clean(fc.field)}: {_fmt(fc.old)} -> {_fmt(fc.new)}", _tail(fc))]
    return [
        _Line(_FIELD_COL, "", f"{_clean(fc.field)}:", _tail(fc)),
        *(_Line(_ITEM_COL, "-", item) for item in removed),
        *(_Line(_ITEM_COL, "+", item) for item in added),
    ]


def _mapping_change(fc: FieldChange) -> list[_Line]:
    old: Mapping[str, Any] = fc.old or {}
    new: Mapping[str, Any] = fc.new or {}
    lines = [_Line(_FIELD_COL, "", f"{_clean(fc.field)}:", _tail(fc))]
    for key in sorted(set(old) | set(new)):
        label = _fmt(key)
        if key not in new:
            lines.append(_Line(_ITEM_COL, "-", f"{label}: {_fmt(old[key])}"))
        elif key not in old:
            lines.append(_Line(_ITEM_COL, "+", f"{label}: {_fmt(new[key])}"))
        elif thaw(old[key]) != thaw(new[key]):
            lines.append(_Line(_ITEM_COL, "~", f"{label}: {_fmt(old[key])} -> {_fmt(new[key])}"))
    if len(lines) == 1:
        lines.append(_Line(_ITEM_COL, "", "(no key differs)"))
    return lines


def _field_lines(change: Change, fc: FieldChange) -> list[_Line]:
    if change.action is Action.CREATE:
        return _whole_field(fc, fc.new, "+")
    if change.action is Action.DELETE:
        return _whole_field(fc, fc.old, "-")
    if fc.statements is not None or _is_document(fc.old) or _is_document(fc.new):
        return _document_change(fc)
    if fc.old is None and fc.new is None:
        return [_Line(_FIELD_COL, "", f"{_clean(fc.field)}: null -> null", _tail(fc))]
    if (_is_list(fc.old) or fc.old is None) and (_is_list(fc.new) or fc.new is None):
        return _list_change(fc)
    if (isinstance(fc.old, Mapping) or fc.old is None) and (isinstance(fc.new, Mapping) or fc.new is None):
        return _mapping_change(fc)
    return [_Line(_FIELD_COL, "", f"{_clean(fc.field)}: {_fmt(fc.old)} -> {_fmt(fc.new)}", _tail(fc))]


def _wording(change: Change, adopt: bool = False) -> str:
    if change.action is Action.UPDATE and any(fc.replaces for fc in change.fields):
        return _REPLACE_WORDING
    if change.action is Action.ADOPT and adopt:
        return _ADOPT_WORDING
    return WORDING[change.action]


def _change_lines(change: Change, adopt: bool = False) -> list[_Line]:
    header = f"{_clean(change.ref)}  ({_clean(change.source)})" if change.source else _clean(change.ref)
    lines = [_Line(_HEADER_COL, SYMBOLS[change.action], header), _Line(_FIELD_COL, "", f"# {_wording(change, adopt)}")]
    lines += [_Line(_FIELD_COL, "", f"# {_clean(note)}") for note in change.notes]
    if change.blocker is not None:
        lines.append(
            _Line(_FIELD_COL, "", "# REFUSED:", f"{_clean(change.blocker.message)}; {_clean(change.blocker.unblock)}")
        )
    if change.destroys:
        verb = "replacing" if change.action is Action.REPLACE else "deleting"
        lines.append(_Line(_FIELD_COL, "", f"# {verb} it also removes:"))
        lines += [_Line(_ITEM_COL, "-", _clean(item)) for item in change.destroys]
    for fc in change.fields:
        lines += _field_lines(change, fc)
    return lines


# --- text -----------------------------------------------------------------------------------------


def render_verdict(verdict: Verdict, *, color: bool) -> str:
    """The verdict, for the top of the output: one headline, then one line per refusal (empty when none)."""
    if not verdict.refused:
        return ""
    lines = [_paint(_clean(verdict.headline()), _RED, color)]
    lines += [f"  - {_clean(line)}" for line in verdict.lines()]
    return "\n".join(lines) + "\n"


def render_text(plan: Plan, *, color: bool, adopt: bool = False) -> str:
    """The plan for a terminal, Terraform-like; ANSI colour only when ``color`` is true.

    ``adopt``: the plan of ``plan --adopt``: adoptions are worded as what ``apply --adopt`` does.
    """
    out: list[str] = []
    if plan.empty:
        out.append(NO_CHANGES)
    else:
        out.append(f"Planned changes in account {_clean(plan.account_id)} ({_clean(plan.region)}), in execution order:")
        for change in plan.changes:
            out.append("")
            out.extend(line.text_form(color=color) for line in _change_lines(change, adopt))
    if plan.observed:
        out += ["", OBSERVED_HEADING + ":"]
        for change in plan.observed:
            out.append("")
            out.extend(line.text_form(color=color) for line in _change_lines(change, adopt))
    out.append("")
    out.append(_paint(plan.summary(), "1", color))
    out.extend(f"Note: {_clean(note)}" for note in plan.notes)
    return "\n".join(out) + "\n"


# --- JSON -----------------------------------------------------------------------------------------


def _field_dict(fc: FieldChange) -> dict[str, Any]:
    diff = fc.statements
    return {
        "field": fc.field,
        "old": _jsonable(thaw(fc.old)),
        "new": _jsonable(thaw(fc.new)),
        "replaces": fc.replaces,
        "statements": None
        if diff is None
        else {
            "added": [_jsonable(s) for s in diff.added],
            "removed": [_jsonable(s) for s in diff.removed],
            "changedTop": list(diff.changed_top),
        },
    }


def grant_to_dict(grant: Grant) -> dict[str, Any]:
    """An entry that ends at its ``expiresAt`` (``$defs/grant`` of the plan's schema)."""
    return {
        "resource": grant.resource,
        "entry": grant.entry,
        "expiresAt": grant.expiry.text,
        "endsAt": grant.expiry.at.isoformat(),
        "location": grant.expiry.location,
        "path": list(grant.path),
        "removes": [{"ref": r.ref, "field": r.field, "value": r.value} for r in grant.removes],
    }


def plan_to_dict(plan: Plan) -> dict[str, Any]:
    """The plan as plain JSON data (the shape ``schemas/plan.schema.json`` describes)."""
    return {
        "formatVersion": FORMAT_VERSION,
        "accountId": plan.account_id,
        "region": plan.region,
        "summary": {
            **{action.value: plan.count(action) for action in Action},
            "unchanged": sum(plan.unchanged.values()),
            "unchangedByKind": {kind: plan.unchanged[kind] for kind in sorted(plan.unchanged)},
        },
        "changes": [_change_dict(change) for change in plan.changes],
        "observed": [_change_dict(change) for change in plan.observed],
        "observedInSync": plan.observed_in_sync,
        "notes": list(plan.notes),
        "expired": [grant_to_dict(g) for g in plan.expired],
        "expiring": [grant_to_dict(g) for g in plan.expiring],
    }


def _change_dict(change: Change) -> dict[str, Any]:
    return {
        "action": change.action.value,
        "kind": change.kind,
        "name": change.name,
        "source": change.source,
        "notes": list(change.notes),
        "destroys": list(change.destroys),
        "blocker": None
        if change.blocker is None
        else {
            "code": change.blocker.code,
            "message": change.blocker.message,
            "unblock": change.blocker.unblock,
        },
        "fields": [_field_dict(fc) for fc in change.fields],
    }


def _sorted_keys(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _sorted_keys(value[k]) for k in sorted(value)}
    if isinstance(value, list):
        return [_sorted_keys(v) for v in value]
    return value


def render_json(
    plan: Plan,
    *,
    invariants: dict[str, Any] | None = None,
    verdict: Verdict | None = None,
    access: AccessDiff | None = None,
) -> str:
    """:func:`plan_to_dict` as JSON: ``verdict`` first, then every other key sorted; 2-space indent,
    ASCII only, final newline.

    ``invariants``: the security findings (``schemas/findings.schema.json``), added as is. ``access``: the
    change in effective access (``access`` in the schema).
    """
    data = plan_to_dict(plan)
    if invariants is not None:
        data["invariants"] = invariants
    if access is not None:
        data["access"] = access_to_dict(access)
    head = {"verdict": _sorted_keys((verdict or Verdict()).to_dict())}
    return json.dumps({**head, **_sorted_keys(data)}, indent=2, allow_nan=False) + "\n"
