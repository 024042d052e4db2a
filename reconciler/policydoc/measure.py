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

__all__ = ["document_size", "written_version"]


def _default(value: Any) -> str:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)


def document_size(doc: PolicyInput) -> int:
    """The characters IAM counts in ``doc``: its compact JSON without any whitespace."""
    text = json.dumps(parse_document(doc), separators=(",", ":"), ensure_ascii=False, default=_default)
    return sum(map(len, text.split()))  # str.split() cuts at exactly the characters str.isspace() finds


def written_version(doc: PolicyInput) -> str | None:
    """The ``Version`` the document declares, as text (a YAML date as ISO 8601); None when it has none."""
    value = parse_document(doc).get("Version")
    if value is None:
        return None
    if isinstance(value, date | datetime):
        return value.isoformat()
    return str(value)
