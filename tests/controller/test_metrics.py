"""Metrics, heartbeat and head status of the controller, and the health endpoints over real HTTP."""

from __future__ import annotations

import itertools
import sys
import threading
import time
from collections.abc import Iterator

import pytest
from gitrepo import http_get

from reconciler.controller import metrics as metrics_module
from reconciler.controller.httpserver import HealthServer
from reconciler.controller.metrics import DEFAULT_STALE_AFTER, HEAD_STATUSES, Metrics


def sample(metrics: Metrics, name: str, labels: dict[str, str] | None = None) -> float | None:
    value = metrics.registry.get_sample_value(name, labels or {})
    return None if value is None else float(value)


@pytest.fixture
def served() -> Iterator[tuple[Metrics, str]]:
    metrics = Metrics(stale_after=60)
    server = HealthServer(metrics, 0, host="127.0.0.1").start()
    try:
        yield metrics, f"http://127.0.0.1:{server.port}"
    finally:
        server.stop()


def test_head_status_is_one_hot_and_unknown_before_the_first_cycle() -> None:
    metrics = Metrics()
    assert {s: sample(metrics, "reconciler_head_status", {"status": s}) for s in HEAD_STATUSES} == {
        "valid": 0,
        "invalid": 0,
        "refused": 0,
        "rewind": 0,
        "unknown": 1,
    }
    assert sample(metrics, "reconciler_commit_info", {"applied": "", "head": ""}) == 1
    metrics.set_head("invalid", "a" * 40, "b" * 40, "3 manifest problems")
    assert [s for s in HEAD_STATUSES if sample(metrics, "reconciler_head_status", {"status": s}) == 1] == ["invalid"]
    assert sample(metrics, "reconciler_commit_info", {"applied": "b" * 40, "head": "a" * 40}) == 1
    assert sample(metrics, "reconciler_commit_info", {"applied": "", "head": ""}) is None  # replaced, not added
    with pytest.raises(ValueError, match="unknown head status"):
        metrics.set_head("broken", None, None, None)


def test_drift_gauges_are_never_stale() -> None:
    metrics = Metrics()
    metrics.observe_plan({"Role": 2, "User": 1}, ["Policy", "Role", "User"])
    assert sample(metrics, "reconciler_drift_resources", {"kind": "Role"}) == 2
    assert sample(metrics, "reconciler_drift_resources", {"kind": "Policy"}) == 0
    metrics.observe_plan({"Bucket": 1}, ["Policy"])  # Role and User were reported before: back to 0
    assert sample(metrics, "reconciler_drift_resources", {"kind": "Role"}) == 0
    assert sample(metrics, "reconciler_drift_resources", {"kind": "User"}) == 0
    assert sample(metrics, "reconciler_drift_resources", {"kind": "Bucket"}) == 1


def test_counters_timestamps_and_gauges() -> None:
    metrics = Metrics(interval=300)
    assert sample(metrics, "reconciler_interval_seconds") == 300
    assert sample(metrics, "reconciler_last_reconcile_timestamp_seconds") == 0
    assert sample(metrics, "reconciler_start_time_seconds") == pytest.approx(time.time(), abs=60)
    metrics.reconcile_completed(ok=False)
    assert sample(metrics, "reconciler_last_reconcile_timestamp_seconds") == pytest.approx(time.time(), abs=60)
    assert sample(metrics, "reconciler_last_success_timestamp_seconds") == 0
    metrics.reconcile_completed(ok=True)
    assert sample(metrics, "reconciler_last_success_timestamp_seconds") == pytest.approx(time.time(), abs=60)
    metrics.drift_repaired("Group", 2)
    metrics.drift_repaired("Group", 0)
    assert sample(metrics, "reconciler_drift_repaired_total", {"kind": "Group"}) == 2
    with pytest.raises(ValueError, match="negative"):
        metrics.drift_repaired("Group", -1)
    metrics.lease_waited(2.5, contended=True)
    metrics.lease_waited(0.0, contended=False)
    assert sample(metrics, "reconciler_lease_wait_seconds_total") == 2.5
    assert sample(metrics, "reconciler_lease_contention_total") == 1
    metrics.set_synced(True)
    assert sample(metrics, "reconciler_synced") == 1
    metrics.set_synced(False)
    assert sample(metrics, "reconciler_synced") == 0
    metrics.set_interval(60)
    assert sample(metrics, "reconciler_interval_seconds") == 60


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="read from /proc")
def test_the_process_s_memory_and_cpu_are_exported_over_http(served: tuple[Metrics, str]) -> None:
    """What an operator watches a long-running controller's memory with, outside Kubernetes too."""
    _, base = served
    status, body = http_get(base + "/metrics")
    assert status == 200
    values = {line.split()[0]: float(line.split()[1]) for line in body.splitlines() if line.startswith("process_")}
    assert values["process_resident_memory_bytes"] > 10 * 2**20
    assert values["process_cpu_seconds_total"] > 0


def test_the_metrics_the_older_loop_uses_still_work() -> None:
    metrics = Metrics()
    metrics.duration.labels("apply").observe(1.0)
    metrics.changes.labels("Role", "create", "done").inc()
    metrics.drift.labels("User").set(1)
    metrics.findings.labels("error").set(0)
    metrics.failures.labels("manifests").inc()
    metrics.last_success.set(time.time())
    metrics.commit.info({"sha": "abc"})
    assert not metrics.ready
    metrics.ready = True  # what loop.py does after a successful reconcile
    assert metrics.ready and metrics.readiness() == (True, "ready")
    text = metrics.render().decode()
    assert 'reconciler_changes_total{action="create",kind="Role",status="done"} 1.0' in text
    assert 'reconciler_last_applied_commit_info{sha="abc"} 1.0' in text


def test_readiness_says_why_in_one_line(served: tuple[Metrics, str]) -> None:
    metrics, base = served
    assert http_get(f"{base}/readyz") == (503, "not ready: no reconcile has completed yet\n")
    metrics.set_head("invalid", "abc123" + "0" * 34, None, "3 manifest problems\n(see the log)")
    metrics.reconcile_completed(ok=False)
    assert http_get(f"{base}/readyz") == (
        503,
        "not ready: head commit abc123000000 is invalid: 3 manifest problems (see the log)\n",
    )
    metrics.set_head("rewind", "f" * 40, "e" * 40, "not a descendant of eeeeeeeeeeee")
    assert http_get(f"{base}/readyz") == (
        503,
        "not ready: head commit ffffffffffff is a refused rewind: not a descendant of eeeeeeeeeeee\n",
    )
    metrics.set_head("refused", None, None, None)
    assert http_get(f"{base}/readyz") == (503, "not ready: the head commit is refused\n")
    metrics.set_head("valid", "f" * 40, "f" * 40)
    assert http_get(f"{base}/readyz") == (200, "ready\n")
    assert http_get(f"{base}/metrics")[0] == 200
    assert http_get(f"{base}/nope") == (404, "not found\n")


def test_unknown_head_after_a_failed_first_reconcile_is_not_ready() -> None:
    metrics = Metrics()
    metrics.reconcile_completed(ok=False)  # e.g. git unreachable: the head was never read
    assert metrics.readiness() == (False, "not ready: the head commit is not known yet")


def test_healthz_turns_stale_without_beats(served: tuple[Metrics, str], monkeypatch: pytest.MonkeyPatch) -> None:
    metrics, base = served
    assert http_get(f"{base}/healthz") == (200, "ok\n")
    now = time.monotonic()
    monkeypatch.setattr(metrics_module.time, "monotonic", lambda: now + 61)
    code, text = http_get(f"{base}/healthz")
    assert code == 503 and text.startswith("stale: no heartbeat for 61s")
    metrics.beat()
    assert http_get(f"{base}/healthz") == (200, "ok\n")


def test_blocking_keeps_health_fresh_only_for_its_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    metrics = Metrics(stale_after=10)
    clock = [1000.0]
    monkeypatch.setattr(metrics_module.time, "monotonic", lambda: clock[0])
    metrics.beat()
    with metrics.blocking(100):
        clock[0] += 90
        assert metrics.liveness()[0]  # silent for 90 s, but within the bound of the blocking call
        clock[0] += 20
        assert not metrics.liveness()[0]  # outlived its bound: a hung call shows
    assert metrics.liveness()[0]  # returned: that is a beat
    clock[0] += 11
    assert not metrics.liveness()[0]


def test_beat_hook_beats_and_returns_none(monkeypatch: pytest.MonkeyPatch) -> None:
    metrics = Metrics(stale_after=10)
    clock = [1000.0]
    monkeypatch.setattr(metrics_module.time, "monotonic", lambda: clock[0])
    metrics.beat()
    clock[0] += 11
    assert not metrics.liveness()[0]
    renewal = threading.Thread(target=metrics.beat_hook, name="lease-renewal")
    renewal.start()
    renewal.join()
    assert not metrics.liveness()[0]  # renewing the lease in the background is not progress of the loop
    assert metrics.beat_hook(request=object(), event_name="before-send.iam.ListRoles") is None
    assert metrics.liveness()[0]


def test_beat_hook_works_as_a_botocore_before_send_handler(monkeypatch: pytest.MonkeyPatch) -> None:
    import boto3
    import botocore.config

    metrics = Metrics()
    beats: list[str] = []
    monkeypatch.setattr(metrics, "beat", lambda: beats.append("beat"))
    client = boto3.client(
        "sts",
        region_name="us-east-1",
        endpoint_url="http://127.0.0.1:9",
        aws_access_key_id="x",
        aws_secret_access_key="y",
        config=botocore.config.Config(retries={"total_max_attempts": 2, "mode": "standard"}, connect_timeout=1),
    )
    client.meta.events.register("before-send", metrics.beat_hook)
    with pytest.raises(Exception, match="Could not connect"):
        client.get_caller_identity()
    assert beats == ["beat", "beat"]  # one per HTTP attempt, the retry included


def test_sleep_beats_and_returns_early_on_stop_or_wake() -> None:
    metrics = Metrics()
    stop, wake = threading.Event(), threading.Event()
    started = time.monotonic()
    assert metrics.sleep(stop, 0.3) is False
    assert metrics.sleep(stop, 0.3, wake) is False
    assert 0.5 <= time.monotonic() - started < 5
    threading.Timer(0.2, wake.set).start()
    started = time.monotonic()
    assert metrics.sleep(stop, 30, wake) is True
    assert time.monotonic() - started < 5 and not wake.is_set()  # cleared: later triggers count again
    threading.Timer(0.2, stop.set).start()
    started = time.monotonic()
    assert metrics.sleep(stop, 30, wake) is True
    assert time.monotonic() - started < 5
    assert metrics.sleep(stop, 30) is True  # already stopped: at once


def test_sleep_beats_at_least_every_slice(monkeypatch: pytest.MonkeyPatch) -> None:
    metrics = Metrics()
    stop = threading.Event()
    clock = [0.0]
    waits: list[float] = []
    beats: list[float] = []
    monkeypatch.setattr(metrics_module.time, "monotonic", lambda: clock[0])
    monkeypatch.setattr(metrics, "beat", lambda: beats.append(clock[0]))

    def fake_wait(timeout: float | None = None) -> bool:
        waits.append(float(timeout or 0))
        clock[0] += float(timeout or 0)
        return False

    monkeypatch.setattr(stop, "wait", fake_wait)
    assert metrics.sleep(stop, 23) is False
    assert max(waits) <= metrics_module.SLEEP_SLICE and sum(waits) == 23
    assert max(b - a for a, b in itertools.pairwise(beats)) <= metrics_module.SLEEP_SLICE


def test_defaults() -> None:
    assert Metrics().stale_after == DEFAULT_STALE_AFTER
    with pytest.raises(ValueError, match="positive"):
        Metrics(stale_after=0)
