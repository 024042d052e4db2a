"""Exceptions with an owner, an expiry and globs; findings on observed resources (issue: adopting in steps)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from rules_support import Evaluator, Loader, allow, hits, policy

from reconciler import clock
from reconciler.errors import ManifestError
from reconciler.rules import Severity, evaluate, findings_to_dict, render_findings_text

PASS_ANY = allow("iam:PassRole", "*")
NOW = dt.datetime(2026, 12, 7, 9, tzinfo=dt.UTC)


def exc(resource: str, rule: str = "LP003", **extra: Any) -> dict[str, Any]:
    return {"rule": rule, "resource": resource, "reason": "reviewed in SEC-9", "owner": "sec@example.com", **extra}


def observed(doc: dict[str, Any]) -> dict[str, Any]:
    return {**doc, "metadata": {**doc["metadata"], "management": "observe"}}


def test_a_glob_exception_excuses_every_matching_resource_and_counts_them(check: Evaluator) -> None:
    with clock.frozen(NOW):
        report = check(
            policy("legacy-a", PASS_ANY),
            policy("legacy-b", PASS_ANY),
            policy("fresh", PASS_ANY),
            exceptions=[exc("Policy/legacy-*", expiresAt="2027-01-31")],
        )
    assert hits(report, "LP003") == ["Policy/fresh"]  # the glob names only its family
    [use] = report.exceptions_used
    assert (use.resource, use.matched, use.owner, use.expires_at) == (
        "Policy/legacy-*",
        2,
        "sec@example.com",
        "2027-01-31",
    )
    text = render_findings_text(report)
    assert (
        "LP003 Policy/legacy-*: reviewed in SEC-9 (2 finding(s) excepted; owner sec@example.com, until 2027-01-31)"
        in text
    )
    assert findings_to_dict(report)["exceptionsInUse"][0]["owner"] == "sec@example.com"


def test_an_exact_exception_wins_over_a_glob_and_the_glob_alone_is_then_unused(check: Evaluator) -> None:
    with clock.frozen(NOW):
        report = check(
            policy("legacy-a", PASS_ANY),
            exceptions=[exc("Policy/legacy-*", expiresAt="2027-01-31"), exc("Policy/legacy-a")],
        )
    assert [(u.resource, u.matched) for u in report.exceptions_used] == [("Policy/legacy-a", 1)]
    assert hits(report, "EXC001") == ["Settings/test"]


def test_an_expired_exception_excuses_nothing_and_says_so(check: Evaluator) -> None:
    exceptions = [exc("Policy/pass", expiresAt="2026-12-06")]
    with clock.frozen("2026-12-06T23:59:59Z"):  # a date holds until the end of that day, UTC
        assert not check(policy("pass", PASS_ANY), exceptions=exceptions).refuses
    with clock.frozen("2026-12-07T00:00:00Z"):
        report = check(policy("pass", PASS_ANY), exceptions=exceptions)
    assert report.refuses and hits(report, "LP003") == ["Policy/pass"]
    [expired] = report.of("EXC002")
    assert expired.severity is Severity.WARNING and expired.location and "settings.yaml" in expired.location
    assert "expired at 2026-12-06" in expired.message and "sec@example.com" in expired.message
    assert report.exceptions_used == ()


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        (exc("Policy/legacy-*"), "needs an expiresAt at most 90 days ahead"),
        (exc("Policy/legacy-?", expiresAt="2027-03-08"), "expires at most 90 days ahead (by 2027-03-07)"),
        (exc("Policy/legacy-[ab]", expiresAt="2027-03-08T00:00:01Z"), "expires at most 90 days ahead"),
    ],
)
def test_a_glob_without_a_near_expiry_is_refused_at_its_line(load: Loader, entry: dict[str, Any], message: str) -> None:
    with clock.frozen(NOW), pytest.raises(ManifestError) as raised:
        load(policy("legacy-a", PASS_ANY), exceptions=[entry])
    [problem] = raised.value.problems
    assert problem.file == "m/settings.yaml" and problem.line > 1
    assert message in problem.message


def test_a_glob_expiring_within_90_days_and_an_exact_name_without_expiry_load(load: Loader) -> None:
    with clock.frozen(NOW):
        desired = load(
            policy("legacy-a", PASS_ANY),
            exceptions=[exc("Policy/legacy-*", expiresAt="2027-03-07"), exc("Policy/legacy-a", rule="LP001")],
        )
    assert [(e.resource, e.is_glob, e.expires_at) for e in desired.settings.exceptions] == [
        ("Policy/legacy-*", True, "2027-03-07"),
        ("Policy/legacy-a", False, None),
    ]


def test_findings_on_an_observed_resource_are_warnings_and_never_refuse(load: Loader, check: Evaluator) -> None:
    desired = load(observed(policy("handmade", PASS_ANY)), policy("ours", PASS_ANY))
    report = evaluate(desired, {})
    assert desired.observed == frozenset({"Policy/handmade"})
    by_resource = {f.resource: f for f in report.of("LP003")}
    assert by_resource["Policy/ours"].severity is Severity.ERROR
    relaxed = by_resource["Policy/handmade"]
    assert relaxed.severity is Severity.WARNING and relaxed.message.startswith("observed, not enforced: ")
    # Enforced again, the same finding refuses.
    alone = evaluate(load(observed(policy("handmade", PASS_ANY))), {})
    assert not alone.refuses
    assert evaluate(load(policy("handmade", PASS_ANY)), {}).refuses
