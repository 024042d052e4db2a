"""Policy language (POL001-POL005) and unknown condition keys, global ones included (LP009): on every kind of
document people write, on the manifests and in the account."""

from __future__ import annotations

import json
from typing import Any

from rules_support import ACCOUNT, Evaluator, allow, bucket, group, hits, manifest, policy, role

from reconciler.aws.live import LiveState
from reconciler.kinds.group import LiveGroup
from reconciler.kinds.group.guard import GROUP_GUARD_POLICY
from reconciler.kinds.role import LiveRole
from reconciler.policydoc.measure import document_size, written_version
from reconciler.rules import Report, Severity, evaluate_model
from reconciler.rules.conditions import close_global_key, global_key_known, parse_operator, value_problem
from reconciler.rules.fromlive import from_live

OBJECTS = "arn:aws:s3:::sagemaker-result/*"


def _doc(*statements: dict[str, Any], version: str | None = "2012-10-17") -> dict[str, Any]:
    out: dict[str, Any] = {"Statement": list(statements)}
    if version is not None:
        out["Version"] = version
    return out


def _live(**inline: dict[str, Any]) -> Report:
    """A managed role in the account with these inline policies, and a guarded group."""
    trust = _doc({"Effect": "Allow", "Principal": {"Service": "sagemaker.amazonaws.com"}, "Action": "sts:AssumeRole"})
    roles = {"r": LiveRole("r", f"arn:aws:iam::{ACCOUNT}:role/r", "/", trust, inline=inline, tags={"managed-by": "x"})}
    guard = _doc({"Effect": "Deny", "NotAction": "iam:*", "Resource": "*"})
    groups = {"g": LiveGroup("g", f"arn:aws:iam::{ACCOUNT}:group/g", "/", inline={GROUP_GUARD_POLICY: guard})}
    live = LiveState(ACCOUNT, "ap-northeast-1", {"Role": roles, "Group": groups})
    return evaluate_model(from_live(live, ownership=("managed-by", "x")))


# ------------------------------------------------------------------------------------------- the pieces


def test_what_iam_counts_of_a_document() -> None:
    doc = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}
    compact = '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}'
    assert document_size(doc) == len(compact)
    assert document_size(doc) == document_size('{\n  "Version": "2012-10-17",\n' + compact[24:])
    assert written_version(doc) == "2012-10-17" and written_version({"Statement": []}) is None


def test_the_size_leaves_out_every_kind_of_whitespace() -> None:
    """Counted as IAM counts, whatever whitespace a value holds: every character str.isspace() finds (tabs,
    no-break and ideographic spaces, line and paragraph separators...) is left out, and nothing else."""
    spaces = "".join(c for c in map(chr, range(0x3100)) if c.isspace())
    doc = {"Statement": [{"Sid": f"a{spaces}b\u00e9\u200bc", "Effect": "Allow", "Action": "s3:Get*", "Resource": "*"}]}
    text = json.dumps(doc, separators=(",", ":"), ensure_ascii=False)
    assert document_size(doc) == sum(1 for char in text if not char.isspace()) < len(text)


def test_operators_taken_apart() -> None:
    op = parse_operator("ForAnyValue:StringLikeIfExists")
    assert (op.set_prefix, op.base, op.if_exists) == ("ForAnyValue:", "StringLike", True)
    assert parse_operator("StringEqual").base is None
    assert parse_operator("NullIfExists").base == "Null"
    assert value_problem("Bool", "yes") and value_problem("Bool", "True") is None
    assert value_problem("Date", "2026-02-30") and value_problem("Date", "2026-12-31T23:59:59Z") is None
    assert value_problem("IpAddress", "10.0.0.0/33") and value_problem("IpAddress", "2001:db8::/32") is None
    assert value_problem("Numeric", "${aws:username}") is None  # a variable is known per request only


def test_global_keys() -> None:
    assert global_key_known("aws:SourceIP") and global_key_known("aws:PrincipalTag/team")
    assert not global_key_known("aws:PrincipalTag/") and not global_key_known("aws:SourceIpp")
    assert close_global_key("aws:SourceIpp") == "aws:SourceIp"
    assert close_global_key("aws:ResourceTags/team") == "aws:ResourceTag/team"


# ------------------------------------------------------------------------------------------------ POL001/2


def test_pol001_version_2008_and_missing_in_the_account(check: Evaluator) -> None:
    report = check(manifest("Policy", "old", {"document": _doc(allow("s3:GetObject", OBJECTS), version="2008-10-17")}))
    assert hits(report, "POL001") == ["Policy/old"]
    assert report.of("POL001")[0].severity is Severity.WARNING
    # a manifest without Version gets the schema's default, 2012-10-17
    assert (
        hits(
            check(manifest("Policy", "none", {"document": _doc(allow("s3:GetObject", OBJECTS), version=None)})),
            "POL001",
        )
        == []
    )
    live = _live(nov=_doc(allow("s3:GetObject", OBJECTS), version=None), fine=_doc(allow("s3:GetObject", OBJECTS)))
    assert [f.message.split(":")[0] for f in live.of("POL001")] == ["inline policy 'nov' of Role/r has no Version"]


def test_pol002_policy_variables_need_2012(check: Evaluator) -> None:
    home = allow("s3:GetObject", "arn:aws:s3:::b/home/${aws:username}/*")
    tagged = allow(
        "s3:GetObject", OBJECTS, Condition={"StringEquals": {"s3:ExistingObjectTag/team": "${aws:PrincipalTag/team}"}}
    )
    report = check(
        manifest("Policy", "home", {"document": _doc(home, version="2008-10-17")}),
        manifest("Policy", "tagged", {"document": _doc(tagged, version="2008-10-17")}),
        manifest("Policy", "fine", {"document": _doc(home)}),
    )
    assert hits(report, "POL002") == ["Policy/home", "Policy/tagged"]
    assert hits(report, "POL001") == []  # POL002 says it
    assert "${aws:PrincipalTag/team}" in next(f.message for f in report.of("POL002") if f.resource == "Policy/tagged")
    assert hits(_live(nov=_doc(home, version=None)), "POL002") == ["Role/r"]


# ------------------------------------------------------------------------------------------------ POL003


def test_pol003_duplicate_sids_in_policies_trusts_and_bucket_extras(check: Evaluator) -> None:
    read = {"Sid": "Read", **allow("s3:GetObject", OBJECTS)}
    trust = _doc(
        {
            "Sid": "T",
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:role/a"},
            "Action": "sts:AssumeRole",
        },
        {
            "Sid": "T",
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:role/b"},
            "Action": "sts:AssumeRole",
        },
    )
    reuse = {
        "Sid": "DenyInsecureTransport",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:DeleteObject",
        "Resource": "arn:aws:s3:::data/*",
    }
    report = check(
        manifest("Policy", "twice", {"document": _doc(read, read)}),
        manifest("Policy", "once", {"document": _doc(read, {"Sid": "Write", **allow("s3:PutObject", OBJECTS)})}),
        role("r", trust=trust),
        bucket("data", policy=[reuse]),
        manifest(
            "KmsKey",
            "k",
            {
                "policy": _doc(
                    *[{"Sid": "Use", "Effect": "Allow", "Principal": "*", "Action": "kms:Decrypt", "Resource": "*"}] * 2
                )
            },
        ),
    )
    assert hits(report, "POL003") == ["Bucket/data", "KmsKey/k", "Policy/twice", "Role/r"]
    on_bucket = next(f for f in report.of("POL003") if f.resource == "Bucket/data")
    assert on_bucket.location is not None  # the extra statement people wrote, not the generated one
    assert "DenyInsecureTransport" in on_bucket.message


# ------------------------------------------------------------------------------------------------ POL004


def test_pol004_operators(check: Evaluator) -> None:
    def cond(condition: dict[str, Any], effect: str = "Allow") -> dict[str, Any]:
        return {"Effect": effect, "Action": "s3:GetObject", "Resource": OBJECTS, "Condition": condition}

    report = check(
        policy("typo", cond({"StringEqual": {"aws:SourceVpce": "vpce-1"}})),
        policy("nullifexists", cond({"NullIfExists": {"aws:TokenIssueTime": "false"}})),
        policy("setnull", cond({"ForAnyValue:Null": {"aws:TagKeys": "false"}})),
        policy("allvalues", cond({"ForAllValues:StringEquals": {"aws:SourceVpc": "vpc-1"}})),
        policy("anyvalue", cond({"ForAnyValue:StringEquals": {"aws:SourceVpc": "vpc-1"}})),
        policy(
            "fine",
            cond({"ForAllValues:StringEquals": {"aws:TagKeys": ["team"]}, "stringequals": {"aws:SourceVpce": "v"}}),
        ),
    )
    assert hits(report, "POL004") == [
        "Policy/allvalues",
        "Policy/anyvalue",
        "Policy/nullifexists",
        "Policy/setnull",
        "Policy/typo",
    ]
    by = {f.resource: f for f in report.of("POL004")}
    assert by["Policy/typo"].hint == "did you mean StringEquals?"
    assert by["Policy/allvalues"].severity is Severity.ERROR and by["Policy/anyvalue"].severity is Severity.WARNING


# ------------------------------------------------------------------------------------------------ POL005


def test_pol005_values_of_the_wrong_type(check: Evaluator) -> None:
    def cond(operator: str, key: str, value: Any) -> dict[str, Any]:
        return allow("s3:GetObject", OBJECTS, Condition={operator: {key: value}})

    report = check(
        policy("bool", cond("Bool", "aws:SecureTransport", "yes")),
        policy("numeric", cond("NumericLessThan", "aws:MultiFactorAuthAge", "1h")),
        policy("date", cond("DateLessThan", "aws:CurrentTime", "2026-13-01")),
        policy("ip", cond("IpAddress", "aws:SourceIp", "10.0.0.0/33")),
        policy("arn", cond("ArnEquals", "aws:SourceArn", "my-bucket")),
        policy("null", cond("Null", "aws:TokenIssueTime", "maybe")),
        policy("yaml", cond("Bool", "aws:SecureTransport", True), cond("NumericLessThan", "s3:max-keys", 10)),
        policy("fine", cond("IpAddressIfExists", "aws:SourceIp", ["203.0.113.0/24", "2001:db8::1"])),
        policy("epoch", cond("DateGreaterThan", "aws:EpochTime", 1767225600)),
    )
    assert hits(report, "POL005") == [
        "Policy/arn",
        "Policy/bool",
        "Policy/date",
        "Policy/ip",
        "Policy/null",
        "Policy/numeric",
    ]
    assert "'1h'" in next(f.message for f in report.of("POL005") if f.resource == "Policy/numeric")


# ------------------------------------------------------------------------------------------------ LP009 on aws: keys


def test_lp009_global_keys_and_how_badly_it_fails(check: Evaluator) -> None:
    deny_typo = {
        "Effect": "Deny",
        "Action": "s3:*",
        "Resource": OBJECTS,
        "Condition": {"NotIpAddress": {"aws:SourceIpp": "203.0.113.0/24"}},
    }
    allow_typo = allow("s3:GetObject", OBJECTS, Condition={"StringEquals": {"aws:PrincipalTags/team": "a"}})
    allow_open = allow("s3:GetObject", OBJECTS, Condition={"StringNotEquals": {"aws:SourceVpcee": "vpce-1"}})
    fine = allow(
        "s3:GetObject",
        OBJECTS,
        Condition={"StringEquals": {"AWS:SourceVPCE": "vpce-1", "aws:ResourceTag/x": "y", "aws:CalledViaLast": "a"}},
    )
    report = check(
        policy("deny", deny_typo), policy("tags", allow_typo), policy("open", allow_open), policy("fine", fine)
    )
    by = {f.resource: f for f in report.of("LP009")}
    assert sorted(by) == ["Policy/deny", "Policy/open", "Policy/tags"]
    # A Deny under NotIpAddress is true without the key: it denies always (too much: a warning).
    assert by["Policy/deny"].severity is Severity.WARNING and by["Policy/deny"].hint == "did you mean aws:SourceIp?"
    # An Allow under StringNotEquals applies without its condition: it opens access.
    assert by["Policy/open"].severity is Severity.ERROR
    assert by["Policy/tags"].severity is Severity.WARNING and "aws:PrincipalTag/team" in by["Policy/tags"].hint
    deny_ifexists = {**deny_typo, "Condition": {"StringNotEqualsIfExists": {"aws:SourceVpcee": "vpce-1"}}}
    deny_plain = {**deny_typo, "Condition": {"StringEquals": {"aws:SourceVpcee": "vpce-1"}}}
    second = check(policy("a", deny_ifexists), policy("b", deny_plain))
    assert {f.resource: f.severity for f in second.of("LP009")} == {
        "Policy/a": Severity.WARNING,  # true when absent: the Deny always applies
        "Policy/b": Severity.ERROR,  # false when absent: the Deny never applies
    }


def test_the_language_rules_judge_people_not_the_product(check: Evaluator) -> None:
    report = check(group("G"), bucket("data"), role("r"))
    assert [f.rule for f in report.findings if f.rule.startswith("POL")] == []
