"""A fleet's plan for people and programs: a summary of every account first, then one section per account (the
single-account plan, as ``plan`` prints it for one account).

The exit status of a fleet command is the worst of its accounts' (:func:`worst`): an error (1) over a refusal
(3) over changes (2) over nothing to do (0).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from reconciler.engine.plan import Action
from reconciler.engine.planfile import SavedPlan
from reconciler.engine.render import render_json, render_text, render_verdict
from reconciler.engine.render_markdown import render_markdown
from reconciler.rules.accessdiff import render_access_text

__all__ = ["AccountPlan", "render_fleet_json", "render_fleet_markdown", "render_fleet_text", "worst"]

OK, ERROR, CHANGES, REFUSED = 0, 1, 2, 3
_SEVERITY = {OK: 0, CHANGES: 1, REFUSED: 2, ERROR: 3}
#: GitHub's limit for one comment is 65,536 characters; a little is kept for what a CI job adds.
MARKDOWN_LIMIT = 65_000
#: The smallest budget worth giving one account's section in Markdown.
_MIN_SECTION = 1_500


def worst(statuses: Sequence[int]) -> int:
    """The worst exit status: error, then refused, then changes, then nothing to do."""
    return max(statuses, key=lambda s: _SEVERITY.get(s, 3), default=OK)


@dataclass(frozen=True)
class AccountPlan:
    """One account's outcome in a fleet command: its plan, or the error that stopped it (the others went on)."""

    name: str
    account_id: str
    region: str
    status: int
    saved: SavedPlan | None = None
    error: str | None = None

    @property
    def state(self) -> str:
        if self.error is not None:
            return "error"
        assert self.saved is not None
        if self.saved.verdict.refused:
            return "refused"
        return "in sync" if self.saved.plan.empty else "changes"

    def counts(self) -> dict[str, int]:
        if self.saved is None:
            return {}
        return {a.value: self.saved.plan.count(a) for a in Action}

    def findings(self) -> tuple[int, int]:
        """(errors, warnings) among the findings that stand."""
        if self.saved is None:
            return (0, 0)
        report = self.saved.report
        if report is not None:
            return (len(report.errors), len(report.warnings))
        found = self.saved.findings.get("findings", ()) if self.saved.findings else ()
        return (
            sum(1 for f in found if f.get("severity") == "error"),
            sum(1 for f in found if f.get("severity") == "warning"),
        )


def _headline(accounts: Sequence[AccountPlan]) -> str:
    states = [a.state for a in accounts]
    parts = [f"{states.count(s)} {s}" for s in ("error", "refused", "changes", "in sync") if states.count(s)]
    return f"Fleet: {len(accounts)} account(s): {', '.join(parts) or 'none selected'}."


_COLUMNS = ("account", "id", "region", "status", *(a.value for a in Action), "findings")


def _rows(accounts: Sequence[AccountPlan]) -> list[tuple[str, ...]]:
    rows = []
    for a in accounts:
        counts = a.counts()
        errors, warnings = a.findings()
        rows.append(
            (
                a.name,
                a.account_id,
                a.region or "-",
                a.state,
                *(str(counts.get(action.value, "-")) for action in Action),
                f"{errors} error(s), {warnings} warning(s)" if a.saved is not None else "-",
            )
        )
    return rows


def render_fleet_text(
    accounts: Sequence[AccountPlan], *, section: Callable[[AccountPlan], str], color: bool = False
) -> str:
    """The summary table, then each account's section (``section`` renders it; an error is one line)."""
    rows = _rows(accounts)
    widths = [max(len(c), *(len(r[i]) for r in rows)) if rows else len(c) for i, c in enumerate(_COLUMNS)]
    line = "  ".join
    out = [_headline(accounts), "", line(c.upper().ljust(w) for c, w in zip(_COLUMNS, widths, strict=True)).rstrip()]
    out += [line(v.ljust(w) for v, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    for a in accounts:
        out += ["", f"=== Account {a.name} ({a.account_id}, {a.region or '-'}): {a.state} ===", ""]
        out.append(f"error: {a.error}" if a.error is not None else section(a).rstrip("\n"))
    return "\n".join(out) + "\n"


def plan_section(account: AccountPlan, *, color: bool, adopt: bool) -> str:
    """One account's plan as ``plan`` prints it: the verdict when refused, the findings, the plan."""
    saved = account.saved
    assert saved is not None
    parts = []
    verdict = render_verdict(saved.verdict, color=color)
    if verdict:
        parts.append(verdict)
    if saved.findings_text:
        parts.append(saved.findings_text + "\n")
    access = render_access_text(saved.shown_access, color=color)
    if access:
        parts.append(access)
    parts.append(render_text(saved.plan, color=color, adopt=adopt))
    return "\n".join(parts)


def render_fleet_json(accounts: Sequence[AccountPlan]) -> str:
    """``{"summary": {...}, "accounts": [{name, accountId, region, status, exitStatus, error, plan}]}``, each
    ``plan`` being the single-account JSON plan (``schemas/plan.schema.json``)."""
    entries: list[dict[str, Any]] = []
    for a in accounts:
        plan = None
        if a.saved is not None:
            plan = json.loads(
                render_json(
                    a.saved.plan, invariants=dict(a.saved.findings), verdict=a.saved.verdict, access=a.saved.access
                )
            )
        entries.append(
            {
                "name": a.name,
                "accountId": a.account_id,
                "region": a.region,
                "status": a.state,
                "exitStatus": a.status,
                "error": a.error,
                "plan": plan,
            }
        )
    states = [a.state for a in accounts]
    summary = {
        "accounts": len(accounts),
        "byStatus": {s: states.count(s) for s in ("in sync", "changes", "refused", "error")},
        "exitStatus": worst([a.status for a in accounts]),
    }
    return json.dumps({"summary": summary, "accounts": entries}, indent=2, sort_keys=True) + "\n"


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_fleet_markdown(accounts: Sequence[AccountPlan], *, adopt: bool = False, limit: int = MARKDOWN_LIMIT) -> str:
    """A pull-request comment of at most ``limit`` characters: the fleet summary table whole, then one collapsed
    section per account, each given an equal share of what is left (an account whose section does not fit is
    listed in a notice instead)."""
    head = f"## reconciler plan\n\n**{_headline(accounts)}**\n\n"
    head += "| " + " | ".join(c.capitalize() for c in _COLUMNS) + " |\n|" + " --- |" * len(_COLUMNS) + "\n"
    lines = ["| " + " | ".join(_md(v) for v in r) + " |\n" for r in _rows(accounts)]
    table_budget = limit * 3 // 5
    while lines and len(head) + sum(map(len, lines)) > table_budget:
        lines = lines[: len(lines) * 9 // 10]
    head += "".join(lines)
    if len(lines) < len(accounts):
        head += f"\n_{len(accounts) - len(lines)} more account(s) not shown in this table: see the JSON output._\n"
    head += "\n"
    # The accounts that need a look first: errors, refusals, changes; then those in sync.
    order = sorted(accounts, key=lambda a: ("error", "refused", "changes", "in sync").index(a.state))
    sections: list[str] = []
    left_out: list[str] = []
    budget = limit - len(head) - 2_000  # room for the notice
    for index, a in enumerate(order):
        share = budget // max(1, len(order) - index)
        if a.error is not None:
            body = f"error: `{_md(a.error)}`\n"
        elif a.saved is not None and share >= _MIN_SECTION:
            body = render_markdown(
                a.saved.plan,
                limit=share - 200,
                findings=a.saved.findings_text,
                adopt=adopt,
                verdict=a.saved.verdict,
                access=a.saved.shown_access,
            )
        else:
            body = ""
        summary = f"<summary>Account <b>{a.name}</b> ({a.account_id}): {a.state}</summary>"
        section = f"<details>{summary}\n\n{body}\n</details>\n\n"
        if not body or len(section) > share:
            left_out.append(a.name)
            continue
        sections.append(section)
        budget -= len(section)
    notice = ""
    if left_out:
        shown = ", ".join(left_out[:20]) + (f" and {len(left_out) - 20} more" if len(left_out) > 20 else "")
        notice = (
            f"> **Note:** the plan does not fit in one comment: the sections of {len(left_out)} account(s) are left "
            f"out ({shown}); the summary above counts them. Run `reconciler plan --accounts NAME` for one account.\n\n"
        )
    return head + notice + "".join(sections)
