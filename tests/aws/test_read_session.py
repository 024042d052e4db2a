"""The read session's shared answers: made once, and ``taken`` once every kind that reads them has them (the
invariants start then, so the rules' model and the largest answer's parse are not in memory together)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from reconciler.aws.clients import AwsConfig, ClientFactory
from reconciler.aws.scope import ReadScope
from reconciler.aws.session import ReadSession

SCOPE = ReadScope(account_id="123456789012", region="ap-northeast-1", ownership_key="k", ownership_value="v")


def session(consumers: dict[str, int]) -> ReadSession:
    factory = ClientFactory(AwsConfig(endpoint_url="http://127.0.0.1:1", region="ap-northeast-1"), read_only=True)
    return ReadSession(factory, SCOPE, ThreadPoolExecutor(max_workers=1), consumers)


def test_taken_when_every_kind_has_its_answer_and_each_answer_is_made_once() -> None:
    read = session({"iam": 2, "studio": 1})
    made: list[str] = []

    def produce(name: str) -> dict[str, str]:
        made.append(name)
        return {"answer": name}

    assert read.shared("iam", lambda: produce("iam")) == {"answer": "iam"}
    assert not read.taken.done()
    assert read.shared("studio", lambda: produce("studio")) == {"answer": "studio"}
    assert not read.taken.done()  # one kind reading "iam" has not asked yet
    assert read.shared("iam", lambda: produce("iam again")) == {"answer": "iam"}
    assert read.taken.done()
    assert made == ["iam", "studio"]


def test_taken_waits_for_an_answer_still_being_made() -> None:
    read = session({"iam": 2})
    started, release = threading.Event(), threading.Event()

    def slow() -> str:
        started.set()
        release.wait(10)
        return "answer"

    with ThreadPoolExecutor(max_workers=2) as kinds:
        first = kinds.submit(read.shared, "iam", slow)
        assert started.wait(10)
        second = kinds.submit(read.shared, "iam", lambda: "never made")
        with pytest.raises(TimeoutError):
            read.taken.result(timeout=0.2)  # both kinds asked; the answer is not made yet
        release.set()
        assert first.result(10) == second.result(10) == "answer"
    assert read.taken.done()


def test_a_failed_answer_is_taken_too_and_a_read_without_shared_answers_is_taken_at_once() -> None:
    read = session({"iam": 1})

    def fail() -> str:
        raise RuntimeError("throttled")

    with pytest.raises(RuntimeError, match="throttled"):
        read.shared("iam", fail)
    assert read.taken.done()
    assert session({}).taken.done()
