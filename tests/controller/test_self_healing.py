"""Self-healing never stops: whatever is wrong with the head commit (invalid, refused, a rewind), the controller
keeps the account at the last commit it applied, every cycle, and says what is wrong with the head: in its
logs, its metrics and /readyz. Real git repositories, the embedded AWS, real HTTP for the health server."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
import structlog
from example_edits import remove_users
from gitrepo import git, http_get

from reconciler.aws.clients import AwsConfig
from reconciler.controller.httpserver import HealthServer
from reconciler.controller.loop import Controller, ControllerConfig
from reconciler.controller.metrics import Metrics
from reconciler.controller.webhook import WebhookConfig
from reconciler.logs import configure_logging

REPO = Path(__file__).resolve().parents[2]
ADMIN = "arn:aws:iam::aws:policy/AdministratorAccess"


@pytest.fixture
def served(repo: Path, aws: AwsConfig, tmp_path: Path) -> Iterator[tuple[Controller, str]]:
    metrics = Metrics(interval=60)
    wake = threading.Event()
    server = HealthServer(metrics, 0, host="127.0.0.1", webhook=WebhookConfig(b"s3cret"), trigger=wake.set).start()
    controller = Controller(
        ControllerConfig(source=str(repo), cache_dir=tmp_path / "cache", interval=3600, lease_ttl=5, lease_timeout=5),
        aws,
        metrics=metrics,
        stop=threading.Event(),
        wake=wake,
    )
    try:
        yield controller, f"http://127.0.0.1:{server.port}"
    finally:
        controller.stop.set()
        server.stop()


def metric(base: str, line_start: str) -> float:
    text = http_get(f"{base}/metrics")[1]
    (line,) = [ln for ln in text.splitlines() if ln.startswith(line_start + " ")]
    return float(line.rsplit(" ", 1)[1])


def drift_by_hand() -> None:
    iam = boto3.client("iam")
    iam.attach_group_policy(GroupName="SageMakerEngineer", PolicyArn=ADMIN)
    iam.create_user(UserName="mallory")
    iam.add_user_to_group(GroupName="SageMakerAdministrator", UserName="mallory")


def assert_healed() -> None:
    iam = boto3.client("iam")
    attached = iam.list_attached_group_policies(GroupName="SageMakerEngineer")["AttachedPolicies"]
    assert [p["PolicyName"] for p in attached] == ["use-notebook-for-engineer"]
    members = [u["UserName"] for u in iam.get_group(GroupName="SageMakerAdministrator")["Users"]]
    assert members == ["alice"]


def break_head(repo: Path, how: str) -> None:
    if how == "invalid":
        (repo / "desired-state" / "broken.yaml").write_text("kind: Role\nmetadata: {name: x\n")
    else:  # refused by the invariants: AdministratorAccess for the engineers
        groups = repo / "desired-state" / "groups" / "groups.yaml"
        groups.write_text(
            groups.read_text().replace(
                "    - use-notebook-for-engineer\n", f"    - use-notebook-for-engineer\n    - {ADMIN}\n"
            )
        )
    git(repo, "add", "-A")
    git(repo, "commit", "--quiet", "-m", f"a {how} commit")


@pytest.mark.parametrize(("how", "status", "exit_status"), [("invalid", "invalid", 1), ("refused", "refused", 3)])
def test_drift_is_repaired_every_cycle_while_the_head_cannot_be_applied(
    served: tuple[Controller, str], repo: Path, how: str, status: str, exit_status: int
) -> None:
    controller, base = served
    assert controller.reconcile_once() == 0
    good = git(repo, "rev-parse", "HEAD")
    assert http_get(f"{base}/readyz") == (200, "ready\n")
    assert metric(base, "reconciler_synced") == 1

    break_head(repo, how)
    bad = git(repo, "rev-parse", "HEAD")
    for cycle in range(2):  # every cycle, not once
        if cycle == 0:
            drift_by_hand()  # both groups drift
        else:
            boto3.client("iam").attach_group_policy(GroupName="SageMakerEngineer", PolicyArn=ADMIN)
        assert controller.reconcile_once() == exit_status
        assert_healed()
        # the drift gauge is this cycle's plan, never a stale one
        assert metric(base, 'reconciler_drift_resources{kind="Group"}') == (2 if cycle == 0 else 1)
        code, body = http_get(f"{base}/readyz")
        assert code == 503 and body.startswith(f"not ready: head commit {bad[:12]} is {status}"), body
        assert metric(base, f'reconciler_head_status{{status="{status}"}}') == 1
        assert metric(base, 'reconciler_head_status{status="valid"}') == 0
        assert metric(base, "reconciler_synced") == 0
        assert f'reconciler_commit_info{{applied="{good}",head="{bad}"}} 1.0' in http_get(f"{base}/metrics")[1]
    assert metric(base, 'reconciler_drift_repaired_total{kind="Group"}') >= 2

    # A commit that fixes the head: valid, applied, synced, ready.
    git(repo, "revert", "--no-edit", "HEAD")
    fixed = git(repo, "rev-parse", "HEAD")
    assert controller.reconcile_once() == 0
    assert http_get(f"{base}/readyz") == (200, "ready\n")
    assert metric(base, 'reconciler_drift_resources{kind="Group"}') == 0
    assert metric(base, 'reconciler_head_status{status="valid"}') == 1
    assert metric(base, "reconciler_synced") == 1
    assert f'reconciler_commit_info{{applied="{fixed}",head="{fixed}"}} 1.0' in http_get(f"{base}/metrics")[1]


def test_a_refused_rewind_keeps_the_account_at_the_last_applied_commit(
    served: tuple[Controller, str], repo: Path, aws: AwsConfig, tmp_path: Path
) -> None:
    controller, base = served
    first = git(repo, "rev-parse", "HEAD")
    remove_users(repo / "desired-state", "carol")
    git(repo, "commit", "--quiet", "-am", "revoke carol")
    assert controller.reconcile_once() == 0
    git(repo, "reset", "--quiet", "--hard", first)  # a force push back: would grant carol again
    drift_by_hand()
    assert controller.reconcile_once() == 1
    assert_healed()
    assert "carol" not in [u["UserName"] for u in boto3.client("iam").list_users()["Users"]]
    code, body = http_get(f"{base}/readyz")
    assert code == 503 and "is a refused rewind: it is not a descendant of the last applied commit" in body
    # --mode plan makes the same check, and says so.
    planner = Controller(
        ControllerConfig(source=str(repo), cache_dir=tmp_path / "plan-cache", mode="plan"), aws, stop=threading.Event()
    )
    assert planner.reconcile_once() == 1
    assert planner.metrics.readiness()[1].startswith(f"not ready: head commit {first[:12]} is a refused rewind")


def test_the_plan_the_controller_logs_is_the_plan_it_executes_and_findings_are_logged_once_at_their_level(
    repo: Path, aws: AwsConfig, tmp_path: Path
) -> None:
    controller = Controller(
        ControllerConfig(source=str(repo), cache_dir=tmp_path / "cache", lease_ttl=5), aws, stop=threading.Event()
    )
    assert controller.reconcile_once() == 0
    boto3.client("iam").create_access_key(UserName="bob")  # a KEY001 warning from now on
    boto3.client("iam").attach_group_policy(GroupName="SageMakerEngineer", PolicyArn=ADMIN)
    saved = structlog.get_config()
    configure_logging(fmt="json", level="info")  # as `reconciler run` does (an earlier test may have set "error")
    try:
        with structlog.testing.capture_logs() as logs:
            assert controller.reconcile_once() == 0
    finally:
        structlog.configure(**saved)
    found = [e for e in logs if e["event"] == "drift or changes found"]
    applying = [e for e in logs if e["event"] == "applying the plan"]
    assert len(found) == len(applying) == 1 and found[0]["digest"] == applying[0]["digest"]
    keys = [e for e in logs if e["event"] == "invariant finding" and e["rule"] == "KEY001"]
    assert len(keys) == 1 and keys[0]["log_level"] == "warning"
    events = [e["event"] for e in logs]
    assert events.index("drift or changes found") < events.index("applying the plan") < events.index("reconciled")


def test_a_signed_push_webhook_converges_within_seconds_and_a_bad_signature_does_nothing(
    served: tuple[Controller, str], repo: Path
) -> None:
    controller, base = served
    loop = threading.Thread(target=controller.run_forever, daemon=True)
    loop.start()
    deadline = time.monotonic() + 60
    while http_get(f"{base}/readyz")[0] != 200 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert http_get(f"{base}/readyz")[0] == 200
    remove_users(repo / "desired-state", "carol")
    git(repo, "commit", "--quiet", "-am", "revoke carol")
    body = json.dumps({"ref": "refs/heads/main"}).encode()

    def post(signature: str | None) -> int:
        headers = {"Content-Type": "application/json", "X-GitHub-Event": "push"}
        if signature is not None:
            headers["X-Hub-Signature-256"] = signature
        request = urllib.request.Request(f"{base}/hooks/git", data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=5) as answer:
                return int(answer.status)
        except urllib.error.HTTPError as exc:
            return exc.code

    assert post("sha256=" + "0" * 64) == 401
    assert post(None) == 401
    time.sleep(1.5)
    assert "carol" in [u["UserName"] for u in boto3.client("iam").list_users()["Users"]]  # nothing triggered
    pushed = time.monotonic()
    assert post("sha256=" + hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()) == 202
    while "carol" in [u["UserName"] for u in boto3.client("iam").list_users()["Users"]]:
        assert time.monotonic() - pushed < 5, "not converged 5 s after the webhook"
        time.sleep(0.1)
    controller.stop.set()
    loop.join(timeout=30)
