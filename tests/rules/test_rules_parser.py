"""The rules read policy documents through the one policy parser (reconciler.policydoc.parse_policy): what
plan compares and what the rules check is the same document. Where the rules' own reading used to differ
from the comparison's, these tests pin the behaviour both now share (AWS's documented semantics)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest

from reconciler.facts.model import DocBuilder, DocKind, Model, Principal, Statement, fixed_locator, parse_statements
from reconciler.kinds.context import Context
from reconciler.kinds.role import Role, trust_document, trust_inputs
from reconciler.manifests.model import DesiredState, Settings
from reconciler.policydoc import PolicyDocumentError, equivalent, normalise
from reconciler.rules.analysis import deny_covers, is_public_principal
from reconciler.rules.findings import Finding
from reconciler.rules.trust import RULES as TRUST_RULES

ACCOUNT = "123456789012"
OTHER = "210987654321"
ASSUME = {"Effect": "Allow", "Action": "sts:AssumeRole"}
DELETE = {"Effect": "Deny", "Action": "s3:DeleteObject", "Resource": "*"}


def doc(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def one(statement: dict[str, Any]) -> Statement:
    (parsed,) = parse_statements(doc(statement), lambda _index: "here")
    return parsed


# --- principals -----------------------------------------------------------------------------------


@pytest.mark.parametrize("account", [OTHER, int(OTHER)], ids=["string", "YAML int"])
def test_an_account_id_principal_is_its_root_arn_for_the_rules_as_for_comparison(account: object) -> None:
    by_id = doc({**ASSUME, "Principal": {"AWS": account}})
    by_arn = doc({**ASSUME, "Principal": {"AWS": f"arn:aws:iam::{OTHER}:root"}})
    assert equivalent(by_id, by_arn)
    assert one(by_id["Statement"][0]).principal == {"AWS": (f"arn:aws:iam::{OTHER}:root",)}
    assert one(by_id["Statement"][0]).principal == one(by_arn["Statement"][0]).principal


def test_an_account_id_trusted_by_a_role_is_reported_as_the_whole_account() -> None:
    """TR004 sees the account id as the root ARN it is (every principal of that account)."""
    findings = _trust_findings(doc({**ASSUME, "Principal": {"AWS": OTHER}}))
    assert [(f.rule, f.resource) for f in findings] == [("TR004", "Role/r")]
    assert f"trusts arn:aws:iam::{OTHER}:root" in findings[0].message


def test_twelve_digits_of_another_script_are_not_an_account_id() -> None:
    """An account id is 12 ASCII digits; ``str.isdigit`` (the rules' old test) also takes e.g. Arabic-Indic
    digits, which AWS does not read as an account."""
    digits = "١٢٣٤٥٦٧٨٩٠١٢"
    assert digits.isdigit() and len(digits) == 12
    assert one({**ASSUME, "Principal": {"AWS": digits}}).principal == {"AWS": (digits,)}
    assert not equivalent(
        doc({**ASSUME, "Principal": {"AWS": digits}}),
        doc({**ASSUME, "Principal": {"AWS": f"arn:aws:iam::{digits}:root"}}),
    )


def test_star_and_aws_star_are_the_same_principal_for_the_rules_as_for_comparison() -> None:
    star, aws_star = {**ASSUME, "Principal": "*"}, {**ASSUME, "Principal": {"AWS": "*"}}
    assert equivalent(doc(star), doc(aws_star))
    assert one(star).principal == one(aws_star).principal == {"AWS": ("*",)}
    assert is_public_principal(one(star)) and is_public_principal(one(aws_star))


# --- conditions ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (datetime(2019, 7, 16, 12, tzinfo=UTC), "2019-07-16T12:00:00Z"),
        (date(2019, 7, 16), "2019-07-16"),
        (True, "true"),
        (3600, "3600"),
    ],
    ids=["YAML timestamp", "YAML date", "bool", "int"],
)
def test_condition_values_read_as_the_comparison_reads_them(value: object, text: str) -> None:
    """A YAML timestamp is its ISO 8601 text, as IAM's date operators expect (the rules used to read
    ``2019-07-16 12:00:00+00:00``, which no date condition accepts)."""
    statement = {**DELETE, "Condition": {"DateGreaterThan": {"aws:CurrentTime": value}}}
    assert one(statement).condition_values("DateGreaterThan", "aws:CurrentTime") == (text,)
    (canonical,) = normalise(doc(statement))["Statement"]
    assert canonical["Condition"] == {"DateGreaterThan": {"aws:currenttime": [text]}}


def test_condition_keys_are_looked_up_ignoring_case_and_kept_as_written() -> None:
    statement = one({**DELETE, "Condition": {"Bool": {"AWS:SecureTransport": False}}})
    assert statement.condition == {"Bool": {"AWS:SecureTransport": ("false",)}}
    assert statement.condition_values("Bool", "aws:securetransport") == ("false",)
    assert statement.condition_keys() == {"aws:securetransport"}


def test_an_empty_condition_block_constrains_nothing() -> None:
    """``{"StringEquals": {}}`` tests no key: the Deny takes the action away unconditionally, as the
    comparison (which drops the block) already said."""
    statement = {**DELETE, "Condition": {"StringEquals": {}}}
    assert equivalent(doc(statement), doc(DELETE))
    assert one(statement).condition == {}
    assert deny_covers(one(statement), "s3:DeleteObject", "arn:aws:s3:::b/*")


# --- documents AWS would refuse -----------------------------------------------------------------

REFUSED = [
    ({"Version": "2012-10-17"}, "no Statement"),
    (doc({"Action": "s3:*", "Resource": "*"}), "no Effect"),
    (doc({**DELETE, "Resources": "arn:aws:s3:::b"}), "unknown element 'Resources'"),
    (doc({**DELETE, "NotAction": "s3:PutObject"}), "both Action and NotAction"),
    (doc({**DELETE, "Action": None}), "Action must be a string or a list"),
    (doc({**DELETE, "Principal": None}), 'must be "\\*" or an object'),
    (doc({**DELETE, "Principal": {"AWS": [True]}}), "must be a string"),
    (doc({**DELETE, "Condition": None}), "Condition must be an object"),
    (doc({**DELETE, "Condition": {"StringEquals": {"aws:SourceVpc": "a", "AWS:SOURCEVPC": "b"}}}), "more than once"),
    (doc({**DELETE, "Condition": {"NumericLessThan": {"k": float("nan")}}}), "finite number"),
    (doc({**DELETE, "Condition": {"StringEquals": {"k": None}}}), "must be a string, number or boolean"),
    ({"Version": "2012-10-17", "Statement": [DELETE], "Statment": []}, "unknown element"),
]


@pytest.mark.parametrize(("document", "message"), REFUSED, ids=[m for _, m in REFUSED])
def test_a_document_aws_refuses_is_unreadable_for_the_rules_as_for_comparison(
    document: dict[str, Any], message: str
) -> None:
    """The rules' old reading skipped what it did not understand (a typo such as ``Resources`` made a
    statement that grants nothing); now such a document is reported unreadable (LP008), not judged."""
    with pytest.raises(PolicyDocumentError, match=message):
        normalise(document)
    with pytest.raises(PolicyDocumentError, match=message):
        parse_statements(document, lambda _index: None)
    builder = DocBuilder()
    assert (
        builder.build(DocKind.INLINE, "p", "inline policy 'p'", "Role/r", "here", document, fixed_locator("here"))
        is None
    )
    ((owner, label, location, why),) = builder.unreadable
    assert (owner, label, location) == ("Role/r", "inline policy 'p'", "here") and why


# --- the statement the rules see --------------------------------------------------------------------


def test_statements_keep_their_order_case_and_place() -> None:
    document = doc(
        {"Sid": "Read", "Effect": "Allow", "Action": ["s3:GetObject", "S3:ListBucket"], "Resource": "arn:aws:s3:::b"},
        {**DELETE, "Sid": ""},
    )
    first, second = parse_statements(document, lambda index: f"line {index}")
    assert (first.index, first.location, first.sid, first.action) == (
        0,
        "line 0",
        "Read",
        ("s3:GetObject", "S3:ListBucket"),
    )
    assert (second.index, second.location, second.sid, second.deny) == (1, "line 1", None, True)
    assert first.render() == "[Read] Allow S3:ListBucket, s3:GetObject on arn:aws:s3:::b"  # sorted, case kept


def _trust_findings(trust: dict[str, Any]) -> list[Finding]:
    builder = DocBuilder()
    document = builder.build(
        DocKind.TRUST, "trust", "trust policy of Role/r", "Role/r", None, trust, fixed_locator(None)
    )
    assert document is not None, builder.unreadable
    role = Principal("Role", "r", f"arn:aws:iam::{ACCOUNT}:role/r", True, None, trust=document)
    model = Model("live", ACCOUNT, roles={"r": role})
    return [f for rule in TRUST_RULES if rule.id == "TR004" for f in rule(model)]


def test_documents_built_from_the_same_inputs_share_their_parse_and_keep_their_own_places() -> None:
    shared_builder, alone = DocBuilder(), DocBuilder()
    trust = doc({**ASSUME, "Principal": {"Service": ["sagemaker.amazonaws.com"]}})
    other = doc({**ASSUME, "Principal": {"Service": ["lambda.amazonaws.com"]}})
    for name, document, same in (
        ("a", trust, ("t", "sagemaker")),
        ("b", trust, ("t", "sagemaker")),
        ("c", other, ("t", "lambda")),
    ):
        locate = lambda i, n=name: f"{n}:{i}"  # noqa: E731
        built = shared_builder.build(
            DocKind.TRUST, "trust", name, f"Role/{name}", name, dict(document), locate, same=same
        )
        expected = alone.build(DocKind.TRUST, "trust", name, f"Role/{name}", name, dict(document), locate)
        assert built is not None and built == expected
        assert [s.location for s in built.statements] == [f"{name}:0"]


def test_a_generated_trust_policy_is_known_by_its_account_and_sorted_services() -> None:
    ctx = Context("123456789012", "ap-northeast-1", "k", "v", DesiredState(Settings("s", None), {}))
    other = Context("210987654321", "ap-northeast-1", "k", "v", DesiredState(Settings("s", None), {}))
    one = Role("a", None, trusted_services=("sagemaker.amazonaws.com", "lambda.amazonaws.com"))
    same = Role("b", None, trusted_services=("lambda.amazonaws.com", "sagemaker.amazonaws.com"))
    assert trust_inputs(one, ctx) == trust_inputs(same, ctx) and trust_document(one, ctx) == trust_document(same, ctx)
    assert trust_inputs(one, ctx) != trust_inputs(one, other)
    assert trust_inputs(Role("w", None, assume_role_policy=doc(ASSUME)), ctx) is None
    assert trust_inputs(Role("n", None, trusted_services=(1,)), ctx) is None  # type: ignore[arg-type]
