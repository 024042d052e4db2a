"""Findings and the report: immutable values, in a deterministic order, rendered as text or JSON.

The JSON form is documented by ``schemas/findings.schema.json``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

__all__ = [
    "ExceptedFinding",
    "ExceptionUse",
    "Finding",
    "Report",
    "Severity",
    "findings_lines",
    "findings_to_dict",
    "render_findings_json",
    "render_findings_text",
]

FINDINGS_FORMAT_VERSION = 1


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"

    @property
    def rank(self) -> int:
        return 0 if self is Severity.ERROR else 1


@dataclass(frozen=True)
class Finding:
    """One rule violation on one resource."""

    rule: str
    severity: Severity
    resource: str  # "Kind/name"
    location: str | None  # "file:line:col" in the manifests; None for what exists only in the account
    message: str
    hint: str

    @property
    def sort_key(self) -> tuple[int, str, str, str, str]:
        return (self.severity.rank, self.rule, self.resource, self.location or "", self.message)

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "severity": self.severity.value,
            "resource": self.resource,
            "location": self.location,
            "message": self.message,
            "hint": self.hint,
        }


@dataclass(frozen=True)
class ExceptionUse:
    """A ``Settings.exceptions`` entry and how many findings it turned off."""

    rule: str
    resource: str
    reason: str
    location: str | None
    matched: int
    owner: str = ""
    expires_at: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "resource": self.resource,
            "reason": self.reason,
            "owner": self.owner,
            "expiresAt": self.expires_at,
            "location": self.location,
            "matched": self.matched,
        }


@dataclass(frozen=True)
class ExceptedFinding:
    finding: Finding
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {**self.finding.to_dict(), "exceptionReason": self.reason}


def _sorted(findings: Iterable[Finding]) -> tuple[Finding, ...]:
    return tuple(sorted(set(findings), key=lambda f: f.sort_key))


@dataclass(frozen=True)
class Report:
    """The result of evaluating the rules.

    ``findings``: what stands (errors refuse a change); ``excepted``: findings a ``Settings.exceptions``
    entry turned off (shown, never refusing); ``exceptions_used``: the entries that matched something.
    """

    findings: tuple[Finding, ...] = ()
    excepted: tuple[ExceptedFinding, ...] = ()
    exceptions_used: tuple[ExceptionUse, ...] = ()
    subject: str = "manifests"  # "manifests" (plan/apply) or "account" (audit)
    catalog: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "findings", _sorted(self.findings))
        object.__setattr__(self, "excepted", tuple(sorted(self.excepted, key=lambda e: e.finding.sort_key)))
        object.__setattr__(
            self, "exceptions_used", tuple(sorted(self.exceptions_used, key=lambda e: (e.rule, e.resource)))
        )

    @property
    def errors(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.severity is Severity.ERROR)

    @property
    def warnings(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.severity is Severity.WARNING)

    @property
    def refuses(self) -> bool:
        """True when an error stands (not excepted): plan exits 3, apply writes nothing, audit exits 3."""
        return bool(self.errors)

    @property
    def exit_code(self) -> int:
        """3 when the report refuses, else 0 (the audit's exit status)."""
        return 3 if self.refuses else 0

    def summary(self) -> str:
        parts = [f"{len(self.errors)} error(s)", f"{len(self.warnings)} warning(s)"]
        if self.excepted:
            parts.append(f"{len(self.excepted)} excepted")
        verdict = "refused" if self.refuses else "passed"
        return f"Invariants {verdict}: {', '.join(parts)}."

    def of(self, rule: str) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.rule == rule)


# --------------------------------------------------------------------------------------------------
# Rendering
# --------------------------------------------------------------------------------------------------

_COLORS = {Severity.ERROR: "\033[31m", Severity.WARNING: "\033[33m"}
_DIM = "\033[2m"
_RESET = "\033[0m"


def render_findings_text(report: Report, color: bool = False, *, quiet_when_clean: bool = False) -> str:
    """Human-readable report: one block per finding, then the exceptions in use, then a summary line.

    ``quiet_when_clean``: return ``""`` when there is nothing to show (no finding, no exception in use),
    so that a clean plan prints only the plan.
    """
    return "\n".join(findings_lines(report, color, quiet_when_clean=quiet_when_clean))


def findings_lines(report: Report, color: bool = False, *, quiet_when_clean: bool = False) -> Iterator[str]:
    """:func:`render_findings_text` line by line (without line ends): what a command writes as it goes, so that
    tens of thousands of findings are never one string in memory."""
    if quiet_when_clean and not (report.findings or report.excepted or report.exceptions_used):
        return

    def paint(text: str, code: str) -> str:
        return f"{code}{text}{_RESET}" if color else text

    subject = "the account" if report.subject == "account" else "the manifests"
    catalog = report.catalog.get("updatedAt")
    yield f"Security invariants on {subject}" + (f" (IAM catalog of {catalog})" if catalog else "") + ":"
    if not report.findings:
        yield "  no findings"
    for f in report.findings:
        where = f"  {f.location}" if f.location else ""
        yield f"{paint(f.severity.value.ljust(7), _COLORS[f.severity])} {f.rule:<7} {f.resource}{where}"
        yield f"        {f.message}"
        if f.hint:
            yield paint(f"        hint: {f.hint}", _DIM)
    if report.exceptions_used or report.excepted:
        yield "Exceptions in use (Settings.exceptions):"
        for use in report.exceptions_used:
            where = f"  {use.location}" if use.location else ""
            until = f", until {use.expires_at}" if use.expires_at else ""
            yield (
                f"  {use.rule} {use.resource}: {use.reason} ({use.matched} finding(s) excepted; "
                f"owner {use.owner}{until}){where}"
            )
        for excepted in report.excepted:
            f = excepted.finding
            yield paint(f"    excepted {f.severity.value} {f.rule} {f.resource}: {f.message}", _DIM)
    yield report.summary()


def findings_to_dict(report: Report) -> dict[str, Any]:
    """The JSON-ready form (``schemas/findings.schema.json``)."""
    return {
        "formatVersion": FINDINGS_FORMAT_VERSION,
        "subject": report.subject,
        "catalog": dict(report.catalog),
        "summary": {
            "errors": len(report.errors),
            "warnings": len(report.warnings),
            "excepted": len(report.excepted),
            "refuses": report.refuses,
        },
        "findings": [f.to_dict() for f in report.findings],
        "excepted": [e.to_dict() for e in report.excepted],
        "exceptionsInUse": [u.to_dict() for u in report.exceptions_used],
    }


def render_findings_json(report: Report) -> str:
    return json.dumps(findings_to_dict(report), indent=2, sort_keys=False)
