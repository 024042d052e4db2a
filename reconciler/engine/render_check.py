"""``reconciler check``'s result as text (a terminal, a pre-commit hook), JSON (``schemas/check.schema.json``) and
Markdown (a pull-request comment, under GitHub's size limit). SARIF is :mod:`reconciler.engine.sarif`.

Each renderer shows, per account: the findings (as ``plan`` prints them), with ``--base`` what is new, fixed and
unchanged, then the access diff's own section when there is one (:class:`reconciler.engine.check.AccessDiffSection`).
Pure and deterministic.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, Final

from reconciler.engine.check import AccountCheck, CheckResult, Comparison
from reconciler.engine.render_markdown import _md, _md_code
from reconciler.errors import ManifestProblem
from reconciler.rules import Finding, findings_to_dict, render_findings_text

__all__ = [
    "CHECK_FORMAT_VERSION",
    "MARKDOWN_LIMIT",
    "render_check_json",
    "render_check_markdown",
    "render_check_text",
    "render_problems_markdown",
]

CHECK_FORMAT_VERSION: Final = 1
MARKDOWN_LIMIT: Final = 65_000  # GitHub takes 65,536 characters in a comment; room for what a workflow adds
_CELL: Final = 1_000  # characters of a message or hint in a table cell


def _snapshot_text(result: CheckResult) -> str:
    s = result.snapshot
    return f"snapshot of {s['updatedAt']} ({s['source']} {s['version']}, {s['policies']:,} policies)"


def _base_text(result: CheckResult) -> str:
    base = result.base
    return f"{base.ref} ({base.commit[:12]})" if base is not None else ""


def _status(account: AccountCheck) -> str:
    return "refused" if account.report.refuses else "passed"


# ---------------------------------------------------------------------------------------------- text


def _finding_lines(label: str, finding: Finding, suffix: str = "") -> list[str]:
    where = f"  {finding.location}{suffix}" if finding.location else ""
    return [
        f"  {label:<6} {finding.severity.value:<7} {finding.rule:<7} {finding.resource}{where}",
        f"         {finding.message}",
    ]


def _comparison_text(result: CheckResult, comparison: Comparison | None) -> list[str]:
    base = result.base
    if base is None:
        return []
    if base.error is not None:
        return [f"Not compared with {_base_text(result)}: {base.error}"]
    if comparison is None:
        return []
    lines = [f"Compared with {_base_text(result)}: {comparison.summary()}."]
    if comparison.note:
        lines.append(f"  ({comparison.note})")
    for finding in comparison.new:
        lines += _finding_lines("new", finding)
    for finding in comparison.fixed:
        lines += _finding_lines("fixed", finding, f" (at {base.ref})")
    return lines


def _account_text(result: CheckResult, account: AccountCheck, *, color: bool) -> str:
    parts = [render_findings_text(account.report, color=color)]
    comparison = _comparison_text(result, account.comparison)
    if comparison:
        parts.append("\n".join(comparison))
    if account.access_diff is not None:
        section = account.access_diff.render_text(color=color)
        if section:
            parts.append(section.rstrip("\n"))
    return "\n\n".join(parts) + "\n"


def render_check_text(result: CheckResult, *, color: bool = False) -> str:
    resources = sum(a.resources for a in result.accounts)
    head = (
        f"Checked {result.directory} offline ({resources} resources, no AWS account); "
        f"AWS managed policies: {_snapshot_text(result)}.\n"
    )
    if not result.fleet:
        return head + "".join(_account_text(result, a, color=color) for a in result.accounts)
    refused = sum(1 for a in result.accounts if a.report.refuses)
    out = [
        head,
        f"Fleet: {len(result.accounts)} account(s): {refused} refused, {len(result.accounts) - refused} passed.\n",
    ]
    for account in result.accounts:
        out.append(
            f"\n=== Account {account.name} ({account.account_id}, {account.region or '-'}): {_status(account)} ===\n"
        )
        out.append(_account_text(result, account, color=color))
    return "".join(out)


# ---------------------------------------------------------------------------------------------- JSON


def check_to_dict(result: CheckResult) -> dict[str, Any]:
    """The JSON-ready form (``schemas/check.schema.json``)."""
    comparisons = [a.comparison for a in result.accounts if a.comparison is not None]
    base = result.base
    return {
        "formatVersion": CHECK_FORMAT_VERSION,
        "directory": result.directory,
        "fleet": result.fleet,
        "awsManagedPolicies": dict(result.snapshot),
        "base": None
        if base is None
        else {"ref": base.ref, "commit": base.commit, "error": base.error, "note": base.note},
        "summary": {
            "accounts": len(result.accounts),
            "refused": sum(1 for a in result.accounts if a.report.refuses),
            "errors": result.errors,
            "warnings": result.warnings,
            "new": sum(len(c.new) for c in comparisons) if comparisons else None,
            "fixed": sum(len(c.fixed) for c in comparisons) if comparisons else None,
            "unchanged": sum(len(c.unchanged) for c in comparisons) if comparisons else None,
            "exitStatus": result.exit_status,
        },
        "accounts": [
            {
                "name": a.name,
                "accountId": a.account_id,
                "region": a.region,
                "resources": a.resources,
                "exitStatus": a.exit_status,
                "findings": findings_to_dict(a.report),
                "comparison": a.comparison.to_dict() if a.comparison is not None else None,
                "accessDiff": a.access_diff.to_dict() if a.access_diff is not None else None,
            }
            for a in result.accounts
        ],
    }


def render_check_json(result: CheckResult) -> str:
    return json.dumps(check_to_dict(result), indent=2) + "\n"


# ---------------------------------------------------------------------------------------------- Markdown

# A comment is assembled from parts; rows of a table may be left out (from the first that does not fit on) when
# the whole does not fit, and a notice then says how many.
_Part = tuple[str, bool]  # (text, droppable)


def _cell(text: str) -> str:
    return _md(text if len(text) <= _CELL else text[:_CELL] + " ... (shortened)")


def _row(finding: Finding, mark: str | None) -> str:
    where = _md_code(finding.location) if finding.location else ""
    hint = f"<br>*hint:* {_cell(finding.hint)}" if finding.hint else ""
    first = f"| {mark} " if mark is not None else ""
    return (
        f"{first}| {finding.severity.value} | {_md_code(finding.rule)} | {_md_code(finding.resource)} | {where} "
        f"| {_cell(finding.message)}{hint} |\n"
    )


def _table(title: str, findings: Sequence[tuple[Finding, str | None]], marks: bool) -> list[_Part]:
    if not findings:
        return []
    head = f"{title}\n\n" + ("| | " if marks else "| ") + "Severity | Rule | Resource | Where | Finding |\n"
    head += ("| --- | " if marks else "| ") + "--- | --- | --- | --- | --- |\n"
    return [(head, False), *((_row(f, m), True) for f, m in findings), ("\n", False)]


def _account_parts(result: CheckResult, account: AccountCheck, level: str) -> list[_Part]:
    report, comparison, base = account.report, account.comparison, result.base
    parts: list[_Part] = [(f"**{_md(report.summary())}**\n\n", False)]
    if base is not None and base.error is not None:
        parts.append((f"> Not compared with {_md_code(base.ref)}: {_md(base.error)}\n\n", False))
    if comparison is not None:
        if result.fleet:  # one account: the heading says it
            note = f" ({_md(comparison.note)})" if comparison.note else ""
            compared = f"Compared with {_md_code(comparison.base)}: {_md(comparison.summary())}{note}.\n\n"
            parts.append((compared, False))
        elif comparison.note:
            parts.append((f"> {_md(comparison.note)}\n\n", False))
        rows = [(f, "🆕 new") for f in comparison.new] + [(f, "unchanged") for f in comparison.unchanged]
        parts += _table(f"{level} Findings", rows, marks=True)
        parts += _table(
            f"{level} Fixed since {_md_code(comparison.base)}", [(f, "✔ fixed") for f in comparison.fixed], True
        )
    else:
        parts += _table(f"{level} Findings", [(f, None) for f in report.findings], marks=False)
    if report.exceptions_used:
        lines = "".join(
            f"- {_md_code(u.rule)} {_md_code(u.resource)}: {_cell(u.reason)} ({u.matched} finding(s) excepted)\n"
            for u in report.exceptions_used
        )
        parts.append((f"{level} Exceptions in use (Settings.exceptions)\n\n{lines}\n", False))
    if account.access_diff is not None:
        section = account.access_diff.render_markdown()
        if section:
            parts.append((section.rstrip("\n") + "\n\n", False))
    return parts


def _markdown_head(result: CheckResult) -> str:
    errors, warnings = result.errors, result.warnings
    title = (
        f"## ⛔ Reconciler check: {errors:,} error finding(s), {warnings:,} warning(s)"
        if errors
        else f"## ✅ Reconciler check: no error finding ({warnings:,} warning(s))"
    )
    s = result.snapshot
    source = f"{s['source']} {s['version']}"
    head = (
        f"{title}\n\nThe security rules on the manifests of {_md_code(result.directory)}, offline (no AWS account); "
        f"AWS managed policies from the snapshot of {_md(s['updatedAt'])} ({_md(source)}).\n\n"
    )
    comparisons = [a.comparison for a in result.accounts if a.comparison is not None]
    if result.base is not None and comparisons:
        new = sum(len(c.new) for c in comparisons)
        fixed = sum(len(c.fixed) for c in comparisons)
        head += f"Compared with {_md_code(result.base.ref)} ({_md_code(result.base.commit[:12])}): "
        unchanged = sum(len(c.unchanged) for c in comparisons)
        head += f"**{new:,} new**, {fixed:,} fixed, {unchanged:,} unchanged.\n\n"
    return head


def _fleet_table(result: CheckResult) -> str:
    with_base = any(a.comparison is not None for a in result.accounts)
    head = "| Account | ID | Region | Result | Errors | Warnings |" + (" New | Fixed |" if with_base else "")
    rule = "| --- | --- | --- | --- | ---: | ---: |" + (" ---: | ---: |" if with_base else "")
    rows = []
    for a in result.accounts:
        row = (
            f"| {_md_code(a.label)} | {_md_code(a.account_id)} | {_md(a.region or '-')} | "
            f"{'⛔ refused' if a.report.refuses else '✅ passed'} | {len(a.report.errors)} | {len(a.report.warnings)} |"
        )
        if with_base:
            c = a.comparison
            row += f" {len(c.new) if c else '-'} | {len(c.fixed) if c else '-'} |"
        rows.append(row + "\n")
    return f"{head}\n{rule}\n{''.join(rows)}\n"


def _notice(omitted: int, total: int, limit: int) -> str:
    return (
        f"> ⚠ Output truncated: {omitted:,} of {total:,} table rows left out ({limit:,}-character comment limit). "
        "Run `reconciler check` locally, or see the code-scanning annotations (SARIF), for all of them.\n\n"
    )


def render_check_markdown(result: CheckResult, *, limit: int = MARKDOWN_LIMIT) -> str:
    """The check as a pull-request comment of at most ``limit`` characters."""
    parts: list[_Part] = []
    if result.fleet:
        parts.append((_fleet_table(result), False))
        for account in result.accounts:
            parts.append((f"### Account {_md_code(account.label)} ({_md_code(account.account_id)})\n\n", False))
            parts += _account_parts(result, account, "####")
    else:
        for account in result.accounts:
            parts += _account_parts(result, account, "###")
    head = _markdown_head(result)
    total = sum(1 for _, droppable in parts if droppable)
    fixed = len(head) + sum(len(text) for text, droppable in parts if not droppable)
    budget = limit - fixed - len(_notice(total, total, limit))
    kept: list[str] = []
    omitted = 0
    for text, droppable in parts:
        if droppable and (omitted or len(text) > budget):
            omitted += 1
            continue
        if droppable:
            budget -= len(text)
        kept.append(text)
    body = (head + (_notice(omitted, total, limit) if omitted else "") + "".join(kept)).rstrip("\n") + "\n"
    if len(body) <= limit:
        return body
    # Even the headings do not fit (thousands of accounts): cut, and say so.
    return (
        body[: limit - 200].rstrip("\n") + "\n\n... (cut at the comment size limit: run `reconciler check` locally)\n"
    )


def render_problems_markdown(
    directory: str, problems: Sequence[ManifestProblem], *, limit: int = MARKDOWN_LIMIT
) -> str:
    """Invalid manifests (exit 1) as a pull-request comment: one line per problem, located."""
    head = f"## ❌ Reconciler check: the manifests of {_md_code(directory)} are invalid\n\n"
    head += f"{len(problems):,} problem(s); nothing was checked.\n\n"
    lines = [
        f"- {_md_code(f'{p.file}:{p.line}:{p.col}')} "
        + _cell(": ".join(x for x in (p.resource, p.field, p.message) if x))
        + "\n"
        for p in problems
    ]
    out, used = [head], len(head) + 200
    for index, line in enumerate(lines):
        if used + len(line) > limit:
            out.append(f"\n... and {len(lines) - index:,} more problem(s): run `reconciler validate` locally.\n")
            break
        out.append(line)
        used += len(line)
    return "".join(out)
