"""What IAM counts about a document as written, before the parser normalises it: its size against IAM's quotas
and the ``Version`` it declares (or not).

IAM measures a policy in characters with whitespace left out (``GetAccountSummary`` calls its quotas "in
non-whitespace characters"). The reconciler sends documents as compact JSON (``reconciler.kinds.steps.doc``);
:func:`document_size` counts that JSON's characters, with any whitespace inside values left out too, and
non-ASCII characters as one character each.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

from reconciler.policydoc.parse import PolicyInput, parse_document

__all__ = ["compact_json", "document_size", "size_of", "written_version"]


class _Default:
    """``json.dumps``'s ``default``: a date as ISO 8601, anything else as its text; remembers it was called."""

    __slots__ = ("called",)

    def __init__(self) -> None:
        self.called = False

    def __call__(self, value: Any) -> str:
        self.called = True
        if isinstance(value, datetime | date):
            return value.isoformat()
        return str(value)


def compact_json(doc: PolicyInput) -> tuple[str, bool]:
    """``doc`` as compact JSON, and whether that text is exact: True when every value is one of JSON's own
    types, False when one was written as text (a YAML date, say), so that another document may have the same
    text. Raises :class:`~reconciler.policydoc.PolicyDocumentError` as :func:`parse_document` does."""
    default = _Default()
    text = json.dumps(parse_document(doc), separators=(",", ":"), ensure_ascii=False, default=default)
    return text, not default.called


def size_of(text: str) -> int:
    """The characters IAM counts in a document's compact JSON ``text``: those that are not whitespace."""
    return sum(map(len, text.split()))  # str.split() cuts at exactly the characters str.isspace() finds


def document_size(doc: PolicyInput) -> int:
    """The characters IAM counts in ``doc``: its compact JSON without any whitespace."""
    return size_of(compact_json(doc)[0])


def written_version(doc: PolicyInput) -> str | None:
    """The ``Version`` the document declares, as text (a YAML date as ISO 8601); None when it has none."""
    value = parse_document(doc).get("Version")
    if value is None:
        return None
    if isinstance(value, date | datetime):
        return value.isoformat()
    return str(value)
