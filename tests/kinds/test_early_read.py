"""An account's read started from the Settings alone while the manifests load (``EarlyRead``): it makes the
account guard's and the account-wide calls before its scope is given, then reads exactly what a plain read reads;
abandoned, it stops; started from other Settings, the plan reads anew."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import boto3
import pytest
from handmade import build

from reconciler.aws.clients import AwsConfig, CallRecorder, ClientFactory
from reconciler.aws.scope import ScopeAbandoned
from reconciler.engine.differ import read_scope
from reconciler.engine.preview import preview
from reconciler.engine.render import render_text
from reconciler.errors import AccountMismatchError, AwsAccessError, CallsStopped
from reconciler.kinds import load_directory
from reconciler.kinds.read import EarlyRead, read_account, read_services
from reconciler.manifests import DesiredState

REPO = Path(__file__).resolve().parents[2]
REGION = "ap-northeast-1"
# Calls a read makes only once it knows what git names (the scope): per-resource details.
DETAILS = {
    ("iam", "ListAccessKeys"),
    ("iam", "GetLoginProfile"),
    ("s3", "GetBucketVersioning"),
    ("s3", "GetBucketPolicy"),
    ("sagemaker", "DescribeNotebookInstance"),
}


@pytest.fixture
def example() -> DesiredState:
    return load_directory(REPO / "desired-state")


def start(factory: ClientFactory, desired: DesiredState, *, account: str | None = None) -> EarlyRead:
    tag = desired.settings.ownership_tag
    return EarlyRead(factory, account or desired.settings.account_id, REGION, (tag.key, tag.value))


def wait_for(recorder: CallRecorder, operation: tuple[str, str], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while operation not in recorder.counts():
        assert time.monotonic() < deadline, f"{operation} was never called"
        time.sleep(0.01)


def test_the_account_wide_calls_come_before_the_scope_and_the_read_is_a_plain_reads(
    aws: AwsConfig, example: DesiredState
) -> None:
    build(example, REGION)
    boto3.client("s3").create_bucket(Bucket="someone-elses", CreateBucketConfiguration={"LocationConstraint": REGION})
    recorder = CallRecorder()
    factory = ClientFactory(aws, read_only=True, recorder=recorder)
    with start(factory, example) as early:
        wait_for(recorder, ("iam", "GetAccountAuthorizationDetails"))
        wait_for(recorder, ("s3", "GetBucketTagging"))  # every listed bucket's tags: the scope is not needed yet
        assert ("sts", "GetCallerIdentity") in recorder.counts()
        assert not DETAILS & set(recorder.counts())
        assert not early.live.done()  # it waits for its scope
        scope = read_scope(example, REGION)
        assert early.resolve(scope)
        live = early.live.result(timeout=60)
    plain_recorder = CallRecorder()
    plain = read_account(ClientFactory(aws, read_only=True, recorder=plain_recorder), scope)
    assert live.resources == plain.resources
    assert live.aws_policies.keys() == plain.aws_policies.keys()
    assert recorder.counts() == plain_recorder.counts()  # not a call more than the plain read's
    assert {("iam", "ListAccessKeys"), ("s3", "GetBucketVersioning")} <= set(recorder.counts())


def test_a_plan_from_an_early_read_is_the_plan_and_findings_of_a_plain_one(
    aws: AwsConfig, example: DesiredState
) -> None:
    build(example, REGION, skip={"User/alice"})
    factory = ClientFactory(aws, read_only=True)
    with start(factory, example) as early:
        early_plan = preview(example, factory, REGION, invariants=True, early=early)
    plain = preview(example, ClientFactory(aws, read_only=True), REGION, invariants=True)
    assert render_text(early_plan.plan, color=False) == render_text(plain.plan, color=False)
    assert "User/alice" in [c.ref for c in early_plan.plan]
    assert [c.ref for c in early_plan.plan] == [c.ref for c in plain.plan]
    assert early_plan.report is not None and plain.report is not None
    assert early_plan.report.findings == plain.report.findings


def test_a_read_started_from_other_settings_is_abandoned_and_the_plan_reads_anew(
    aws: AwsConfig, example: DesiredState
) -> None:
    build(example, REGION)
    factory = ClientFactory(aws, read_only=True)
    with EarlyRead(factory, example.settings.account_id, REGION, ("owner", "someone-else")) as early:
        result = preview(example, factory, REGION, invariants=True, early=early)
        assert isinstance(early.live.exception(timeout=60), ScopeAbandoned)
    assert result.plan.empty
    assert sum(result.plan.unchanged.values()) == 22
    assert result.report is not None  # the rules ran, on the AWS managed policies of the read made anew


def test_an_abandoned_read_reads_no_detail_and_ends(aws: AwsConfig, example: DesiredState) -> None:
    build(example, REGION)
    recorder = CallRecorder()
    factory = ClientFactory(aws, read_only=True, recorder=recorder)
    with start(factory, example) as early:
        wait_for(recorder, ("iam", "GetAccountAuthorizationDetails"))
    # leaving the block without a scope: abandoned, its thread ended
    assert early.live.done()
    assert isinstance(early.live.exception(), (ScopeAbandoned, CallsStopped))
    assert not DETAILS & set(recorder.counts())
    with pytest.raises(CallsStopped):  # the factory's calls were stopped with it
        factory.client("iam").list_roles()


def test_abandoning_a_read_of_an_unreachable_aws_stops_its_retries(aws: AwsConfig, example: DesiredState) -> None:
    recorder = CallRecorder()
    unreachable = AwsConfig(endpoint_url="http://127.0.0.1:9", region=REGION, max_attempts=8)
    factory = ClientFactory(unreachable, read_only=True, recorder=recorder)
    with start(factory, example) as early:
        wait_for(recorder, ("sts", "GetCallerIdentity"))
    assert isinstance(early.live.exception(), CallsStopped)
    # stopped at the first attempt or the backoff after it, not after its 8 attempts
    # (none at all when it was stopped before its first attempt was sent)
    assert recorder.attempts().get(("sts", "GetCallerIdentity"), 0) < 8


def test_the_account_guard_of_an_early_read_refuses_another_account(aws: AwsConfig, example: DesiredState) -> None:
    factory = ClientFactory(aws, read_only=True)
    with start(factory, example, account="999999999999") as early:
        assert isinstance(early.live.exception(timeout=60), AccountMismatchError)  # before any scope is given


def test_a_read_started_with_other_clients_is_let_go_when_the_plan_reads_anew(
    aws: AwsConfig, example: DesiredState
) -> None:
    build(example, REGION)
    with start(ClientFactory(aws, read_only=True), example) as early:
        result = preview(example, ClientFactory(aws, read_only=True), REGION, early=early)
        # abandoned by the plan itself, before the block ends
        assert isinstance(early.live.exception(timeout=60), ScopeAbandoned)
    assert result.plan.empty


def test_the_clients_are_made_before_the_read_s_thread_starts(aws: AwsConfig, example: DesiredState) -> None:
    # Made on the read's threads while the manifests load, their file look-ups waited for the loader: no call went
    # out before the load was over.
    build(example, REGION)
    factory = ClientFactory(aws, read_only=True)
    made: list[tuple[str, str]] = []
    create = factory._create

    def recording(service: str) -> Any:
        made.append((service, threading.current_thread().name))
        return create(service)

    factory._create = recording  # type: ignore[method-assign,assignment] # observed, not replaced
    with start(factory, example) as early:
        before = list(made)
        assert early.resolve(read_scope(example, REGION))
        early.live.result(timeout=60)
    assert sorted(service for service, _ in before) == sorted(read_services())
    assert made == before  # the read made no other client
    assert {thread for _, thread in made} == {threading.current_thread().name}


def test_the_read_s_services_are_named_as_boto3_names_them() -> None:
    assert set(read_services()) <= set(boto3.session.Session().get_available_services())
    assert {"sts", "iam", "s3", "sagemaker"} <= set(read_services())


def test_clients_that_cannot_be_made_fail_the_read_not_its_start(aws: AwsConfig, example: DesiredState) -> None:
    factory = ClientFactory(
        AwsConfig(endpoint_url=aws.endpoint_url, region=REGION, profile="no-such-profile"), read_only=True
    )
    # EarlyRead does not raise: the loader, which runs next, is still the first judge
    with start(factory, example) as early, pytest.raises(AwsAccessError, match="no-such-profile"):
        early.live.result(timeout=60)
