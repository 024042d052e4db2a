"""The plan as a GitHub pull-request comment: the verdict first, a summary table, the changes, and one
collapsed diff per resource, kept under the comment size limit. Pure and deterministic, like the other
renderers of :mod:`reconciler.engine.render`."""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Sequence
from typing import Final

from reconciler.engine.plan import Action, Change, Plan
from reconciler.engine.render import NO_CHANGES, OBSERVED_HEADING, SYMBOLS, _change_lines, _clean
from reconciler.engine.verdict import Verdict
from reconciler.rules.accessdiff import AccessDiff, render_access_markdown

__all__ = ["GITHUB_COMMENT_LIMIT", "render_markdown"]

GITHUB_COMMENT_LIMIT: Final = 65_536
"""The most characters GitHub accepts in one issue or pull-request comment."""

# --- Markdown -------------------------------------------------------------------------------------

_MD_SPECIAL: Final = re.compile(r"([\\`*_{}\[\]<>()#+!|~])")
_NOTE_CHARS: Final = 2_000


def _md(text: str) -> str:
    """Plain text safe in Markdown prose and table cells (no markup, no HTML, one line)."""
    return _MD_SPECIAL.sub(r"\\\1", _clean(text)).replace("&", "&amp;")


def _md_code(text: str) -> str:
    """Text as inline code in a table cell."""
    text = _clean(text).replace("|", "\\|")
    fence = "`" * (max((len(run) for run in re.findall(r"`+", text)), default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _fenced(body: str, lang: str) -> str:
    fence = "`" * max(3, max((len(run) for run in re.findall(r"`+", body)), default=0) + 1)
    return f"{fence}{lang}\n{body}\n{fence}\n"


def _details(change: Change, max_chars: int, adopt: bool = False) -> str:
    lines = [line.diff_form() for line in _change_lines(change, adopt)]
    summary = html.escape(f"{SYMBOLS[change.action]} {_clean(change.ref)}", quote=False)
    wrapper = len(f"<details><summary>{summary}</summary>\n\n") + len("\n</details>\n\n") + len("````diff\n\n````\n")
    body = "\n".join(lines)
    if wrapper + len(body) > max_chars:
        kept: list[str] = []
        used = wrapper + 200
        for line in lines:
            if used + len(line) + 1 > max_chars:
                break
            kept.append(line)
            used += len(line) + 1
        kept.append(
            f"  ... {len(lines) - len(kept)} more lines of this resource omitted; "
            "run reconciler plan locally for the full plan"
        )
        body = "\n".join(kept)
    return f"<details><summary>{summary}</summary>\n\n{_fenced(body, 'diff')}\n</details>\n\n"


def _notice(omitted_details: int, omitted_rows: int, total: int) -> str:
    if not (omitted_details or omitted_rows):
        return ""
    what = f"details of {omitted_details:,} of {total:,} resources"
    if omitted_rows:
        what += f" and {omitted_rows:,} of {total:,} rows of the change table"
    return (
        f"> ⚠ Output truncated: {what} omitted ({GITHUB_COMMENT_LIMIT:,}-character comment limit). "
        "Run reconciler plan locally for the full plan.\n\n"
    )


def _largest_fitting(sizes: Sequence[int], budget_for: Callable[[int], int]) -> int:
    """The largest n such that sum(sizes[:n]) <= budget_for(n); 0 when none (n=0 is not checked)."""
    best, used = 0, 0
    for n, size in enumerate(sizes, start=1):
        used += size
        if used <= budget_for(n):
            best = n
    return best


def _markdown_verdict(verdict: Verdict) -> str:
    if not verdict.refused:
        return "## ✅ Reconciler plan: applies cleanly\n\n"
    reasons = "".join(f"- {_md(r.message)}. **To unblock:** {_md(r.unblock)}\n" for r in verdict.refusals[:20])
    if len(verdict.refusals) > 20:
        reasons += f"- ... and {len(verdict.refusals) - 20:,} more reasons\n"
    return f"## ⛔ Reconciler plan: refused, apply would write nothing\n\n{reasons}\n"


def _observed_markdown(plan: Plan, cap: int) -> str:
    """The observed resources that differ from git: one line each (what enforcing them would do, which
    fields), within ``cap`` characters."""
    if not plan.observed:
        return ""
    text = f"### {_md(OBSERVED_HEADING)}\n\n"
    for i, c in enumerate(plan.observed):
        fields = ", ".join(dict.fromkeys(f.name for f in c.fields)) or "(no field)"
        line = f"- {_md(f'{SYMBOLS[c.action]} {c.action.value}')} {_md_code(c.ref)}: {_md(fields)}\n"
        if len(text) + len(line) > cap:
            text += f"- ... and {len(plan.observed) - i} more (the text plan lists them all)\n"
            break
        text += line
    return text + "\n"


def render_markdown(
    plan: Plan,
    *,
    limit: int = 65_000,
    findings: str = "",
    adopt: bool = False,
    verdict: Verdict | None = None,
    access: AccessDiff | None = None,
) -> str:
    """The plan as a pull-request comment of at most ``limit`` characters.

    A heading and a summary table (action | count), the findings, the access changes, the plan's notes,
    a table of changes (action,
    resource, source), then one collapsed ``<details>`` block per resource with its text diff in a
    ```diff block. When everything does not fit, details are dropped from the end (then, if need
    be, rows of the change table) and a notice near the top says how many were left out; the
    summary table is kept whole whenever it fits at all. Details are rendered only while they may
    still fit, so a huge plan costs little more than a small one.
    """
    total = len(plan.changes)
    head = (
        _markdown_verdict(verdict or Verdict())
        + f"Account {_md_code(plan.account_id)}, region {_md_code(plan.region)}.\n\n"
        + (f"{NO_CHANGES}\n\n" if plan.empty else "")
        + f"**{_md(plan.summary())}**\n\n| Action | Count |\n| --- | ---: |\n"
        + "".join(f"| {_md(f'{SYMBOLS[a]} {a.value}')} | {plan.count(a):,} |\n" for a in Action)
        + f"| unchanged | {sum(plan.unchanged.values()):,} |\n\n"
    )
    if findings:
        cap = limit // 4
        shown = findings if len(findings) <= cap else findings[:cap] + "\n... (findings shortened)"
        fence = "`" * 3
        head += f"### Security invariants\n\n{fence}\n{shown.replace(fence, '~~~')}\n{fence}\n\n"
    head += render_access_markdown(access, limit=limit // 4)
    head += _observed_markdown(plan, limit // 8)
    notes = "".join(
        f"> **Note:** {_md(note if len(note) <= _NOTE_CHARS else note[:_NOTE_CHARS] + ' ... (shortened)')}\n\n"
        for note in plan.notes
    )
    table_head = "### Changes\n\n| Action | Resource | Source |\n| --- | --- | --- |\n"
    rows = [
        f"| {_md(f'{SYMBOLS[c.action]} {c.action.value}')} | {_md_code(c.ref)} | "
        f"{_md_code(c.source) if c.source else '(not in git)'} |\n"
        for c in plan.changes
    ]
    details_head = "### Details\n\n"

    def assemble(n_rows: int, details: Sequence[str], *, with_notes: bool = True) -> str:
        parts = [head, _notice(total - len(details), total - n_rows, total), notes if with_notes else ""]
        if n_rows:
            parts += [table_head, *rows[:n_rows], "\n"]
        if details:
            parts += [details_head, *details]
        # Lengths add up part by part (this rstrip only shortens), so budgets below are exact enough.
        return "".join(parts).rstrip("\n") + "\n"

    # Details, from the first resource on, while they fit with room left for the notice.
    with_table = len(head) + len(notes) + len(table_head) + sum(len(r) for r in rows) + 1
    reserve = len(_notice(total, 0, total))
    budget = limit - with_table - len(details_head)
    details: list[str] = []
    used = 0
    for change in plan.changes:
        block = _details(change, max(2_000, limit // 4), adopt)
        if used + len(block) > budget - (0 if len(details) + 1 == total else reserve):
            break
        details.append(block)
        used += len(block)
    if details:
        return assemble(total, details)
    n_rows = _largest_fitting(
        [len(r) for r in rows],
        lambda n: limit - len(head) - len(notes) - len(table_head) - 1 - len(_notice(total, total - n, total)),
    )
    candidate = ""
    for candidate in (assemble(n_rows, []), assemble(0, [], with_notes=False)):
        if len(candidate) <= limit:
            return candidate
    # Not even the summary fits: cut it (only with an absurdly small limit).
    return candidate[:limit]
