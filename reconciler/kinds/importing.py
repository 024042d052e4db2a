"""What a kind's ``imports`` module gets to write a manifest for a live resource, and the conversions they share.

The importer (``reconciler.importer``) decides what to import and writes the files; each kind turns one of its
live models into the values of its manifest's spec (``to_spec``), so that the kind's ``desired_view`` of the
manifest equals the ``live_view`` of what exists, apart from the ownership mark adoption adds.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from typing import Any, Protocol

from reconciler.kinds.context import DELETION_POLICIES, DELETION_POLICY_TAG, Context
from reconciler.policydoc import PolicyDocumentError, statements
from reconciler.policydoc.parse import STATEMENT_ORDER, TOP_LEVEL_ORDER

__all__ = [
    "ImportContext",
    "canonical",
    "deletion_policy",
    "document",
    "raw_statements",
    "user_tags",
]


class ImportContext(Protocol):
    """What converting one resource may ask about the rest of the import."""

    #: The target and a desired state holding stubs of what is imported (their paths): generated documents
    #: (a bucket's writers, a role's trust) name the real ARNs.
    ctx: Context

    def imported(self, kind: str, name: str) -> bool:
        """Whether ``kind/name`` is imported (converted before this resource: the kinds' order)."""
        ...

    def name_of(self, arn: str) -> tuple[str, str] | None:
        """(kind, name) of the live resource with this ARN, or None."""
        ...

    def policy_ref(self, arn: str) -> str:
        """How a manifest refers to this policy: its name when it is imported, else its ARN."""
        ...

    def policy_refs(self, arns: Iterable[str]) -> list[str]:
        """:meth:`policy_ref` of each, names first, then ARNs, each sorted."""
        ...

    def principal_ref(self, arn: str) -> str | None:
        """``Role/name`` or ``User/name`` of an imported principal with this ARN, or None."""
        ...

    def live_of(self, kind: str, name: str) -> Any:
        """The live model of ``kind/name`` as read, or None."""
        ...


def _ordered(mapping: Mapping[str, Any], order: Iterable[str]) -> dict[str, Any]:
    known = [k for k in order if k in mapping]
    return {k: copy.deepcopy(mapping[k]) for k in [*known, *sorted(set(mapping) - set(known))]}


def ordered_statement(stmt: Any) -> Any:
    """A statement with its elements in IAM's order (anything else as it is)."""
    return _ordered(stmt, STATEMENT_ORDER) if isinstance(stmt, Mapping) else stmt


def document(doc: Mapping[str, Any]) -> dict[str, Any]:
    """A policy document as a manifest holds it: IAM's element order, statements as written.

    A document without ``Version`` gets the one AWS assumes (``2008-10-17``): the loader would fill
    in the schema's default, ``2012-10-17``, which is a different policy language.
    """
    out = _ordered(doc, TOP_LEVEL_ORDER)
    out.setdefault("Version", "2008-10-17")
    stmts = out.get("Statement")
    if isinstance(stmts, Mapping):
        out["Statement"] = ordered_statement(stmts)
    elif isinstance(stmts, list):
        out["Statement"] = [ordered_statement(s) for s in stmts]
    return _ordered(out, TOP_LEVEL_ORDER)


def raw_statements(doc: Mapping[str, Any]) -> list[Any]:
    """The statements of a document as written (one statement alone, or the list)."""
    stmts = doc.get("Statement")
    return [stmts] if isinstance(stmts, Mapping) else list(stmts) if isinstance(stmts, list) else []


def canonical(stmt: Any) -> dict[str, Any] | None:
    """One statement by meaning (policydoc's canonical form), or None when it is not a valid statement."""
    try:
        (canon,) = statements({"Version": "2012-10-17", "Statement": [stmt]})
    except (PolicyDocumentError, ValueError):
        return None
    return canon


def user_tags(tags: Mapping[str, str], ctx: Context) -> dict[str, str]:
    """The tags a manifest says: not the ownership tag, nor the recorded deletion policy (``deletionPolicy``)."""
    return {k: tags[k] for k in sorted(tags) if k not in (ctx.ownership_key, DELETION_POLICY_TAG)}


def deletion_policy(tags: Mapping[str, str]) -> str | None:
    """The deletion policy recorded on a resource (None: the kind's default)."""
    value = tags.get(DELETION_POLICY_TAG)
    return value if value in DELETION_POLICIES else None
