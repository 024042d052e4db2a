"""The controller over a fleet: real git repositories, several emulated accounts reached through their spoke
roles, per-account leases, last applied commits and metrics, and shards that never overlap."""

from __future__ import annotations

import threading
from pathlib import Path

import boto3
import pytest
from fleetdir import ACCOUNTS, iam_in, role_names, small_fleet
from gitrepo import git

from reconciler.aws.clients import AwsConfig, ClientFactory
from reconciler.aws.lease import StateTable
from reconciler.controller.loop import Controller, ControllerConfig
from reconciler.controller.metrics import Metrics
from reconciler.manifests.fleet import shard_of

DEV, PROD = ACCOUNTS["dev"][0], ACCOUNTS["prod"][0]

PROD_ONLY_ADMIN = """apiVersion: reconciler/v1
kind: Policy
metadata:
  name: everything
  accounts: [prod]
spec:
  document:
    Version: "2012-10-17"
    Statement:
      - Effect: Allow
        Action: "*"
        Resource: "*"
"""


@pytest.fixture
def fleet_repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    small_fleet(root / "desired-state")
    git(root, "init", "--quiet", "--initial-branch", "main")
    git(root, "add", "-A")
    git(root, "commit", "--quiet", "-m", "a fleet of two accounts")
    return root


def controller(
    repo: Path, aws: AwsConfig, tmp_path: Path, metrics: Metrics | None = None, **config: object
) -> Controller:
    cfg = ControllerConfig(source=str(repo), cache_dir=tmp_path / "cache", lease_ttl=5, lease_timeout=2, **config)  # type: ignore[arg-type]
    return Controller(cfg, aws, metrics=metrics, stop=threading.Event())


def applied(aws: AwsConfig, account_id: str) -> str | None:
    """The last commit applied to ``account_id``, from the state table in the hub (the credentials' account)."""
    return StateTable(ClientFactory(aws, read_only=True), account_id=account_id).last_applied()


def sample(metrics: Metrics, name: str, **labels: str) -> float | None:
    return metrics.registry.get_sample_value(name, labels)


def head(repo: Path) -> str:
    return git(repo, "rev-parse", "HEAD").strip()


def test_a_fleet_is_reconciled_account_by_account(fleet_repo: Path, aws: AwsConfig, tmp_path: Path) -> None:
    metrics = Metrics()
    c = controller(fleet_repo, aws, tmp_path, metrics=metrics)
    assert c.reconcile_once() == 0
    assert role_names(DEV) == role_names(PROD) == ["analyst-ml"]
    sha = head(fleet_repo)
    # each account's last applied commit, in the hub's table, keyed by the account id
    assert applied(aws, DEV) == applied(aws, PROD) == sha
    assert applied(aws, "123456789012") is None
    for name in ("dev", "prod"):
        assert sample(metrics, "reconciler_account_synced", account=name) == 1
        assert sample(metrics, "reconciler_account_head_status", account=name, status="valid") == 1
        assert sample(metrics, "reconciler_account_changes_total", account=name, action="create", status="done") == 2
    assert sample(metrics, "reconciler_shard_accounts") == 2
    assert metrics.ready

    # drift by hand in one account is reverted there, and counted for it
    client = iam_in(DEV)
    client.detach_role_policy(  # type: ignore[attr-defined]
        RoleName="analyst-ml", PolicyArn=f"arn:aws:iam::{DEV}:policy/read-results"
    )
    assert c.reconcile_once() == 0
    attached = client.list_attached_role_policies(RoleName="analyst-ml")["AttachedPolicies"]  # type: ignore[attr-defined]
    assert [p["PolicyName"] for p in attached] == ["read-results"]
    assert sample(metrics, "reconciler_account_changes_total", account="dev", action="repair", status="done") == 1
    assert sample(metrics, "reconciler_account_changes_total", account="prod", action="repair", status="done") is None


def test_a_commit_refused_in_one_account_is_applied_in_the_others(
    fleet_repo: Path, aws: AwsConfig, tmp_path: Path
) -> None:
    metrics = Metrics()
    c = controller(fleet_repo, aws, tmp_path, metrics=metrics)
    assert c.reconcile_once() == 0
    first = head(fleet_repo)
    state = fleet_repo / "desired-state"
    (state / "prod-admin.yaml").write_text(PROD_ONLY_ADMIN, encoding="utf-8")
    text = (
        (state / "iam.yaml").read_text(encoding="utf-8").replace("s3:GetObject", 's3:GetObject", "s3:GetObjectTagging')
    )
    (state / "iam.yaml").write_text(text, encoding="utf-8")
    git(fleet_repo, "add", "-A")
    git(fleet_repo, "commit", "--quiet", "-m", "prod gets everything (refused); both get tagging")
    second = head(fleet_repo)

    assert c.reconcile_once() == 3  # the worst: prod is refused by the invariants
    assert applied(aws, DEV) == second
    assert applied(aws, PROD) == first  # prod stays at the commit it had
    assert sample(metrics, "reconciler_account_head_status", account="dev", status="valid") == 1
    assert sample(metrics, "reconciler_account_head_status", account="prod", status="refused") == 1
    assert sample(metrics, "reconciler_head_status", status="refused") == 1  # the process: the worst
    ready, reason = metrics.readiness()
    assert not ready and "account prod:" in reason

    def actions(account_id: str) -> list[str]:
        version = iam_in(account_id).get_policy_version(  # type: ignore[attr-defined]
            PolicyArn=f"arn:aws:iam::{account_id}:policy/read-results",
            VersionId=iam_in(account_id).get_policy(  # type: ignore[attr-defined]
                PolicyArn=f"arn:aws:iam::{account_id}:policy/read-results"
            )["Policy"]["DefaultVersionId"],
        )
        statement = version["PolicyVersion"]["Document"]["Statement"][0]
        return sorted([statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"])

    assert actions(DEV) == ["s3:GetObject", "s3:GetObjectTagging"]
    assert actions(PROD) == ["s3:GetObject"]

    # prod keeps healing from its last applied commit while its head is refused
    client = iam_in(PROD)
    client.detach_role_policy(  # type: ignore[attr-defined]
        RoleName="analyst-ml", PolicyArn=f"arn:aws:iam::{PROD}:policy/read-results"
    )
    assert c.reconcile_once() == 3
    attached = client.list_attached_role_policies(RoleName="analyst-ml")["AttachedPolicies"]  # type: ignore[attr-defined]
    assert [p["PolicyName"] for p in attached] == ["read-results"]


def test_an_invalid_head_keeps_every_account_healing(fleet_repo: Path, aws: AwsConfig, tmp_path: Path) -> None:
    c = controller(fleet_repo, aws, tmp_path)
    assert c.reconcile_once() == 0
    (fleet_repo / "desired-state" / "broken.yaml").write_text("kind: Rol\n", encoding="utf-8")
    git(fleet_repo, "add", "-A")
    git(fleet_repo, "commit", "--quiet", "-m", "broken")
    for account_id in (DEV, PROD):
        iam_in(account_id).detach_role_policy(  # type: ignore[attr-defined]
            RoleName="analyst-ml", PolicyArn=f"arn:aws:iam::{account_id}:policy/read-results"
        )
    # a new process (nothing known in memory): the accounts come from the last commit that loads
    fresh = controller(fleet_repo, aws, tmp_path)
    assert fresh.reconcile_once() == 1
    for account_id in (DEV, PROD):
        attached = iam_in(account_id).list_attached_role_policies(RoleName="analyst-ml")  # type: ignore[attr-defined]
        assert [p["PolicyName"] for p in attached["AttachedPolicies"]] == ["read-results"]


def test_shards_reconcile_disjoint_accounts_that_cover_the_fleet(aws: AwsConfig, tmp_path: Path) -> None:
    accounts = {f"a{i}": (f"{i + 1:012d}", {"env": "x"}, None) for i in range(6)}
    repo = tmp_path / "repo"
    small_fleet(repo / "desired-state", accounts)
    git(repo, "init", "--quiet", "--initial-branch", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "--quiet", "-m", "six accounts")
    sha = head(repo)
    owners: dict[str, list[int]] = {}
    for index in range(3):
        metrics = Metrics()
        c = controller(repo, aws, tmp_path / f"shard{index}", metrics=metrics, shard_index=index, shard_count=3)
        assert c.reconcile_once() == 0
        for name, (account_id, _, _) in accounts.items():
            if sample(metrics, "reconciler_account_synced", account=name) == 1:
                owners.setdefault(name, []).append(index)
                assert shard_of(account_id, 3) == index
    assert owners == {name: [shard_of(a[0], 3)] for name, a in accounts.items()}  # each by exactly one shard
    for account_id, *_ in accounts.values():
        assert applied(aws, account_id) == sha
        assert role_names(account_id) == ["analyst-none"]  # ${account.vars.team}: "none" here


def test_an_account_whose_role_cannot_be_used_fails_alone(fleet_repo: Path, aws: AwsConfig, tmp_path: Path) -> None:
    state = fleet_repo / "desired-state" / "accounts.yaml"
    state.write_text(
        state.read_text(encoding="utf-8").replace(
            f"arn:aws:iam::{PROD}:role/reconciler-spoke-read", "arn:aws:iam::999999999999:role/elsewhere"
        ),
        encoding="utf-8",
    )
    git(fleet_repo, "commit", "--quiet", "-am", "prod's read role is in another account")
    metrics = Metrics()
    c = controller(fleet_repo, aws, tmp_path, metrics=metrics)
    assert c.reconcile_once() == 1
    assert role_names(DEV) == ["analyst-ml"]
    assert role_names(PROD) == []
    assert sample(metrics, "reconciler_account_failures_total", account="prod", reason="AccountMismatchError") == 1
    assert sample(metrics, "reconciler_account_synced", account="dev") == 1
    assert boto3.client("sts").get_caller_identity()["Account"] == "123456789012"
