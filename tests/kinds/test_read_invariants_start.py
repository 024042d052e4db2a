"""When the invariants start during a read: once, when the account-wide answers are parsed and taken by their kinds
(``ReadSession.taken``), with the AWS managed policies they need. Then the rules' model and
GetAccountAuthorizationDetails' parse are not in memory together (docs/benchmarks.md)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import boto3
import pytest

import reconciler.kinds.read as read_module
from reconciler.aws.clients import AwsConfig, ClientFactory
from reconciler.aws.scope import ReadScope
from reconciler.aws.session import ReadSession
from reconciler.kinds.read import read_account
from reconciler.sandbox import DEFAULT_ACCOUNT_ID

TRUST = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "sagemaker.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ],
    }
)
READ_ONLY = "arn:aws:iam::aws:policy/ReadOnlyAccess"


def test_the_invariants_start_once_the_shared_answers_are_taken(
    aws: AwsConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    iam = boto3.client("iam", endpoint_url=aws.endpoint_url, region_name=aws.region)
    for name in ("order-a", "order-b"):
        iam.create_role(RoleName=name, AssumeRolePolicyDocument=TRUST)
    sessions: list[ReadSession] = []

    class Watched(ReadSession):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            sessions.append(self)

    monkeypatch.setattr(read_module, "ReadSession", Watched)
    seen: list[tuple[bool, list[str]]] = []

    def start(aws_policies: Mapping[str, Any]) -> None:
        (session,) = sessions
        seen.append((session.taken.done(), sorted(aws_policies)))

    scope = ReadScope(
        account_id=DEFAULT_ACCOUNT_ID,
        region=aws.region or "ap-northeast-1",
        ownership_key="managed-by",
        ownership_value="reconciler",
        aws_policy_arns=frozenset({READ_ONLY}),
    )
    live = read_account(ClientFactory(aws, read_only=True), scope, on_aws_policies=start)
    assert seen == [(True, [READ_ONLY])]  # once, the shared answers taken, the AWS managed policy read
    assert {"order-a", "order-b"} <= set(live.of("Role"))
