"""Faults: "under injected faults (a share of calls answered with throttling and 5xx errors), repeated
applies converge and no object in any bucket is lost".

Faults are injected client-side, on the product's own clients: a botocore ``before-send`` handler on
each client of a ``ClientFactory`` answers a seeded share of requests itself, with the status and body
the real service sends (IAM/STS query XML ``Throttling`` 400 and ``ServiceFailure`` 500, S3 ``SlowDown``
503 and ``InternalError`` 500, SageMaker JSON ``ThrottlingException`` 400 and ``InternalFailure`` 500),
so botocore's parsers and retry layer see real-looking errors. A "lost" fault sends the request to the
emulator and then answers 500 anyway: the write happened, the client does not know (the hard case: a
retried create then meets "already exists").

Which request gets a fault is decided from a hash of the seed, the request (operation, URL, body) and
how many times that same request was seen, never from thread timing: the runs are deterministic.
"""

from __future__ import annotations

import random
import re
import threading
import time
import urllib.parse
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any

import boto3
import pytest
import structlog
from applyenv import REGION, Env
from botocore.awsrequest import AWSPreparedRequest, AWSResponse
from botocore.exceptions import ClientError
from botocore.httpsession import URLLib3Session
from botocore.retries.standard import ExponentialBackoff, RetryContext

from reconciler import cli
from reconciler.aws.clients import AwsConfig, CallRecorder, ClientFactory
from reconciler.commands import accounts, planapply
from reconciler.engine.converge import apply_saved, make_plan
from reconciler.engine.executor import ApplyResult, Status
from reconciler.engine.plan import Action, Plan
from reconciler.engine.preview import preview
from reconciler.kinds import load_directory

SERVICES = ("iam", "s3", "sagemaker", "sts")
EMPTY_POLICY = '{"Version":"2012-10-17","Statement":[]}'

# --------------------------------------------------------------------------------------------------
# fault injection
# --------------------------------------------------------------------------------------------------


class _Body:
    """The ``raw`` of an AWSResponse: botocore reads ``raw.stream()``."""

    def __init__(self, data: bytes) -> None:
        self._data = data

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._data


def _query_error(code: str, kind: str, message: str) -> bytes:
    return (
        f'<ErrorResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><Error><Type>{kind}</Type>'
        f"<Code>{code}</Code><Message>{message}</Message></Error><RequestId>fault-injected</RequestId>"
        "</ErrorResponse>"
    ).encode()


def _s3_error(code: str, message: str) -> bytes:
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code><Message>{message}</Message>'
        "<RequestId>fault-injected</RequestId></Error>"
    ).encode()


def _json_error(code: str, message: str) -> bytes:
    return f'{{"__type":"{code}","message":"{message}"}}'.encode()


XML = {"Content-Type": "text/xml"}
JSON = {"Content-Type": "application/x-amz-json-1.1"}

#: (status, headers, body) per service and fault kind, as the real services answer.
ANSWERS: dict[tuple[str, str], tuple[int, dict[str, str], bytes]] = {
    ("iam", "throttle"): (400, XML, _query_error("Throttling", "Sender", "Rate exceeded")),
    ("sts", "throttle"): (400, XML, _query_error("Throttling", "Sender", "Rate exceeded")),
    ("s3", "throttle"): (503, XML, _s3_error("SlowDown", "Please reduce your request rate.")),
    ("sagemaker", "throttle"): (400, JSON, _json_error("ThrottlingException", "Rate exceeded")),
    ("iam", "5xx"): (500, XML, _query_error("ServiceFailure", "Receiver", "Internal failure")),
    ("sts", "5xx"): (500, XML, _query_error("InternalFailure", "Receiver", "Internal failure")),
    ("s3", "5xx"): (500, XML, _s3_error("InternalError", "We encountered an internal error. Please try again.")),
    ("sagemaker", "5xx"): (500, JSON, _json_error("InternalFailure", "Internal failure")),
}

_PASSWORD = re.compile(r"Password=[^&]*")  # CreateLoginProfile's password is random: not part of the key


@dataclass
class Faults:
    """A seeded share of requests answered with an error instead of the service's answer."""

    seed: int
    share: float
    kinds: tuple[str, ...] = ("throttle", "5xx")
    only: frozenset[str] | None = None  # operation names to fault (all when None)
    injected: Counter[tuple[str, str, str]] = field(default_factory=Counter)  # (service, operation, kind)
    _seen: Counter[str] = field(default_factory=Counter)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _http: URLLib3Session = field(default_factory=URLLib3Session)

    def install(self, factory: ClientFactory) -> ClientFactory:
        for service in SERVICES:
            factory.client(service).meta.events.register("before-send", self._before_send)
        return factory

    def total(self) -> int:
        with self._lock:
            return sum(self.injected.values())

    def _before_send(self, request: AWSPreparedRequest, event_name: str, **_: Any) -> AWSResponse | None:
        _, service, operation = event_name.split(".")
        if self.only is not None and operation not in self.only:
            return None
        body = request.body
        if body is not None and not isinstance(body, bytes | str):
            return None  # a streaming body: never faulted (the product sends none)
        text = body.decode("utf-8", "replace") if isinstance(body, bytes) else (body or "")
        # The request without the emulator's address (a free port, another one every run): the same requests
        # draw the same faults on every run.
        where = urllib.parse.urlsplit(request.url)
        key = f"{self.seed}|{service}|{operation}|{request.method}|{where.path}?{where.query}|{_PASSWORD.sub('', text)}"
        with self._lock:
            nth = self._seen[key]
            self._seen[key] += 1
        rng = random.Random(f"{key}|{nth}")  # str seeds are hashed with SHA-512: stable across processes
        if rng.random() >= self.share:
            return None
        kind = rng.choice(self.kinds)
        if kind == "lost":  # the write reaches the emulator; the answer is lost
            self._http.send(request).content  # noqa: B018 - read the body, drop it
        with self._lock:
            self.injected[(service, operation, kind)] += 1
        status, headers, data = ANSWERS[(service, "5xx" if kind == "lost" else kind)]
        return AWSResponse(request.url, status, headers, _Body(data))


def faulty(
    aws: AwsConfig, faults: Faults | None, *, read_only: bool, recorder: CallRecorder | None = None, **config: Any
) -> ClientFactory:
    """A factory like the CLI's (8 attempts) with faults, in botocore's standard retry mode unless ``config``
    says otherwise. The CLI uses adaptive mode, whose client-side rate limiter, once throttled, slows the
    whole client down (the same faulted apply: about 13 s adaptive, 2 s standard): too slow for a test."""
    base = AwsConfig(endpoint_url=aws.endpoint_url, region=aws.region, retry_mode="standard")
    factory = ClientFactory(replace(base, **config), read_only=read_only, recorder=recorder)
    return faults.install(factory) if faults is not None else factory


def plan_of(env: Env, reader: ClientFactory) -> Plan:
    return preview(load_directory(env.root), reader, REGION).plan


def apply_with(env: Env, reader: ClientFactory, writer: ClientFactory, **options: Any) -> ApplyResult:
    """What ``reconciler apply`` does, through its own path (``converge``): plan and judge with ``reader``, check
    the account and what the plan touches with ``reader``, execute with ``writer`` (no lease)."""
    desired = load_directory(env.root)
    planned = make_plan(desired, reader, REGION, **options)
    result = apply_saved(planned.saved, reader=reader, writer=writer, consistency_timeout=1.0, poll_interval=0.05)
    return result if result is not None else ApplyResult()


def refs(plan: Plan) -> list[tuple[str, str]]:
    return [(c.action.value, c.ref) for c in plan]


# --------------------------------------------------------------------------------------------------
# objects
# --------------------------------------------------------------------------------------------------

BUCKETS = ("sagemaker-rawdata", "sagemaker-result")

SHARE = 0.3  # of all requests, reads and writes, retries included
ATTEMPTS = 4  # per call: few enough that some calls fail for good, and some runs fail


def put_objects() -> None:
    """Several versions of several objects in each bucket, and a delete marker."""
    s3 = boto3.client("s3")
    for bucket in BUCKETS:
        s3.put_bucket_policy(Bucket=bucket, Policy=EMPTY_POLICY)  # the emulator denies object calls otherwise
        for key in ("data/a.csv", "data/b.csv", "models/m.bin"):
            for version in range(3):
                s3.put_object(Bucket=bucket, Key=key, Body=f"{bucket}/{key} v{version}".encode())
        s3.put_object(Bucket=bucket, Key="data/old.csv", Body=b"old")
        s3.delete_object(Bucket=bucket, Key="data/old.csv")  # a delete marker (test client, not the product)


def object_versions() -> dict[str, list[tuple[str, str, str, int]]]:
    """Every version and delete marker of every bucket: (key, version id, ETag or "marker", size)."""
    s3 = boto3.client("s3")
    out: dict[str, list[tuple[str, str, str, int]]] = {}
    for bucket in BUCKETS:
        items: list[tuple[str, str, str, int]] = []
        for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket):
            items += [(v["Key"], v["VersionId"], v["ETag"], v["Size"]) for v in page.get("Versions", [])]
            items += [(m["Key"], m["VersionId"], "marker", 0) for m in page.get("DeleteMarkers", [])]
        out[bucket] = sorted(items)
    return out


def change_manifests(env: Env) -> None:
    """A change touching every kind: versioning, tags, a policy document, a role, a group, users, a release."""

    def buckets(text: str) -> str:
        text = text.replace("versioning: true", "versioning: false", 1)
        text = text.replace("data-classification: raw", "data-classification: raw-v2")
        return text[: text.index("# Results")]  # sagemaker-result leaves git: released (Retain)

    env.edit("buckets/buckets.yaml", buckets)
    env.edit("policies/notebook-data.yaml", lambda t: t.replace("Sid: ReadRawData", "Sid: ReadRawDataV2"))
    env.edit("roles/notebook-roles.yaml", lambda t: t.rstrip("\n") + "\n  maxSessionDuration: 7200\n")
    env.edit(
        "groups/groups.yaml",
        lambda t: (
            t.rstrip("\n").rsplit("requireMFA: true", 1)[0]
            + "requireMFA: false\n  policies:\n    - use-notebook-for-engineer\n"
        ),
    )
    env.edit("users/users.yaml", lambda t: t.replace("name: carol", "name: dave"))
    # Her Studio profile follows her: dave's is created, carol's released (a profile's default: Retain).
    env.edit(
        "studio/studio.yaml", lambda t: t.replace("name: carol", "name: dave").replace("user: carol", "user: dave")
    )
    # What the change breaks of the security invariants, recorded as deliberate exceptions: apply refuses a plan
    # with an error finding, and this one is about faults, not about the rules.
    env.edit("settings.yaml", lambda t: t.rstrip("\n") + "\n" + INVARIANT_EXCEPTIONS)


INVARIANT_EXCEPTIONS = """\
  exceptions:
    - {rule: BKT003, resource: Bucket/sagemaker-rawdata, reason: "the fault test turns versioning off", owner: sre}
    - {rule: MFA001, resource: User/bob, reason: "the fault test turns requireMFA off on his group", owner: sre}
    - {rule: MFA001, resource: User/dave, reason: "the fault test turns requireMFA off on his group", owner: sre}
"""


# --------------------------------------------------------------------------------------------------
# tests
# --------------------------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _keep_logging() -> Iterator[None]:
    """cli.run() configures structlog for the process: put the test process's configuration back."""
    saved = structlog.get_config()
    yield
    structlog.configure(**saved)


@pytest.fixture(autouse=True)
def _short_throttle_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    """botocore backs off 1 s x 2^attempt (random jitter) after a throttle, 50 ms x 2^attempt after a 5xx.
    Only the sleeps are shortened here: no pause is longer than a 5xx's at the same attempt (throttles back
    off like 5xx), through the backoff policy's public ``delay_amount``; what is retried, and how many
    times, stays botocore's own decision."""
    delay_amount = ExponentialBackoff.delay_amount

    def shortened(self: ExponentialBackoff, context: RetryContext) -> float:
        return min(float(delay_amount(self, context)), 0.05 * 2 ** (context.attempt_number - 1))

    monkeypatch.setattr(ExponentialBackoff, "delay_amount", shortened)


@pytest.mark.parametrize("seed", [1, 2])
def test_retries_absorb_a_quarter_of_requests_failing_and_the_first_apply_succeeds(env: Env, seed: int) -> None:
    """With the CLI's 8 attempts, 25% throttles and 5xx on every read and write cost retries, not failures."""
    faults = Faults(seed=seed, share=0.25)  # on the writer; the reader gets faults of its own
    recorder = CallRecorder()
    reader = faulty(env.aws, Faults(seed=seed + 100, share=0.25), read_only=True)
    writer = faulty(env.aws, faults, read_only=False, recorder=recorder)
    started = time.monotonic()
    result = apply_with(env, reader, writer)
    seconds = time.monotonic() - started
    assert result.ok and result.done(Action.CREATE) == 22, result.summary()
    assert refs(env.plan()) == []
    # Every fault on a write cost one more HTTP attempt of that operation (botocore retried it).
    calls, attempts = recorder.counts(), recorder.attempts()
    write_faults: Counter[tuple[str, str]] = Counter()
    for (service, operation, _), n in faults.injected.items():
        write_faults[(service, operation)] += n
    assert sum(write_faults.values()) >= 5, faults.injected
    retried = {op: attempts[op] - calls[op] for op in attempts if attempts[op] != calls[op]}
    assert all(retried.get(op, 0) >= n for op, n in write_faults.items()), (retried, write_faults)
    # (the emulator itself may answer a rare HTTP 500 under concurrent IAM writes: a retry not injected here)
    assert sum(retried.values()) - sum(write_faults.values()) <= 2, (retried, write_faults)
    assert {kind for (_, _, kind) in faults.injected} == {"throttle", "5xx"}
    assert seconds < 30, f"the faulted apply took {seconds:.1f}s"


@pytest.mark.parametrize("seed", [5, 6])
def test_repeated_applies_under_faults_converge_and_no_object_is_lost(env: Env, seed: int) -> None:
    """30% of requests fail (throttles, 5xx, and 5xx after the write went through), with few retries
    (4 attempts; none for the first run's writes): runs fail; repeated runs converge; every object
    version and delete marker stays."""
    assert env.apply().ok
    put_objects()
    before = object_versions()
    assert sum(len(v) for v in before.values()) == 2 * (9 + 2)
    change_manifests(env)
    planned = refs(env.plan())
    assert ("release", "Bucket/sagemaker-result") in planned and ("delete", "User/carol") in planned
    assert ("create", "StudioUserProfile/dave") in planned and ("release", "StudioUserProfile/carol") in planned

    faults = Faults(seed=seed, share=SHARE, kinds=("throttle", "5xx", "lost"))
    results: list[ApplyResult | str] = []
    for run in range(10):  # a read fails after its retries now and then (about 40 reads a plan, 30% faulted)
        reader = faulty(env.aws, faults, read_only=True, max_attempts=ATTEMPTS)
        # The first run's writes are not retried at all: it fails for sure, the later runs must repair it.
        writer = faulty(env.aws, faults, read_only=False, max_attempts=1 if run == 0 else ATTEMPTS)
        try:
            result = apply_with(env, reader, writer)
        except ClientError as exc:  # the read failed after its retries (see test_a_read_that_fails_...)
            results.append(f"read failed: {exc}")
            continue
        results.append(result)
        if result.ok:
            break
    summaries = [r if isinstance(r, str) else r.summary() for r in results]
    assert isinstance(results[-1], ApplyResult) and results[-1].ok, summaries
    assert isinstance(results[0], str) or results[0].of(Status.FAILED), summaries  # the first run did fail
    assert refs(env.plan()) == [], summaries  # a faultless plan
    assert object_versions() == before
    assert {kind for (_, _, kind) in faults.injected} == {"throttle", "5xx", "lost"}
    tags = boto3.client("s3").get_bucket_tagging(Bucket="sagemaker-result")["TagSet"]
    assert {"Key": "managed-by", "Value": "reconciler"} not in tags  # released, with its objects


def test_without_retries_failures_are_failed_outcomes_and_the_next_run_converges(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    """max_attempts=1: a faulted write is a failed change (its dependants skipped), reported in the
    result and by exit status 1; nothing raises; the next (faultless) run converges."""
    faults = Faults(seed=3, share=0.25)
    writer = faulty(env.aws, faults, read_only=False, max_attempts=1)
    result = apply_with(env, ClientFactory(env.aws, read_only=True), writer)
    failed = result.of(Status.FAILED)
    assert failed and not result.ok
    assert all(
        re.search(r"Throttling|ServiceFailure|SlowDown|InternalError|InternalFailure", o.message or "") for o in failed
    ), [o.message for o in failed]
    assert all(o.retryable for o in failed)
    assert faults.total() >= len(failed)

    # The CLI: the same faults on its writable clients, no retries: exit status 1, no exception.
    real_factory = planapply.account_factory
    cli_faults = Faults(seed=4, share=0.25)

    def factory(args: Any, account: Any, region: str, *, read_only: bool, **how: Any) -> ClientFactory:
        made = real_factory(args, account, region, read_only=read_only, **how)
        if read_only:
            return made
        return faulty(env.aws, cli_faults, read_only=False, max_attempts=1)

    monkeypatch.setattr(planapply, "account_factory", factory)
    out = _Out()
    status = cli.run(
        ["--log-format", "json", "apply", "--auto-approve", str(env.root), "--endpoint-url", str(env.aws.endpoint_url)],
        out=out,
    )
    assert status == 1 and "failed:" in out.text, out.text
    assert cli_faults.total() > 0

    monkeypatch.setattr(planapply, "account_factory", real_factory)
    assert env.apply().ok
    assert refs(env.plan()) == []


class _Out:
    def __init__(self) -> None:
        self.text = ""

    def write(self, text: str) -> int:
        self.text += text
        return len(text)

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return False


def test_a_read_that_fails_after_its_retries_is_an_error_message_and_exit_1(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    faults = Faults(seed=5, share=1.0, kinds=("5xx",), only=frozenset({"GetAccountAuthorizationDetails"}))
    real_factory = planapply.factory

    def factory(args: Any, region: str, *, read_only: bool) -> ClientFactory:
        made = real_factory(args, region, read_only=read_only)
        return faults.install(made) if read_only else made

    # the clients of the plan, and of its read started while the manifests load
    monkeypatch.setattr(planapply, "factory", factory)
    monkeypatch.setattr(accounts, "factory", factory)
    out = _Out()
    status = cli.run(
        ["--log-format", "json", "plan", str(env.root), "--endpoint-url", str(env.aws.endpoint_url)], out=out
    )
    assert status == 1 and "error:" in out.text


HTML_500 = (
    b"<!doctype html>\n<html lang=en>\n<title>500 Internal Server Error</title>\n"
    b"<h1>Internal Server Error</h1>\n<p>The server encountered an internal error.</p>\n"
)


def test_an_unparsable_5xx_answer_is_one_failed_change_not_a_crashed_apply(env: Env) -> None:
    factory = ClientFactory(replace(env.aws, max_attempts=1), read_only=False)

    def html_500(request: AWSPreparedRequest, event_name: str, **_: Any) -> AWSResponse | None:
        body = request.body.decode() if isinstance(request.body, bytes) else str(request.body or "")
        if event_name.endswith(".CreateUser") and "UserName=bob" in body:
            return AWSResponse(request.url, 500, {"Content-Type": "text/html"}, _Body(HTML_500))
        return None

    factory.client("iam").meta.events.register("before-send", html_500)
    result = env.apply(factory=factory)
    assert [o.change.ref for o in result.of(Status.FAILED)] == ["User/bob"]
    # His group adds him, his Studio profile is for him: both wait for him.
    assert [o.change.ref for o in result.of(Status.SKIPPED)] == ["Group/SageMakerEngineer", "StudioUserProfile/bob"]
    assert result.done(Action.CREATE) == 19
