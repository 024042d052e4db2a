"""The product's timestamp parser gives exactly what botocore's gives (value, time zone, fold), for the ISO 8601
forms it reads itself and for everything it hands back to botocore; the factory's clients use it."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from botocore.utils import parse_timestamp as botocore_parse
from hypothesis import given, settings
from hypothesis import strategies as st

from reconciler.aws.clients import AwsConfig, ClientFactory
from reconciler.aws.timestamps import parse_timestamp


def assert_same(value: object) -> None:
    try:
        expected = botocore_parse(value)
    except Exception as exc:  # noqa: BLE001 - whatever botocore raises, so must the product's parser
        with pytest.raises(type(exc)):
            parse_timestamp(value)
        return
    got = parse_timestamp(value)
    assert got == expected
    assert (got.tzinfo, type(got.tzinfo), got.fold, got.utcoffset()) == (
        expected.tzinfo,
        type(expected.tzinfo),
        expected.fold,
        expected.utcoffset(),
    ), value
    assert repr(got) == repr(expected)


_MOMENTS = st.datetimes(min_value=datetime(1970, 1, 2), max_value=datetime(2100, 1, 1))


@settings(max_examples=300, deadline=None)
@given(_MOMENTS, st.integers(0, 6), st.sampled_from(["Z", "+00:00"]))
def test_the_iso_forms_aws_answers_with(moment: datetime, digits: int, suffix: str) -> None:
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    if digits:
        text += "." + f"{moment.microsecond:06d}"[:digits]
    assert_same(text + suffix)


@pytest.mark.parametrize(
    "value",
    [
        "2026-12-07T00:49:56Z",
        "2026-12-07T00:49:56.5Z",
        "2026-12-07T00:49:56.123456+00:00",
        "2026-12-07T00:49:56.1234567Z",  # seven digits: botocore's
        "2026-12-07T00:49:56+02:00",
        "2026-12-07T00:49:56-05:30",
        "2026-12-07T00:49:56z",
        "2026-12-07 00:49:56Z",
        "2026-12-07T00:49:56",
        "Mon, 07 Dec 2026 00:49:56 GMT",
        "2026-02-30T00:00:00Z",  # no such day
        "2026-12-07T24:00:00Z",
        "1765068596",
        "1765068596.25",
        1765068596,
        1765068596.5,
        "not a time",
        "",
    ],
)
def test_other_forms_are_botocores(value: object) -> None:
    assert_same(value)


def test_the_factory_clients_read_timestamps_as_plain_boto3_does(aws: AwsConfig) -> None:
    trust = json.dumps({"Version": "2012-10-17", "Statement": []})
    plain = boto3.client("iam", endpoint_url=aws.endpoint_url, region_name="us-east-1")
    plain.create_role(RoleName="stamped", AssumeRolePolicyDocument=trust)
    ours = ClientFactory(aws, read_only=True).client("iam").get_role(RoleName="stamped")["Role"]["CreateDate"]
    theirs = plain.get_role(RoleName="stamped")["Role"]["CreateDate"]
    assert (ours, repr(ours)) == (theirs, repr(theirs))
    assert abs(ours - datetime.now(UTC)) < timedelta(hours=1)
