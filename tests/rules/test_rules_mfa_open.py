"""MFA conditions that fail open (MFA004), and what counts as enforcing MFA (MFA001)."""

from __future__ import annotations

from typing import Any

from rules_support import Evaluator, group, hits, policy, user

from reconciler.rules import Severity

SELF_SERVICE = ["iam:CreateVirtualMFADevice", "iam:EnableMFADevice", "iam:ListMFADevices", "sts:GetSessionToken"]


def _deny(condition: dict[str, Any]) -> dict[str, Any]:
    return {"Effect": "Deny", "NotAction": SELF_SERVICE, "Resource": "*", "Condition": condition}


def _allow(condition: dict[str, Any]) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*", "Condition": condition}


def test_mfa004_the_forms_that_fail_open(check: Evaluator) -> None:
    report = check(
        policy("bool", _deny({"Bool": {"aws:MultiFactorAuthPresent": "false"}})),
        policy("string", _deny({"StringEquals": {"aws:MultiFactorAuthPresent": "false"}})),
        policy("age", _deny({"NumericGreaterThan": {"aws:MultiFactorAuthAge": "3600"}})),
        policy("allow-ifexists", _allow({"BoolIfExists": {"aws:MultiFactorAuthPresent": "true"}})),
        policy("allow-age", _allow({"NumericLessThanIfExists": {"aws:MultiFactorAuthAge": "3600"}})),
        policy("any-value", _deny({"ForAnyValue:StringEquals": {"aws:MultiFactorAuthPresent": "false"}})),
        # and the forms that hold for access keys too
        policy("ok-ifexists", _deny({"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}})),
        policy("ok-null", _deny({"Null": {"aws:MultiFactorAuthAge": "true"}})),
        policy("ok-age", _deny({"NumericGreaterThanIfExists": {"aws:MultiFactorAuthAge": "3600"}})),
        policy("ok-allow", _allow({"Bool": {"aws:MultiFactorAuthPresent": "true"}})),
        policy("ok-negated", _deny({"StringNotEquals": {"aws:MultiFactorAuthPresent": "true"}})),
        policy("ok-all-values", _deny({"ForAllValues:StringEquals": {"aws:MultiFactorAuthPresent": "false"}})),
    )
    assert hits(report, "MFA004") == [
        "Policy/age",
        "Policy/allow-age",
        "Policy/allow-ifexists",
        "Policy/any-value",
        "Policy/bool",
        "Policy/string",
    ]
    by = {f.resource: f for f in report.of("MFA004")}
    assert all(f.severity is Severity.ERROR for f in by.values())
    assert "access key" in by["Policy/bool"].message
    assert by["Policy/bool"].hint == 'write Condition: {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}}'
    assert (
        by["Policy/age"].hint == 'write Condition: {"NumericGreaterThanIfExists": {"aws:MultiFactorAuthAge": "3600"}}'
    )
    assert by["Policy/allow-ifexists"].hint == 'write Condition: {"Bool": {"aws:MultiFactorAuthPresent": "true"}}'


def test_mfa001_the_bool_form_does_not_enforce_mfa(check: Evaluator) -> None:
    report = check(
        policy("bool", _deny({"Bool": {"aws:MultiFactorAuthPresent": "false"}})),
        policy("ifexists", _deny({"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}})),
        group("Bool", "bool", mfa=False),
        group("IfExists", "ifexists", mfa=False),
        user("ann", "Bool"),
        user("ben", "IfExists"),
    )
    assert hits(report, "MFA001") == ["User/ann"]
    message = report.of("MFA001")[0].message
    assert "Group/Bool denies without MFA under Bool aws:MultiFactorAuthPresent" in message and "MFA004" in message
    assert hits(report, "MFA004") == ["Policy/bool"]


def test_mfa002_a_lockout_in_the_bool_form_still_locks_out(check: Evaluator) -> None:
    everything = {"Effect": "Deny", "Action": "*", "Resource": "*"}
    report = check(policy("hard", {**everything, "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "false"}}}))
    assert hits(report, "MFA002") == ["Policy/hard"]
    assert hits(report, "MFA004") == ["Policy/hard"]
