"""The controller against real git repositories and the embedded AWS."""

from __future__ import annotations

import gc
import json
import os
import signal
import subprocess
import sys
import threading
import urllib.request
import weakref
from pathlib import Path

import boto3
import pytest
from example_edits import remove_users
from gitrepo import git

from reconciler.aws.clients import AwsConfig, ClientFactory
from reconciler.aws.lease import Lease, LeaseTimeout, StateTable
from reconciler.controller.gitsource import GitSource, redact_url
from reconciler.controller.httpserver import HealthServer
from reconciler.controller.loop import Controller, ControllerConfig, parse_interval
from reconciler.controller.metrics import Metrics

REPO = Path(__file__).resolve().parents[2]
ACCOUNT = "123456789012"


def controller(repo: Path, aws: AwsConfig, tmp_path: Path, **config: object) -> Controller:
    cfg = ControllerConfig(source=str(repo), cache_dir=tmp_path / "cache", lease_ttl=5, lease_timeout=2, **config)  # type: ignore[arg-type]
    return Controller(cfg, aws, stop=threading.Event())


def users() -> list[str]:
    return sorted(u["UserName"] for u in boto3.client("iam").list_users()["Users"])


def remove_carol(repo: Path) -> None:
    remove_users(repo / "desired-state", "carol")


def test_parse_interval() -> None:
    assert [parse_interval(t) for t in ("30s", "5m", "1h", "1h30m", "90")] == [30, 300, 3600, 5400, 90]
    with pytest.raises(ValueError, match="not an interval"):
        parse_interval("soon")


def test_redact_url_hides_credentials() -> None:
    assert redact_url("https://user:s3cret@git.example/x.git") == "https://***@git.example/x.git"


def test_a_push_grants_and_revokes_access(repo: Path, aws: AwsConfig, tmp_path: Path) -> None:
    c = controller(repo, aws, tmp_path)
    assert c.reconcile_once() == 0
    assert users() == ["alice", "bob", "carol"]
    remove_carol(repo)
    git(repo, "commit", "--quiet", "-am", "revoke carol")
    assert c.reconcile_once() == 0
    assert users() == ["alice", "bob"]
    table = StateTable(ClientFactory(aws, read_only=False), account_id=ACCOUNT)
    assert table.last_applied() == git(repo, "rev-parse", "HEAD")


def test_drift_is_repaired_on_the_next_reconcile(repo: Path, aws: AwsConfig, tmp_path: Path) -> None:
    c = controller(repo, aws, tmp_path)
    assert c.reconcile_once() == 0
    boto3.client("iam").attach_group_policy(
        GroupName="SageMakerEngineer", PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess"
    )
    assert c.reconcile_once() == 0
    attached = boto3.client("iam").list_attached_group_policies(GroupName="SageMakerEngineer")["AttachedPolicies"]
    assert [p["PolicyName"] for p in attached] == ["use-notebook-for-engineer"]


def test_plan_mode_reports_drift_without_fixing_it(repo: Path, aws: AwsConfig, tmp_path: Path) -> None:
    assert controller(repo, aws, tmp_path).reconcile_once() == 0
    boto3.client("iam").delete_login_profile(UserName="bob")
    c = controller(repo, aws, tmp_path, mode="plan")
    assert c.reconcile_once() == 2
    assert c.metrics.registry.get_sample_value("reconciler_drift_resources", {"kind": "User"}) == 1
    with pytest.raises(boto3.client("iam").exceptions.NoSuchEntityException):
        boto3.client("iam").get_login_profile(UserName="bob")


def test_a_bad_commit_applies_nothing_and_the_next_good_one_proceeds(
    repo: Path, aws: AwsConfig, tmp_path: Path
) -> None:
    c = controller(repo, aws, tmp_path)
    assert c.reconcile_once() == 0
    remove_carol(repo)
    (repo / "desired-state" / "broken.yaml").write_text("kind: Role\nmetadata: {name: x\n")
    git(repo, "add", "-A")
    git(repo, "commit", "--quiet", "-m", "broken")
    assert c.reconcile_once() == 1
    assert users() == ["alice", "bob", "carol"]
    (repo / "desired-state" / "broken.yaml").unlink()
    git(repo, "commit", "--quiet", "-am", "fixed")
    assert c.reconcile_once() == 0
    assert users() == ["alice", "bob"]


def test_a_rewind_is_refused_unless_allowed(repo: Path, aws: AwsConfig, tmp_path: Path) -> None:
    first = git(repo, "rev-parse", "HEAD")
    remove_carol(repo)
    git(repo, "commit", "--quiet", "-am", "revoke carol")
    c = controller(repo, aws, tmp_path)
    assert c.reconcile_once() == 0
    git(repo, "reset", "--quiet", "--hard", first)  # a force push back to the old commit
    assert c.reconcile_once() == 1
    assert users() == ["alice", "bob"]
    assert controller(repo, aws, tmp_path, allow_rewind=True).reconcile_once() == 0
    assert users() == ["alice", "bob", "carol"]


def test_unreachable_git_is_a_retryable_failure(aws: AwsConfig, tmp_path: Path) -> None:
    c = controller(tmp_path / "no-such-repo", aws, tmp_path)
    assert c.reconcile_once() == 1
    assert c.last_retryable


def test_git_source_fetches_the_newest_commit_of_the_branch(repo: Path, tmp_path: Path) -> None:
    source = GitSource(str(repo), cache_dir=tmp_path / "cache")
    one = source.fetch()
    assert (one.root / "settings.yaml").exists()
    (repo / "desired-state" / "settings.yaml").write_text("changed")
    git(repo, "commit", "--quiet", "-am", "change")
    two = source.fetch()
    assert two.sha != one.sha and (two.root / "settings.yaml").read_text() == "changed"
    assert source.is_ancestor(one.sha, two.sha) and not source.is_ancestor(two.sha, one.sha)


def test_lease_excludes_a_second_owner_until_released_or_expired(aws: AwsConfig) -> None:
    table = StateTable(ClientFactory(aws, read_only=False), account_id=ACCOUNT)
    now = [1000.0]
    first = Lease(table, owner="a", ttl=30, clock=lambda: now[0])
    second = Lease(table, owner="b", ttl=30, clock=lambda: now[0])
    assert first.try_acquire()
    assert not second.try_acquire()
    with pytest.raises(LeaseTimeout, match="held by a"):
        second.acquire(timeout=0.1, poll=0.05)
    now[0] += 31  # a's lease expired: b takes it over
    assert second.try_acquire()
    assert not first.renew() and first.lost.is_set()
    second.release()
    assert first.try_acquire()


APPLY_SCRIPT = """
import sys, time
from reconciler.aws.clients import AwsConfig, ClientFactory
from reconciler.aws.lease import Lease, StateTable
from reconciler.logs import configure_logging
configure_logging(fmt="json")
table = StateTable(ClientFactory(AwsConfig(endpoint_url=sys.argv[1], region="ap-northeast-1"), read_only=False),
                   account_id="123456789012")
lease = Lease(table, owner=sys.argv[2], ttl=10)
with lease.held(timeout=30, stop=None):
    print("start", sys.argv[2], time.time(), flush=True)
    time.sleep(1.5)
    print("end", sys.argv[2], time.time(), flush=True)
"""


def test_two_processes_never_hold_the_lease_at_once(aws: AwsConfig) -> None:
    env = dict(os.environ)
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", APPLY_SCRIPT, str(aws.endpoint_url), name],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name in ("p1", "p2")
    ]
    outputs = [p.communicate(timeout=60) for p in procs]
    assert all(p.returncode == 0 for p in procs), outputs
    spans = {}
    for out, _err in outputs:
        lines = dict((line.split()[0], float(line.split()[2])) for line in out.splitlines())
        spans[out.split()[1]] = (lines["start"], lines["end"])
    (_, a_end), (b_start, _) = sorted(spans.values())
    assert a_end <= b_start, spans  # the second started only after the first finished
    waited = [err for _, err in outputs if "waiting for the lease" in err]
    assert len(waited) == 1  # the one that waited said so


def test_metrics_and_health_endpoints(repo: Path, aws: AwsConfig, tmp_path: Path) -> None:
    metrics = Metrics()
    server = HealthServer(metrics, 0, host="127.0.0.1").start()
    try:
        base = f"http://127.0.0.1:{server.port}"
        with pytest.raises(urllib.error.HTTPError) as not_ready:
            urllib.request.urlopen(f"{base}/readyz", timeout=5)
        assert not_ready.value.code == 503
        c = Controller(ControllerConfig(source=str(repo), cache_dir=tmp_path / "cache"), aws, metrics=metrics)
        assert c.reconcile_once() == 0
        assert urllib.request.urlopen(f"{base}/readyz", timeout=5).status == 200
        assert urllib.request.urlopen(f"{base}/healthz", timeout=5).status == 200
        text = urllib.request.urlopen(f"{base}/metrics", timeout=5).read().decode()
        assert 'reconciler_changes_total{action="create",kind="Role",status="done"} 2.0' in text
        assert "reconciler_last_success_timestamp_seconds" in text
        assert f'sha="{git(repo, "rev-parse", "HEAD")}"' in text
        assert "reconciler_reconcile_duration_seconds_count" in text
    finally:
        server.stop()


def test_sigterm_finishes_in_flight_changes_and_exits_0(repo: Path, aws: AwsConfig, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items()}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "reconciler",
            "--log-format",
            "json",
            "run",
            "--source",
            str(repo),
            "--cache-dir",
            str(tmp_path / "cache"),
            "--interval",
            "1h",
            "--endpoint-url",
            str(aws.endpoint_url),
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stderr is not None
    # A watchdog: whatever happens, the process is gone after 120 s and the test fails, never hangs.
    watchdog = threading.Timer(120, proc.kill)
    watchdog.start()
    try:
        for line in proc.stderr:
            if '"event": "change"' in line:
                proc.send_signal(signal.SIGTERM)
                break
        rest = proc.stderr.read()
        proc.wait(timeout=120)
    finally:
        watchdog.cancel()
    assert proc.returncode == 0, rest
    assert "stop requested" in rest and "controller stopped" in rest
    lines = [json.loads(line) for line in rest.splitlines() if line.startswith("{")]
    skipped = [e for e in lines if e.get("event") == "change" and e.get("status") == "skipped"]
    assert skipped, "a stop must leave later changes unstarted"
    # Every line carries the run id and the commit.
    assert all("run_id" in e for e in lines if e.get("event") == "change")


def test_retryable_failures_back_off_exponentially_and_bounded(
    aws: AwsConfig, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    c = controller(tmp_path / "no-such-repo", aws, tmp_path, interval=60.0, max_backoff=30.0)
    waits: list[float] = []

    def fake_sleep(stop: threading.Event, seconds: float, wake: threading.Event | None = None) -> bool:
        waits.append(seconds)
        if len(waits) == 6:
            c.stop.set()
        return c.stop.is_set()

    monkeypatch.setattr(c.metrics, "sleep", fake_sleep)
    assert c.run_forever() == 0
    assert waits == [5.0, 10.0, 20.0, 30.0, 30.0, 30.0]  # doubling from 5 s, bounded by max_backoff


def test_the_loop_frees_a_cycles_garbage_before_it_sleeps(
    aws: AwsConfig, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Objects in reference cycles left by a reconcile are freed before the wait, whatever the collector's pace:
    the memory the controller keeps while it waits is what the next cycle needs, not what the last one left."""
    c = controller(tmp_path / "no-such-repo", aws, tmp_path, interval=60.0)

    class Garbage:
        other: object

    alive: list[weakref.ref[Garbage]] = []
    seen_at_sleep: list[bool] = []
    reconcile = c.reconcile_once

    def reconcile_and_leave_a_cycle() -> int:
        a, b = Garbage(), Garbage()
        a.other, b.other = b, a
        alive.append(weakref.ref(a))
        return reconcile()

    def fake_sleep(stop: threading.Event, seconds: float, wake: threading.Event | None = None) -> bool:
        seen_at_sleep.append(alive[-1]() is not None)
        if len(seen_at_sleep) == 2:
            c.stop.set()
        return c.stop.is_set()

    monkeypatch.setattr(c, "reconcile_once", reconcile_and_leave_a_cycle)
    monkeypatch.setattr(c.metrics, "sleep", fake_sleep)
    gc.disable()  # only a full collection frees the cycles
    try:
        assert c.run_forever() == 0
    finally:
        gc.enable()
    assert seen_at_sleep == [False, False]
