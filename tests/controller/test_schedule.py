"""The controller against a real git repository and the embedded AWS, at instants set on the one clock: access that
ends is removed with no commit (and warned about before); Settings.suspend holds everything back; outside its sync
windows the controller applies only what always proceeds (removals of expired access, reverts of drift that breaks an
invariant); inside an allow window it applies everything."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
import structlog
from expiring import AFTER, BEFORE, give_expiring_access
from gitrepo import git, http_get

from reconciler.aws.clients import AwsConfig
from reconciler.clock import frozen
from reconciler.controller.httpserver import HealthServer
from reconciler.controller.loop import Controller, ControllerConfig
from reconciler.controller.metrics import Metrics
from reconciler.logs import configure_logging

ADMIN = "arn:aws:iam::aws:policy/AdministratorAccess"
ACCOUNT = "123456789012"
DESCRIPTION = "Runs the engineers' notebook"


@pytest.fixture(autouse=True)
def info_logs() -> Iterator[None]:
    """Warnings reach ``capture_logs`` whatever level an earlier test of this process configured."""
    saved = structlog.get_config()
    configure_logging(fmt="json", level="info")
    try:
        yield
    finally:
        structlog.configure(**saved)


@pytest.fixture
def served(repo: Path, aws: AwsConfig, tmp_path: Path) -> Iterator[tuple[Controller, str]]:
    metrics = Metrics(interval=60)
    server = HealthServer(metrics, 0, host="127.0.0.1").start()
    controller = Controller(
        ControllerConfig(source=str(repo), cache_dir=tmp_path / "cache", interval=3600, lease_ttl=5, lease_timeout=5),
        aws,
        metrics=metrics,
        stop=threading.Event(),
    )
    try:
        yield controller, f"http://127.0.0.1:{server.port}"
    finally:
        controller.stop.set()
        server.stop()


def commit(repo: Path, message: str) -> str:
    git(repo, "add", "-A")
    git(repo, "commit", "--quiet", "-m", message)
    return git(repo, "rev-parse", "HEAD")


def settings_with(repo: Path, extra: str) -> None:
    path = repo / "desired-state" / "settings.yaml"
    path.write_text(path.read_text() + extra)


def series(metrics: Metrics, name: str) -> dict[str, float]:
    """``{labels: value}`` of a metric's samples, from the exposition text."""
    out = {}
    for line in metrics.render().decode().splitlines():
        if line.startswith(name + "{"):
            labels, value = line[len(name) :].rsplit(" ", 1)
            out[labels] = float(value)
    return out


def value(metrics: Metrics, name: str) -> float:
    (line,) = [ln for ln in metrics.render().decode().splitlines() if ln.startswith(name + " ")]
    return float(line.rsplit(" ", 1)[1])


def members(group: str) -> list[str]:
    return sorted(u["UserName"] for u in boto3.client("iam").get_group(GroupName=group)["Users"])


def attached(group: str) -> list[str]:
    found = boto3.client("iam").list_attached_group_policies(GroupName=group)["AttachedPolicies"]
    return sorted(p["PolicyName"] for p in found)


def description() -> str:
    return str(boto3.client("iam").get_role(RoleName="notebook-for-engineer-role")["Role"].get("Description"))


def drift_by_hand() -> None:
    """AdministratorAccess for the engineers (breaks invariants), and a role's description changed (does not)."""
    iam = boto3.client("iam")
    iam.attach_group_policy(GroupName="SageMakerEngineer", PolicyArn=ADMIN)
    iam.update_role(RoleName="notebook-for-engineer-role", Description="changed by hand")


def test_access_ends_with_no_commit_and_is_warned_about_before(served: tuple[Controller, str], repo: Path) -> None:
    controller, _ = served
    give_expiring_access(repo / "desired-state")
    head = commit(repo, "bob administers until the 1st; carol is a contractor")
    with structlog.testing.capture_logs() as logs, frozen(BEFORE):
        assert controller.reconcile_once() == 0
    assert members("SageMakerAdministrator") == ["alice", "bob"]
    warnings = [e for e in logs if e["event"] == "access expires soon"]
    assert [(w["resource"], w["entry"], w["left"]) for w in warnings] == [
        ("Role/notebook-for-engineer-role", "attachment of policy notebook-logs", "1 d 12 h"),
        ("User/bob", "membership of Group/SageMakerAdministrator", "1 d 12 h"),
        ("User/carol", "User/carol", "1 d 12 h"),
    ]
    assert all(w["log_level"] == "warning" and w["seconds_left"] == 129600 for w in warnings)
    gauge = series(controller.metrics, "reconciler_access_expiry_seconds")
    entries = [
        ("attachment of policy notebook-logs", "Role/notebook-for-engineer-role"),
        ("membership of Group/SageMakerAdministrator", "User/bob"),
        ("User/carol", "User/carol"),
    ]
    assert gauge == {f'{{account="{ACCOUNT}",entry="{e}",resource="{r}"}}': 129600.0 for e, r in entries}

    # The day after, with no new commit: the access is gone, and so are the warnings.
    with frozen(AFTER):
        assert controller.reconcile_once() == 0
    assert git(repo, "rev-parse", "HEAD") == head
    assert members("SageMakerAdministrator") == ["alice"]
    assert members("SageMakerEngineer") == ["bob"]
    assert "carol" not in [u["UserName"] for u in boto3.client("iam").list_users()["Users"]]
    assert series(controller.metrics, "reconciler_access_expiry_seconds") == {}
    with frozen(AFTER):
        assert controller.reconcile_once() == 0  # in sync since
    assert series(controller.metrics, "reconciler_drift_resources")['{kind="Group"}'] == 0


def test_between_full_reads_access_still_ends_on_time(repo: Path, aws: AwsConfig, tmp_path: Path) -> None:
    """With --resync, an unchanged commit costs one call, but not past an end: that cycle reads in full."""
    config = ControllerConfig(
        source=str(repo), cache_dir=tmp_path / "cache", interval=3600, lease_ttl=5, lease_timeout=5, resync=3600
    )
    controller = Controller(config, aws, metrics=Metrics(interval=60), stop=threading.Event())
    give_expiring_access(repo / "desired-state")
    commit(repo, "bob administers until the 1st")
    with frozen("2026-11-20T00:00:00Z"):
        assert controller.reconcile_once() == 0  # the full read: a baseline
        assert controller.reconcile_once() == 0  # unchanged, between full reads
    cycles = controller.metrics.registry.get_sample_value
    assert cycles("reconciler_account_cycles_total", {"read": "none"}) == 1
    assert members("SageMakerAdministrator") == ["alice", "bob"]
    with frozen(AFTER):
        assert controller.reconcile_once() == 0
    assert members("SageMakerAdministrator") == ["alice"]
    assert cycles("reconciler_account_cycles_total", {"read": "full"}) == 2


def test_suspend_applies_nothing_and_says_why(served: tuple[Controller, str], repo: Path) -> None:
    controller, base = served
    assert controller.reconcile_once() == 0
    settings_with(repo, "  suspend: true\n")
    commit(repo, "suspend the controller")
    drift_by_hand()
    with structlog.testing.capture_logs() as logs:
        assert controller.reconcile_once() == 2  # changes present, held back
    assert attached("SageMakerEngineer") == ["AdministratorAccess", "use-notebook-for-engineer"]  # not even that
    assert description() == "changed by hand"
    held = [e for e in logs if e["event"] == "changes held back by the schedule"]
    assert held and held[0]["reason"] == "suspended by Settings.suspend: planning and reporting only"
    assert not [e for e in logs if e["event"] == "applying the plan"]
    assert series(controller.metrics, "reconciler_sync_paused") == {f'{{account="{ACCOUNT}",reason="suspend"}}': 1.0}
    assert http_get(f"{base}/readyz") == (
        200,
        "ready; changes held back: suspended by Settings.suspend: planning and reporting only\n",
    )
    assert value(controller.metrics, "reconciler_synced") == 0

    git(repo, "revert", "--no-edit", "HEAD")  # resume
    assert controller.reconcile_once() == 0
    assert attached("SageMakerEngineer") == ["use-notebook-for-engineer"]
    assert description() == DESCRIPTION
    assert series(controller.metrics, "reconciler_sync_paused") == {}
    assert http_get(f"{base}/readyz") == (200, "ready\n")


DENY_NIGHTS = "  syncWindows:\n    - kind: deny\n      schedule: '0 22 * * *'\n      duration: 10h\n"


def test_inside_a_deny_window_only_what_always_proceeds_is_applied(served: tuple[Controller, str], repo: Path) -> None:
    controller, base = served
    give_expiring_access(repo / "desired-state")
    settings_with(repo, DENY_NIGHTS)
    head = commit(repo, "no changes at night; expiring access")
    with frozen(BEFORE):  # 12:00 UTC: outside the deny window
        assert controller.reconcile_once() == 0
    assert members("SageMakerAdministrator") == ["alice", "bob"]
    drift_by_hand()
    (repo / "desired-state" / "users" / "dave.yaml").write_text(
        "apiVersion: reconciler/v1\nkind: User\nmetadata: {name: dave}\nspec: {groups: [SageMakerEngineer]}\n"
    )
    new = commit(repo, "dave joins")

    with structlog.testing.capture_logs() as logs, frozen(AFTER):  # midnight: inside the deny window
        assert controller.reconcile_once() == 2
    # What always proceeds: expired access removed, and drift that breaks an invariant reverted ...
    assert members("SageMakerAdministrator") == ["alice"]
    assert "carol" not in [u["UserName"] for u in boto3.client("iam").list_users()["Users"]]
    assert attached("SageMakerEngineer") == ["use-notebook-for-engineer"]
    # ... and nothing else: neither drift that breaks no invariant, nor the new commit.
    assert description() == "changed by hand"
    assert "dave" not in [u["UserName"] for u in boto3.client("iam").list_users()["Users"]]
    assert members("SageMakerEngineer") == ["bob"]  # carol left (expired); dave waits
    reasons = [e["reason"] for e in logs if e["event"] == "changes held back by the schedule"]
    assert reasons == [
        "inside deny window deny '0 22 * * *' for 10h (UTC) since 2026-12-01T22:00Z: applying only removals of "
        "expired access and reverts of drift that breaks an invariant"
    ]
    applied = [e for e in logs if e["event"] == "what always proceeds"]
    assert applied and sorted(applied[0]["resources"]) == [
        "Group/SageMakerAdministrator",
        "Group/SageMakerEngineer",
        "Role/notebook-for-engineer-role",
        "User/carol",
    ]
    assert series(controller.metrics, "reconciler_sync_paused") == {f'{{account="{ACCOUNT}",reason="window"}}': 1.0}
    code, body = http_get(f"{base}/readyz")
    assert code == 200 and body.startswith("ready; changes held back: inside deny window deny '0 22 * * *'")
    assert series(controller.metrics, "reconciler_commit_info") == {f'{{applied="{head}",head="{new}"}}': 1.0}

    with frozen("2026-12-02T08:00:00Z"):  # the window is over: everything else
        assert controller.reconcile_once() == 0
    assert description() == DESCRIPTION
    assert members("SageMakerEngineer") == ["bob", "dave"]
    assert series(controller.metrics, "reconciler_sync_paused") == {}
    assert series(controller.metrics, "reconciler_commit_info") == {f'{{applied="{new}",head="{new}"}}': 1.0}


ALLOW_OFFICE_HOURS = (
    "  syncWindows:\n    - kind: allow\n      schedule: '0 9 * * MON-FRI'\n      duration: 8h\n"
    "      timezone: Asia/Tokyo\n"
)


def test_an_allow_window_applies_inside_and_only_then(served: tuple[Controller, str], repo: Path) -> None:
    controller, _ = served
    settings_with(repo, ALLOW_OFFICE_HOURS)
    commit(repo, "apply during Tokyo office hours")
    with frozen("2026-12-07T01:00:00Z"):  # Monday 10:00 in Tokyo
        assert controller.reconcile_once() == 0
    drift_by_hand()
    with frozen("2026-12-05T01:00:00Z"):  # Saturday: outside the window, at the applied commit
        assert controller.reconcile_once() == 2
    assert description() == "changed by hand"
    assert attached("SageMakerEngineer") == ["use-notebook-for-engineer"]  # breaks an invariant: reverted anyway
    with frozen("2026-12-07T08:30:00Z"):  # Monday 17:30 in Tokyo: after the window
        assert controller.reconcile_once() == 2
    assert description() == "changed by hand"
    with frozen("2026-12-08T07:59:00Z"):  # Tuesday 16:59 in Tokyo
        assert controller.reconcile_once() == 0
    assert description() == DESCRIPTION
