"""The controller and ``management: observe``: drift of an observed resource is reported, never reverted."""

from __future__ import annotations

import threading
from pathlib import Path

import boto3
from gitrepo import git

from reconciler.aws.clients import AwsConfig
from reconciler.controller.loop import Controller, ControllerConfig

ACCOUNT = "123456789012"
ADMIN = "arn:aws:iam::aws:policy/AdministratorAccess"
GROUP = "SageMakerEngineer"


def controller(repo: Path, aws: AwsConfig, tmp_path: Path) -> Controller:
    cfg = ControllerConfig(source=str(repo), cache_dir=tmp_path / "cache", lease_ttl=5, lease_timeout=2)
    return Controller(cfg, aws, stop=threading.Event())


def set_management(repo: Path, mode: str | None) -> None:
    path = repo / "desired-state" / "groups" / "groups.yaml"
    text = path.read_text()
    text = text.replace(f"  name: {GROUP}\n  management: observe\n", f"  name: {GROUP}\n")
    if mode is not None:
        text = text.replace(f"  name: {GROUP}\n", f"  name: {GROUP}\n  management: {mode}\n")
    path.write_text(text)
    git(repo, "commit", "--quiet", "-am", f"{GROUP}: {mode or 'enforce'}")


def attached() -> list[str]:
    policies = boto3.client("iam").list_attached_group_policies(GroupName=GROUP)["AttachedPolicies"]
    return sorted(p["PolicyArn"].rsplit("/", 1)[-1] for p in policies)


def test_drift_of_an_observed_group_is_reported_not_reverted_until_it_is_enforced_again(
    repo: Path, aws: AwsConfig, tmp_path: Path
) -> None:
    c = controller(repo, aws, tmp_path)
    assert c.reconcile_once() == 0
    set_management(repo, "observe")
    assert c.reconcile_once() == 0
    boto3.client("iam").attach_group_policy(GroupName=GROUP, PolicyArn=ADMIN)

    assert c.reconcile_once() == 0
    assert "AdministratorAccess" in attached()  # reported, not written
    sample = c.metrics.registry.get_sample_value
    assert sample("reconciler_account_observed_resources", {"account": ACCOUNT, "state": "drifted"}) == 1
    assert sample("reconciler_account_drift_resources", {"account": ACCOUNT}) == 0

    set_management(repo, None)  # enforced again: the next cycle reverts the drift
    assert c.reconcile_once() == 0
    assert attached() == ["use-notebook-for-engineer"]
    assert sample("reconciler_account_observed_resources", {"account": ACCOUNT, "state": "drifted"}) == 0
