"""``Settings.exceptions``: deliberate, reasoned exceptions to a rule on one resource."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from reconciler.manifests.model import PolicyException, Settings
from reconciler.rules.catalog import catalog
from reconciler.rules.findings import ExceptedFinding, ExceptionUse, Finding, Report, Severity
from reconciler.rules.registry import BY_ID


def apply_exceptions(
    findings: Iterable[Finding], settings: Settings | None, *, origin: str | frozenset[str], subject: str
) -> Report:
    """Split findings into standing and excepted; an exception that matches nothing is EXC001.

    An exception for a rule that does not run on ``origin`` (an AUD rule during plan, say) is neither used
    nor reported unused there. ``reconciler check`` gives two origins: its rules are the plan's and its own.
    """
    origins = frozenset({origin}) if isinstance(origin, str) else origin
    exceptions: Sequence[PolicyException] = settings.exceptions if settings is not None else ()
    standing: list[Finding] = []
    excepted: list[ExceptedFinding] = []
    matched = [0] * len(exceptions)
    for finding in findings:
        index = next(
            (i for i, e in enumerate(exceptions) if e.rule == finding.rule and e.resource == finding.resource), None
        )
        if index is None:
            standing.append(finding)
        else:
            matched[index] += 1
            excepted.append(ExceptedFinding(finding, exceptions[index].reason))
    used: list[ExceptionUse] = []
    for index, exc in enumerate(exceptions):
        location = settings.source.where("spec", "exceptions", index) if settings and settings.source else None
        if matched[index]:
            used.append(ExceptionUse(exc.rule, exc.resource, exc.reason, location, matched[index]))
            continue
        rule = BY_ID.get(exc.rule)
        if rule is not None and not origins & rule.applies_to:
            continue
        why = f"there is no rule {exc.rule}" if rule is None else f"no {exc.rule} finding on {exc.resource}"
        standing.append(
            Finding(
                "EXC001",
                Severity.WARNING,
                f"Settings/{settings.name}" if settings else "Settings",
                location,
                f"the exception {exc.rule} {exc.resource} matches nothing ({why})",
                "remove the exception, or correct its rule id / resource",
            )
        )
    return Report(tuple(standing), tuple(excepted), tuple(used), subject, catalog().describe())
