"""How two policy documents differ, statement by statement, in canonical form."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from reconciler.policydoc.canonical import dumps, normalise
from reconciler.policydoc.parse import PolicyInput
from reconciler.policydoc.render import render_statement

__all__ = ["StatementDiff", "diff_documents"]


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
    old_stmts = {dumps(s): s for s in old_doc["Statement"]}
    new_stmts = {dumps(s): s for s in new_doc["Statement"]}
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
