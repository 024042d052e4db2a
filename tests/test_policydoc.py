"""reconciler.policydoc: IAM policy documents compared by meaning."""

from __future__ import annotations

import copy
import json
import re
import string
import urllib.parse
from datetime import UTC, date, datetime
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from reconciler.errors import ReconcilerError
from reconciler.facts.model import parse_statements
from reconciler.policydoc import (
    DEFAULT_VERSION,
    PolicyDocument,
    PolicyDocumentError,
    PolicyStatement,
    StatementDiff,
    action_matches,
    action_regex,
    action_set,
    as_list,
    canonical_json,
    diff_documents,
    equivalent,
    normalise,
    parse_document,
    parse_policy,
    parse_statement,
    render_statement,
    statements,
)
from reconciler.policydoc.canonical import statement_form

ACCOUNT = "123456789012"


def doc(*stmts: dict[str, Any], version: str | None = "2012-10-17") -> dict[str, Any]:
    out: dict[str, Any] = {"Statement": list(stmts)}
    if version is not None:
        out["Version"] = version
    return out


READ = {
    "Sid": "Read",
    "Effect": "Allow",
    "Action": ["s3:GetObject", "s3:ListBucket"],
    "Resource": ["arn:aws:s3:::b", "arn:aws:s3:::b/*"],
    "Condition": {"StringEquals": {"aws:SourceAccount": ACCOUNT}},
}
DENY = {"Effect": "Deny", "Action": "s3:DeleteObject", "Resource": "*"}
TRUST = {
    "Effect": "Allow",
    "Principal": {"Service": "sagemaker.amazonaws.com"},
    "Action": "sts:AssumeRole",
}


# --- equivalence --------------------------------------------------------------------------------

EQUIVALENT_PAIRS: list[tuple[str, Any, Any]] = [
    (
        "single string vs one-element list",
        doc({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"}),
        doc({"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": ["arn:aws:s3:::b/*"]}),
    ),
    ("single statement object vs list", {"Version": "2012-10-17", "Statement": DENY}, doc(DENY)),
    ("statement order", doc(READ, DENY, TRUST), doc(TRUST, DENY, READ)),
    (
        "action order",
        doc({"Effect": "Allow", "Action": ["s3:PutObject", "s3:GetObject"], "Resource": "*"}),
        doc({"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"], "Resource": "*"}),
    ),
    (
        "action case",
        doc({"Effect": "Allow", "Action": "S3:GETOBJECT", "Resource": "*"}),
        doc({"Effect": "Allow", "Action": "s3:getObject", "Resource": "*"}),
    ),
    (
        "duplicate actions and resources",
        doc({"Effect": "Allow", "Action": ["s3:GetObject", "s3:getobject"], "Resource": ["*", "*"]}),
        doc({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}),
    ),
    ("duplicate statements", doc(DENY, DENY), doc(DENY)),
    (
        "resource order",
        doc({"Effect": "Allow", "Action": "s3:*", "Resource": ["arn:aws:s3:::b/*", "arn:aws:s3:::b"]}),
        doc({"Effect": "Allow", "Action": "s3:*", "Resource": ["arn:aws:s3:::b", "arn:aws:s3:::b/*"]}),
    ),
    (
        "URL-encoded JSON string from AWS vs dict",
        urllib.parse.quote(json.dumps(doc(READ, TRUST))),
        doc(TRUST, READ),
    ),
    ("plain JSON string vs dict", json.dumps(doc(READ)), doc(READ)),
    ("missing Version is 2008-10-17", doc(DENY, version=None), doc(DENY, version="2008-10-17")),
    (
        '"*" principal vs {"AWS": "*"}',
        doc({**TRUST, "Principal": "*"}),
        doc({**TRUST, "Principal": {"AWS": "*"}}),
    ),
    (
        "account id vs root ARN",
        doc({**TRUST, "Principal": {"AWS": ACCOUNT}}),
        doc({**TRUST, "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}}),
    ),
    (
        "account id as YAML int vs root ARN",
        doc({**TRUST, "Principal": {"AWS": [int(ACCOUNT)]}}),
        doc({**TRUST, "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}}),
    ),
    (
        "principal values order and duplicates",
        doc({**TRUST, "Principal": {"Service": ["b.amazonaws.com", "a.amazonaws.com", "a.amazonaws.com"]}}),
        doc({**TRUST, "Principal": {"Service": ["a.amazonaws.com", "b.amazonaws.com"]}}),
    ),
    (
        "NotPrincipal account id vs root ARN",
        doc({**DENY, "NotPrincipal": {"AWS": ACCOUNT}}),
        doc({**DENY, "NotPrincipal": {"AWS": [f"arn:aws:iam::{ACCOUNT}:root"]}}),
    ),
    (
        "condition bool True vs 'true'",
        doc({**DENY, "Condition": {"Bool": {"aws:SecureTransport": False}}}),
        doc({**DENY, "Condition": {"Bool": {"aws:SecureTransport": "false"}}}),
    ),
    (
        "condition int vs decimal string",
        doc({**DENY, "Condition": {"NumericGreaterThan": {"s3:max-keys": 10}}}),
        doc({**DENY, "Condition": {"NumericGreaterThan": {"s3:max-keys": "10"}}}),
    ),
    (
        "single condition value vs list",
        doc({**DENY, "Condition": {"StringEquals": {"aws:SourceAccount": ACCOUNT}}}),
        doc({**DENY, "Condition": {"StringEquals": {"aws:SourceAccount": [ACCOUNT]}}}),
    ),
    (
        "condition values order and duplicates",
        doc({**DENY, "Condition": {"StringEquals": {"aws:SourceVpc": ["vpc-2", "vpc-1", "vpc-2"]}}}),
        doc({**DENY, "Condition": {"StringEquals": {"aws:SourceVpc": ["vpc-1", "vpc-2"]}}}),
    ),
    (
        "condition key case",
        doc({**DENY, "Condition": {"StringEquals": {"aws:SourceAccount": ACCOUNT}}}),
        doc({**DENY, "Condition": {"StringEquals": {"AWS:sourceaccount": ACCOUNT}}}),
    ),
    (
        "empty Condition vs none",
        doc({**DENY, "Condition": {}}),
        doc(DENY),
    ),
    (
        "empty operator block vs none",
        doc({**DENY, "Condition": {"StringEquals": {}}}),
        doc(DENY),
    ),
    ("empty Sid vs none", doc({**DENY, "Sid": ""}), doc(DENY)),
    (
        "YAML date Version",
        {"Version": date(2012, 10, 17), "Statement": [DENY]},
        doc(DENY),
    ),
    (
        "YAML timestamp in condition vs ISO text",
        doc(
            {
                **DENY,
                "Condition": {"DateGreaterThan": {"aws:CurrentTime": datetime(2019, 7, 16, 12, tzinfo=UTC)}},
            }
        ),
        doc({**DENY, "Condition": {"DateGreaterThan": {"aws:CurrentTime": "2019-07-16T12:00:00Z"}}}),
    ),
    ("Id kept and equal", {**doc(DENY), "Id": "p1"}, json.dumps({**doc(DENY), "Id": "p1"})),
]


@pytest.mark.parametrize(("a", "b"), [(a, b) for _, a, b in EQUIVALENT_PAIRS], ids=[n for n, _, _ in EQUIVALENT_PAIRS])
def test_equivalent(a: Any, b: Any) -> None:
    assert equivalent(a, b)
    assert equivalent(b, a)
    assert normalise(a) == normalise(b)
    assert canonical_json(a) == canonical_json(b)
    assert diff_documents(a, b).empty


NON_EQUIVALENT_PAIRS: list[tuple[str, Any, Any]] = [
    ("Allow vs Deny", doc(DENY), doc({**DENY, "Effect": "Allow"})),
    ("an added action", doc(DENY), doc({**DENY, "Action": ["s3:DeleteObject", "s3:PutObject"]})),
    ("different resource", doc(DENY), doc({**DENY, "Resource": "arn:aws:s3:::b/*"})),
    (
        "resource case (ARNs are case-sensitive)",
        doc({**DENY, "Resource": "arn:aws:s3:::b/Key"}),
        doc({**DENY, "Resource": "arn:aws:s3:::b/key"}),
    ),
    (
        "Action vs NotAction",
        doc(DENY),
        doc({"Effect": "Deny", "NotAction": "s3:DeleteObject", "Resource": "*"}),
    ),
    (
        "Resource vs NotResource",
        doc(DENY),
        doc({"Effect": "Deny", "Action": "s3:DeleteObject", "NotResource": "*"}),
    ),
    (
        "Principal vs NotPrincipal",
        doc({**DENY, "Principal": "*"}),
        doc({**DENY, "NotPrincipal": "*"}),
    ),
    (
        "condition value change",
        doc({**DENY, "Condition": {"StringEquals": {"aws:SourceAccount": ACCOUNT}}}),
        doc({**DENY, "Condition": {"StringEquals": {"aws:SourceAccount": "210987654321"}}}),
    ),
    (
        "condition value case (StringEquals is case-sensitive)",
        doc({**DENY, "Condition": {"StringEquals": {"aws:PrincipalTag/team": "ML"}}}),
        doc({**DENY, "Condition": {"StringEquals": {"aws:PrincipalTag/team": "ml"}}}),
    ),
    (
        "condition operator change",
        doc({**DENY, "Condition": {"StringEquals": {"aws:SourceAccount": ACCOUNT}}}),
        doc({**DENY, "Condition": {"StringLike": {"aws:SourceAccount": ACCOUNT}}}),
    ),
    ("condition added", doc(DENY), doc({**DENY, "Condition": {"Bool": {"aws:SecureTransport": "false"}}})),
    ("Version 2008 vs 2012", doc(DENY, version="2008-10-17"), doc(DENY, version="2012-10-17")),
    ("Sid renamed", doc({**DENY, "Sid": "A"}), doc({**DENY, "Sid": "B"})),
    ("Id added", doc(DENY), {**doc(DENY), "Id": "p1"}),
    ("statement added", doc(DENY), doc(DENY, READ)),
    (
        "principal type",
        doc({**TRUST, "Principal": {"AWS": "*"}}),
        doc({**TRUST, "Principal": {"Service": "*"}}),
    ),
    (
        "account root in another partition is not the bare id",
        doc({**TRUST, "Principal": {"AWS": ACCOUNT}}),
        doc({**TRUST, "Principal": {"AWS": f"arn:aws-cn:iam::{ACCOUNT}:root"}}),
    ),
    (
        "12 digits of another script are not an account id",
        doc({**TRUST, "Principal": {"AWS": "١٢٣٤٥٦٧٨٩٠١٢"}}),
        doc({**TRUST, "Principal": {"AWS": "arn:aws:iam::١٢٣٤٥٦٧٨٩٠١٢:root"}}),
    ),
    (
        "11-digit number is not an account id",
        doc({**TRUST, "Principal": {"AWS": "12345678901"}}),
        doc({**TRUST, "Principal": {"AWS": "arn:aws:iam::12345678901:root"}}),
    ),
    (
        "actions split across statements vs one statement with a condition on one",
        doc(
            {**DENY, "Condition": {"Bool": {"aws:SecureTransport": "false"}}},
            {**DENY, "Action": "s3:PutObject"},
        ),
        doc(
            {
                **DENY,
                "Action": ["s3:DeleteObject", "s3:PutObject"],
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            }
        ),
    ),
]


@pytest.mark.parametrize(
    ("a", "b"), [(a, b) for _, a, b in NON_EQUIVALENT_PAIRS], ids=[n for n, _, _ in NON_EQUIVALENT_PAIRS]
)
def test_not_equivalent(a: Any, b: Any) -> None:
    assert not equivalent(a, b)
    assert not equivalent(b, a)
    assert canonical_json(a) != canonical_json(b)
    assert not diff_documents(a, b).empty


# --- canonical form -----------------------------------------------------------------------------


def test_canonical_form_of_a_messy_manifest() -> None:
    manifest = yaml.safe_load(
        """
        Version: 2012-10-17
        Statement:
          Sid: Trust
          Effect: Allow
          Principal: {AWS: [123456789012, "arn:aws:iam::123456789012:role/ci"]}
          Action: [sts:AssumeRole, STS:TagSession]
          Condition:
            Bool: {aws:MultiFactorAuthPresent: true}
            NumericLessThan: {aws:MultiFactorAuthAge: 3600}
        """
    )
    assert normalise(manifest) == {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "Trust",
                "Effect": "Allow",
                "Principal": {"AWS": [f"arn:aws:iam::{ACCOUNT}:role/ci", f"arn:aws:iam::{ACCOUNT}:root"]},
                "Action": ["sts:assumerole", "sts:tagsession"],
                "Condition": {
                    "Bool": {"aws:multifactorauthpresent": ["true"]},
                    "NumericLessThan": {"aws:multifactorauthage": ["3600"]},
                },
            }
        ],
    }


def test_canonical_json_is_compact_sorted_and_parses_back() -> None:
    text = canonical_json(doc(READ))
    assert " " not in text
    assert text.startswith('{"Statement":[{"Action":["s3:getobject","s3:listbucket"],')
    assert normalise(text) == normalise(doc(READ))


def test_statements_sorted_by_canonical_json() -> None:
    stmts = statements(doc(TRUST, READ, DENY))
    keys = [json.dumps(s, sort_keys=True, separators=(",", ":")) for s in stmts]
    assert keys == sorted(keys)
    assert len(stmts) == 3


def test_normalise_does_not_mutate_input() -> None:
    original = doc(READ, TRUST)
    before = copy.deepcopy(original)
    normalise(original)
    assert original == before


def test_missing_version_defaults() -> None:
    assert normalise({"Statement": [DENY]})["Version"] == DEFAULT_VERSION == "2008-10-17"


def test_float_condition_value_is_its_decimal_string() -> None:
    stmt = statements(doc({**DENY, "Condition": {"NumericLessThan": {"k": 1.5}}}))[0]
    assert stmt["Condition"] == {"NumericLessThan": {"k": ["1.5"]}}


def test_json_string_with_percent_is_not_url_decoded() -> None:
    text = json.dumps(doc({**DENY, "Resource": "arn:aws:s3:::b/a%2Fb"}))
    assert statements(text)[0]["Resource"] == ["arn:aws:s3:::b/a%2Fb"]
    # ...but an URL-encoded document containing an encoded percent decodes exactly once.
    assert statements(urllib.parse.quote(text))[0]["Resource"] == ["arn:aws:s3:::b/a%2Fb"]


def test_parse_document_returns_copy_of_mapping() -> None:
    original = doc(DENY)
    parsed = parse_document(original)
    assert parsed == original
    assert parsed is not original


def test_as_list() -> None:
    assert as_list(None) == []
    assert as_list("s3:GetObject") == ["s3:GetObject"]
    assert as_list(["b", "a", "b"]) == ["b", "a", "b"]
    assert as_list(("x",)) == ["x"]
    with pytest.raises(PolicyDocumentError):
        as_list(3)
    with pytest.raises(PolicyDocumentError):
        as_list(["a", 3])


@pytest.mark.parametrize(
    ("pattern", "action", "expected"),
    [
        ("*", "iam:PassRole", True),
        ("iam:*", "iam:PassRole", True),
        ("IAM:pass*", "iam:PassRole", True),
        ("iam:Pass?ole", "iam:PassRole", True),
        ("iam:PassRole", "iam:passrole", True),
        ("iam:Get*", "iam:PassRole", False),
        ("s3:*", "iam:PassRole", False),
        ("iam:Pass.ole", "iam:PassRole", False),
    ],
)
def test_action_matches(pattern: str, action: str, expected: bool) -> None:
    assert action_matches(pattern, action) is expected


# --- the parser ---------------------------------------------------------------------------------


def test_parse_policy_types_and_normalises_values_in_the_order_written() -> None:
    parsed = parse_policy(
        {
            "Version": date(2012, 10, 17),
            "Id": 7,
            "Statement": {
                "Sid": "",
                "Effect": "Allow",
                "Principal": {"AWS": [int(ACCOUNT), "arn:aws:iam::210987654321:role/b", ACCOUNT]},
                "Action": ["sts:TagSession", "STS:AssumeRole"],
                "Condition": {
                    "DateLessThan": {"aws:CurrentTime": datetime(2030, 1, 1, tzinfo=UTC)},
                    "Bool": {"AWS:MultiFactorAuthPresent": True},
                    "StringEquals": {},
                },
            },
        }
    )
    root = f"arn:aws:iam::{ACCOUNT}:root"
    assert parsed == PolicyDocument(
        "2012-10-17",
        "7",
        (
            PolicyStatement(
                effect="Allow",
                action=("sts:TagSession", "STS:AssumeRole"),
                principal={"AWS": (root, "arn:aws:iam::210987654321:role/b", root)},
                condition={
                    "DateLessThan": {"aws:CurrentTime": ("2030-01-01T00:00:00Z",)},
                    "Bool": {"AWS:MultiFactorAuthPresent": ("true",)},
                },
            ),
        ),
    )
    (statement,) = parsed.statements
    assert statement.allow and not statement.deny and statement.sid is None
    assert statement.condition_keys() == {"aws:currenttime", "aws:multifactorauthpresent"}
    assert statement.condition_values("Bool", "aws:multifactorauthpresent") == ("true",)
    assert statement.condition_values("BoolIfExists", "aws:multifactorauthpresent") is None


def test_render_statement_of_a_parsed_statement_is_that_of_the_mapping() -> None:
    assert render_statement(parse_statement(READ)) == render_statement(READ)


# --- diff ---------------------------------------------------------------------------------------


def test_diff_added_and_removed_statements() -> None:
    old = doc(READ, DENY)
    new = doc(READ, {**DENY, "Resource": "arn:aws:s3:::b/*"}, TRUST)
    diff = diff_documents(old, new)
    assert not diff.empty
    assert diff.removed == tuple(statements(doc(DENY)))
    assert diff.added == tuple(statements(doc({**DENY, "Resource": "arn:aws:s3:::b/*"}, TRUST)))
    assert diff.changed_top == ()
    reverse = diff_documents(new, old)
    assert (reverse.added, reverse.removed) == (diff.removed, diff.added)


def test_diff_top_level_only() -> None:
    diff = diff_documents(doc(DENY, version=None), {**doc(DENY), "Id": "x"})
    assert diff == StatementDiff(changed_top=("Id", "Version"))
    assert not diff.empty
    assert diff.lines() == ["~ Id changed", "~ Version changed"]


def test_diff_of_equivalent_documents_is_empty() -> None:
    diff = diff_documents(urllib.parse.quote(json.dumps(doc(READ, DENY))), doc(DENY, READ))
    assert diff.empty
    assert diff == StatementDiff()
    assert diff.lines() == []


def test_diff_lines() -> None:
    diff = diff_documents(doc(DENY), doc({**DENY, "Effect": "Allow"}))
    assert diff.lines() == [
        "- Deny s3:deleteobject on *",
        "+ Allow s3:deleteobject on *",
    ]


# --- rendering ----------------------------------------------------------------------------------


def test_render_statement_example() -> None:
    assert render_statement({k: v for k, v in READ.items() if k != "Sid"}) == (
        "Allow s3:GetObject, s3:ListBucket on arn:aws:s3:::b, arn:aws:s3:::b/* "
        "when StringEquals aws:SourceAccount=123456789012"
    )


def test_render_statement_canonical_and_variants() -> None:
    assert render_statement(statements(doc(READ))[0]) == (
        "[Read] Allow s3:getobject, s3:listbucket on arn:aws:s3:::b, arn:aws:s3:::b/* "
        "when StringEquals aws:sourceaccount=123456789012"
    )
    assert render_statement(TRUST) == "Allow sts:AssumeRole for Service=sagemaker.amazonaws.com"
    assert render_statement({**TRUST, "Principal": "*"}) == "Allow sts:AssumeRole for *"
    assert render_statement(
        {
            "Effect": "Deny",
            "NotAction": ["iam:*", "sts:*"],
            "NotResource": "arn:aws:s3:::b",
            "NotPrincipal": {
                "AWS": [ACCOUNT, "arn:aws:iam::123456789012:role/x"],
                "Service": "s.amazonaws.com",
            },
            "Condition": {
                "StringNotEquals": {"aws:SourceVpc": ["vpc-2", "vpc-1"]},
                "Bool": {"aws:SecureTransport": False},
            },
        }
    ) == (
        "Deny all actions except iam:*, sts:* "
        "for anyone except AWS in (arn:aws:iam::123456789012:role/x, arn:aws:iam::123456789012:root)"
        " or Service=s.amazonaws.com "
        "on all resources except arn:aws:s3:::b "
        "when Bool aws:SecureTransport=false and StringNotEquals aws:SourceVpc in (vpc-1, vpc-2)"
    )


def test_render_statement_rejects_malformed() -> None:
    with pytest.raises(PolicyDocumentError, match="no Effect"):
        render_statement({"Action": "s3:*"})


# --- errors -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ("not json at all", "not valid JSON"),
        ("", "empty"),
        ("%7B%22Version%22", "neither JSON nor URL-encoded JSON"),
        ("[1, 2]", "must be a JSON object, not a list"),
        ('"just a string"', "must be a JSON object, not a string"),
        (urllib.parse.quote("[]"), "must be a JSON object, not a list"),
        (42, "mapping or a JSON string, not int"),
        (None, "mapping or a JSON string, not NoneType"),
    ],
)
def test_parse_errors(bad: Any, message: str) -> None:
    with pytest.raises(PolicyDocumentError, match=message):
        parse_document(bad)
    with pytest.raises(PolicyDocumentError, match=message):
        normalise(bad)


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ({"Version": "2012-10-17"}, "no Statement"),
        ({"Statement": "Allow everything"}, "Statement must be an object or a list of objects, not a string"),
        ({"Statement": 7}, "Statement must be an object or a list of objects, not a number"),
        ({"Statement": None}, "not null"),
        ({"Statement": ["x"]}, r"Statement\[0\] must be an object"),
        ({"Statement": [DENY], "Statment": []}, "unknown element"),
        ({"Statement": [{**DENY, "Resources": "*"}]}, r"Statement\[0\] has unknown element 'Resources'"),
        ({"Statement": [{"Action": "s3:*", "Resource": "*"}]}, "no Effect"),
        ({"Statement": [{**DENY, "Effect": True}]}, "Effect must be"),
        ({"Statement": [{**DENY, "NotAction": "s3:*"}]}, "both Action and NotAction"),
        ({"Statement": [{**DENY, "Action": ["s3:*", 3]}]}, r"Action\[1\] must be a string"),
        ({"Statement": [{**DENY, "Resource": None}]}, "Resource must be a string or a list"),
        ({"Statement": [{**DENY, "Principal": "arn:aws:iam::1:root"}]}, 'must be "\\*" or an object'),
        ({"Statement": [{**DENY, "Principal": {"AWS": [None]}}]}, r"Principal.AWS\[0\] must be a string"),
        ({"Statement": [{**DENY, "Condition": ["x"]}]}, "Condition must be an object"),
        ({"Statement": [{**DENY, "Condition": {"Bool": "x"}}]}, "Condition.Bool must be an object"),
        ({"Statement": [{**DENY, "Condition": {"Bool": {"k": None}}}]}, "Condition.Bool.k must be a string"),
        ({"Statement": [{**DENY, "Condition": {"Bool": {"k": {"x": 1}}}}]}, "Condition.Bool.k must be"),
        ({"Statement": [{**DENY, "Condition": {"N": {"k": float("nan")}}}]}, "finite number"),
        (
            {"Statement": [{**DENY, "Condition": {"StringEquals": {"aws:SourceVpc": "a", "AWS:SOURCEVPC": "b"}}}]},
            "more than once",
        ),
        ({"Version": 2012, "Statement": [DENY]}, "Version must be a string"),
        ({"Statement": [{**DENY, "Sid": ["x"]}]}, "Sid must be a string"),
    ],
)
def test_malformed_documents(bad: Any, message: str) -> None:
    with pytest.raises(PolicyDocumentError, match=message):
        normalise(bad)


def test_error_type() -> None:
    with pytest.raises(ValueError, match="not valid JSON") as info:
        parse_document("{")
    assert isinstance(info.value, ReconcilerError)
    assert not info.value.retryable


# --- properties ---------------------------------------------------------------------------------

_ACTIONS = ["s3:GetObject", "s3:PutObject", "s3:ListBucket", "iam:PassRole", "sts:AssumeRole", "s3:*", "*"]
_CONDITION_KEYS = ["aws:SourceAccount", "aws:SecureTransport", "s3:prefix", "aws:PrincipalTag/Team"]
_OPERATORS = ["StringEquals", "StringLike", "Bool", "NumericLessThan", "ForAnyValue:StringEquals"]

# An explicit alphabet (with JSON/URL-significant and non-ASCII characters) keeps generation fast:
# the default one makes Hypothesis build its Unicode tables on first use, which trips the too_slow check.
_text = st.text(alphabet=string.ascii_letters + string.digits + ' %/*?$"\\{}:+&=é€', max_size=12)
_resources = st.one_of(
    st.sampled_from(["*", "arn:aws:s3:::b", "arn:aws:s3:::b/*", "arn:aws:s3:::B/Key%41"]),
    _text.map(lambda s: f"arn:aws:s3:::{s}"),
)
_condition_values = st.one_of(st.booleans(), st.integers(-5, 10**6), _text)
_principal = st.one_of(
    st.just("*"),
    st.fixed_dictionaries(
        {},
        optional={
            "AWS": st.lists(
                st.one_of(st.just("*"), st.just(ACCOUNT), st.just("arn:aws:iam::210987654321:role/r")),
                min_size=1,
                max_size=3,
            ),
            "Service": st.lists(st.sampled_from(["ec2.amazonaws.com", "sagemaker.amazonaws.com"]), min_size=1),
        },
    ),
)
_condition = st.dictionaries(
    st.sampled_from(_OPERATORS),
    st.dictionaries(st.sampled_from(_CONDITION_KEYS), st.lists(_condition_values, min_size=1, max_size=3), max_size=3),
    max_size=3,
)


@st.composite
def _statement(draw: st.DrawFn) -> dict[str, Any]:
    stmt: dict[str, Any] = {"Effect": draw(st.sampled_from(["Allow", "Deny"]))}
    if draw(st.booleans()):
        stmt["Sid"] = draw(st.sampled_from(["", "A", "B1"]))
    action_key = draw(st.sampled_from(["Action", "NotAction"]))
    stmt[action_key] = draw(st.lists(st.sampled_from(_ACTIONS), min_size=1, max_size=4))
    if draw(st.booleans()):
        stmt[draw(st.sampled_from(["Resource", "NotResource"]))] = draw(st.lists(_resources, min_size=1, max_size=4))
    if draw(st.booleans()):
        stmt[draw(st.sampled_from(["Principal", "NotPrincipal"]))] = draw(_principal)
    if draw(st.booleans()):
        stmt["Condition"] = draw(_condition)
    return stmt


@st.composite
def _document(draw: st.DrawFn) -> dict[str, Any]:
    d: dict[str, Any] = {"Statement": draw(st.lists(_statement(), min_size=0, max_size=4))}
    version = draw(st.sampled_from([None, "2008-10-17", "2012-10-17"]))
    if version is not None:
        d["Version"] = version
    if draw(st.booleans()):
        d["Id"] = draw(_text)
    return d


def _scalarise(value: Any, flip: st.DataObject) -> Any:
    """Turn one-element lists into bare values (randomly), recursively."""
    if isinstance(value, list):
        items = [_scalarise(v, flip) for v in value]
        if len(items) == 1 and flip.draw(st.booleans()):
            return items[0]
        return items
    if isinstance(value, dict):
        return {k: _scalarise(v, flip) for k, v in value.items()}
    return value


def _shuffle_and_recase(d: dict[str, Any], data: st.DataObject) -> dict[str, Any]:
    out = copy.deepcopy(d)
    out["Statement"] = data.draw(st.permutations(out["Statement"]))
    for stmt in out["Statement"]:
        for key in ("Action", "NotAction"):
            if key in stmt:
                names = data.draw(st.permutations(stmt[key]))
                stmt[key] = [n.upper() if data.draw(st.booleans()) else n for n in names]
                stmt[key] += data.draw(st.lists(st.sampled_from(stmt[key]), max_size=2))  # duplicates
        for key in ("Resource", "NotResource"):
            if key in stmt:
                stmt[key] = data.draw(st.permutations(stmt[key]))
        for block in stmt.get("Condition", {}).values():
            for cond_key in list(block):
                block[cond_key] = data.draw(st.permutations(block[cond_key]))
    return out


@settings(max_examples=100, deadline=None)
@given(_document())
def test_normalise_is_idempotent(d: dict[str, Any]) -> None:
    once = normalise(d)
    assert normalise(once) == once
    assert normalise(json.loads(canonical_json(d))) == once


@settings(max_examples=100, deadline=None)
@given(_document(), st.data())
def test_normalise_invariant_under_shuffling_and_action_case(d: dict[str, Any], data: st.DataObject) -> None:
    assert normalise(_shuffle_and_recase(d, data)) == normalise(d)


@settings(max_examples=100, deadline=None)
@given(_document(), st.data())
def test_normalise_invariant_under_singleton_lists(d: dict[str, Any], data: st.DataObject) -> None:
    assert normalise(_scalarise(d, data)) == normalise(d)


@settings(max_examples=100, deadline=None)
@given(_document())
def test_url_encoded_json_normalises_equal(d: dict[str, Any]) -> None:
    assert normalise(parse_document(urllib.parse.quote(json.dumps(d)))) == normalise(d)
    assert normalise(json.dumps(d)) == normalise(d)


@settings(max_examples=100, deadline=None)
@given(_document(), _document())
def test_diff_empty_exactly_when_equivalent(a: dict[str, Any], b: dict[str, Any]) -> None:
    diff = diff_documents(a, b)
    assert diff.empty == equivalent(a, b)
    assert diff_documents(a, a).empty
    for stmt in diff.added:
        assert stmt in statements(b)
        assert stmt not in statements(a)
    for stmt in diff.removed:
        assert stmt in statements(a)
        assert stmt not in statements(b)
    for stmt in (*diff.added, *diff.removed):
        assert render_statement(stmt)


@settings(max_examples=100, deadline=None)
@given(_document())
def test_the_rules_read_what_comparison_reads(d: dict[str, Any]) -> None:
    """The rules' statements (reconciler.facts.model) are the parser's: in canonical form, exactly the
    document's canonical statements; and each renders as its mapping does."""
    located = parse_statements(d, lambda index: f"Statement[{index}]")
    assert [s.index for s in located] == list(range(len(d["Statement"])))
    canonical = normalise(d)["Statement"]
    assert sorted({canonical_json_of(statement_form(s, fold_case=True)) for s in located}) == [
        canonical_json_of(s) for s in canonical
    ]
    for statement, raw in zip(located, d["Statement"], strict=True):
        assert statement.render() == render_statement(raw)
        assert statement.allow == (raw["Effect"] == "Allow")


def canonical_json_of(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


_ACTION_CHARS = st.sampled_from(list("s3:GetPutObject*?.|()[]+\\^$iam"))


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.text(_ACTION_CHARS, min_size=1, max_size=12), min_size=1, max_size=6),
    st.text(_ACTION_CHARS, max_size=14),
)
def test_an_action_set_matches_as_any_of_its_patterns(patterns: list[str], action: str) -> None:
    """action_set (used for AWS managed policies with thousands of patterns) answers exactly as asking each
    pattern in turn, and as the one alternation regex it replaces, regex metacharacters in names included."""
    expected = any(action_matches(p, action) for p in patterns)
    assert action_set(tuple(patterns)).matches(action) == expected
    assert (_alternation(tuple(patterns)).fullmatch(action.lower()) is not None) == expected


def _alternation(patterns: tuple[str, ...]) -> re.Pattern[str]:
    """What action_set replaced: one regex, an alternation of every pattern."""
    return re.compile("|".join(f"(?:{action_regex(p).pattern})" for p in patterns), re.DOTALL)
