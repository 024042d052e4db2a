"""``Settings.exceptions``: deliberate, reasoned exceptions to a rule on a resource (or a glob of them), each
with an owner and possibly an expiry; and what ``management: observe`` does to the findings it leaves.

An exception that names a resource exactly wins over a glob that also matches. An expired exception excuses
nothing (EXC002 says so, at its line); one that excuses nothing is EXC001. The findings that stand on an
observed resource are reported but never refuse: the reconciler writes nothing to that resource, so there
is no change of its to refuse (they become warnings, "observed, not enforced").
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import replace

from reconciler import clock
from reconciler.manifests.model import PolicyException, Settings
from reconciler.rules.catalog import catalog
from reconciler.rules.findings import ExceptedFinding, ExceptionUse, Finding, Report, Severity
from reconciler.rules.registry import BY_ID

__all__ = ["OBSERVED_PREFIX", "apply_exceptions", "relax_observed"]

#: How a finding on an observed resource reads (it is a warning: the resource is never written).
OBSERVED_PREFIX = "observed, not enforced: "


def _matcher(exceptions: Sequence[PolicyException], active: Sequence[bool]) -> dict[tuple[str, str], int]:
    """(rule, exact resource) -> index of the first active exact exception."""
    exact: dict[tuple[str, str], int] = {}
    for i, e in enumerate(exceptions):
        if active[i] and not e.is_glob:
            exact.setdefault((e.rule, e.resource), i)
    return exact


def apply_exceptions(
    findings: Iterable[Finding],
    settings: Settings | None,
    *,
    origin: str | frozenset[str],
    subject: str,
    observed: frozenset[str] = frozenset(),
    now: dt.datetime | None = None,
) -> Report:
    """Split findings into standing and excepted; report exceptions that expired (EXC002) or match nothing
    (EXC001); relax what stands on ``observed`` resources (``Kind/name``) to warnings.

    An exception for a rule that does not run on ``origin`` (an AUD rule during plan, say) is neither used
    nor reported unused there. ``reconciler check`` gives two origins: its rules are the plan's and its own.
    """
    origins = frozenset({origin}) if isinstance(origin, str) else origin
    exceptions: Sequence[PolicyException] = settings.exceptions if settings is not None else ()
    instant = now or clock.now()
    active = [not e.expired(instant) for e in exceptions]
    exact = _matcher(exceptions, active)
    globs = [i for i, e in enumerate(exceptions) if active[i] and e.is_glob]
    standing: list[Finding] = []
    excepted: list[ExceptedFinding] = []
    matched = [0] * len(exceptions)
    for finding in findings:
        index = exact.get((finding.rule, finding.resource))
        if index is None:
            index = next(
                (i for i in globs if exceptions[i].rule == finding.rule and exceptions[i].matches(finding.resource)),
                None,
            )
        if index is None:
            standing.append(finding)
        else:
            matched[index] += 1
            excepted.append(ExceptedFinding(finding, exceptions[index].reason))
    used: list[ExceptionUse] = []
    settings_ref = f"Settings/{settings.name}" if settings else "Settings"
    for index, exc in enumerate(exceptions):
        location = settings.source.where("spec", "exceptions", index) if settings and settings.source else None
        if not active[index]:
            standing.append(
                Finding(
                    "EXC002",
                    Severity.WARNING,
                    settings_ref,
                    location,
                    f"the exception {exc.rule} {exc.resource} (owner {exc.owner}) expired at {exc.expires_at}: "
                    "it excuses nothing now",
                    "review it again and set a new expiresAt, or remove it and fix what it excused",
                )
            )
            continue
        if matched[index]:
            used.append(
                ExceptionUse(exc.rule, exc.resource, exc.reason, location, matched[index], exc.owner, exc.expires_at)
            )
            continue
        rule = BY_ID.get(exc.rule)
        if rule is not None and not origins & rule.applies_to:
            continue
        why = f"there is no rule {exc.rule}" if rule is None else f"no {exc.rule} finding on {exc.resource}"
        standing.append(
            Finding(
                "EXC001",
                Severity.WARNING,
                settings_ref,
                location,
                f"the exception {exc.rule} {exc.resource} matches nothing ({why})",
                "remove the exception, or correct its rule id / resource",
            )
        )
    return Report(
        tuple(relax_observed(standing, observed)), tuple(excepted), tuple(used), subject, catalog().describe()
    )


def relax_observed(findings: Iterable[Finding], observed: frozenset[str]) -> list[Finding]:
    """The findings, with the errors on observed resources turned into warnings that say why."""
    if not observed:
        return list(findings)
    return [
        replace(f, severity=Severity.WARNING, message=OBSERVED_PREFIX + f.message)
        if f.severity is Severity.ERROR and f.resource in observed
        else f
        for f in findings
    ]
