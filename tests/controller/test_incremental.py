"""The controller between full reads (``--resync``): an unchanged commit reads one item of the state table, a new
one converges only what it changed, and the full read (all drift) comes back every resync interval and on start.
Real git repositories and the embedded AWS; no sleeping (the next full read is made due by hand)."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import boto3
import pytest
from example_edits import remove_users
from gitrepo import git

from reconciler import cli
from reconciler.aws.clients import AwsConfig, CallRecorder, ClientFactory
from reconciler.aws.lease import Lease, StateTable
from reconciler.controller.incremental import Incremental
from reconciler.controller.loop import Controller, ControllerConfig

ACCOUNT = "123456789012"
GAAD = ("iam", "GetAccountAuthorizationDetails")


class Run:
    def __init__(self, repo: Path, aws: AwsConfig, tmp_path: Path, **config: object) -> None:
        self.recorder = CallRecorder()
        config.setdefault("resync", 3600.0)
        cfg = ControllerConfig(source=str(repo), cache_dir=tmp_path / "cache", lease_ttl=5, lease_timeout=2, **config)  # type: ignore[arg-type]
        self.controller = Controller(cfg, aws, stop=threading.Event(), recorder=self.recorder)

    def cycle(self) -> tuple[int, dict[tuple[str, str], int]]:
        self.recorder.reset()
        status = self.controller.reconcile_once()
        return status, self.recorder.counts()

    def resync_due(self) -> None:
        assert self.controller.incremental is not None
        self.controller.incremental.next_full = time.monotonic() - 1

    def read(self, what: str) -> float | None:
        return self.controller.metrics.registry.get_sample_value("reconciler_account_cycles_total", {"read": what})


def commit(repo: Path, message: str) -> str:
    git(repo, "commit", "--quiet", "-am", message)
    return git(repo, "rev-parse", "HEAD")


def applied(aws: AwsConfig) -> str | None:
    return StateTable(ClientFactory(aws, read_only=True), account_id=ACCOUNT).last_applied()


def session_duration(role: str) -> int:
    return int(boto3.client("iam").get_role(RoleName=role)["Role"]["MaxSessionDuration"])


def test_between_full_reads_an_unchanged_commit_reads_one_item(repo: Path, aws: AwsConfig, tmp_path: Path) -> None:
    run = Run(repo, aws, tmp_path)
    status, calls = run.cycle()
    assert status == 0 and GAAD in calls  # on start: a full read
    boto3.client("iam").attach_group_policy(
        GroupName="SageMakerEngineer", PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess"
    )
    assert run.cycle() == (0, {("dynamodb", "GetItem"): 1})  # nothing read: the drift stays...
    assert run.read("none") == 1
    run.resync_due()
    status, calls = run.cycle()  # ... until the next full read
    assert status == 0 and GAAD in calls
    attached = boto3.client("iam").list_attached_group_policies(GroupName="SageMakerEngineer")["AttachedPolicies"]
    assert [p["PolicyName"] for p in attached] == ["use-notebook-for-engineer"]
    assert run.read("full") == 2


def test_a_commit_converges_only_what_it_changed(repo: Path, aws: AwsConfig, tmp_path: Path) -> None:
    run = Run(repo, aws, tmp_path)
    assert run.cycle()[0] == 0
    roles = repo / "desired-state" / "roles" / "notebook-roles.yaml"
    roles.write_text(roles.read_text().replace("maxSessionDuration: 3600", "maxSessionDuration: 7200", 1))
    head = commit(repo, "a longer session for the administrators' notebook")
    status, calls = run.cycle()
    assert status == 0
    assert session_duration("notebook-for-administrator-role") == 7200
    assert applied(aws) == head
    # the state table: its item, the lease, the record and the release in one transaction; the role, by name
    assert calls == {
        ("dynamodb", "GetItem"): 1,
        ("dynamodb", "PutItem"): 1,
        ("dynamodb", "TransactWriteItems"): 1,
        ("iam", "GetRole"): 1,
        ("iam", "ListAttachedRolePolicies"): 1,
        ("iam", "ListRolePolicies"): 1,
        ("iam", "UpdateRole"): 1,
    }
    assert run.read("targeted") == 1
    # what depends on a change is converged with it: carol's manifest goes, and her group loses her
    remove_users(repo / "desired-state", "carol")
    commit(repo, "revoke carol")
    status, calls = run.cycle()
    assert status == 0 and GAAD not in calls
    users = sorted(u["UserName"] for u in boto3.client("iam").list_users()["Users"])
    assert users == ["alice", "bob"]
    members = boto3.client("iam").get_group(GroupName="SageMakerEngineer")["Users"]
    assert [m["UserName"] for m in members] == ["bob"]


def test_a_commit_that_changes_no_manifest_is_recorded_without_reading(
    repo: Path, aws: AwsConfig, tmp_path: Path
) -> None:
    run = Run(repo, aws, tmp_path)
    assert run.cycle()[0] == 0
    (repo / "README.md").write_text("docs\n")
    git(repo, "add", "-A")
    head = commit(repo, "docs")
    assert run.cycle() == (0, {("dynamodb", "GetItem"): 1, ("dynamodb", "PutItem"): 1})
    assert applied(aws) == head


def test_a_settings_change_is_a_full_read(repo: Path, aws: AwsConfig, tmp_path: Path) -> None:
    run = Run(repo, aws, tmp_path)
    assert run.cycle()[0] == 0
    settings = repo / "desired-state" / "settings.yaml"
    settings.write_text(settings.read_text().replace("maxDeletes: 10", "maxDeletes: 5"))
    commit(repo, "fewer deletions")
    status, calls = run.cycle()
    assert status == 0 and GAAD in calls


def test_a_refused_commit_is_reported_and_the_next_one_converges_from_the_last_applied(
    repo: Path, aws: AwsConfig, tmp_path: Path
) -> None:
    run = Run(repo, aws, tmp_path)
    assert run.cycle()[0] == 0
    good = applied(aws)
    users = repo / "desired-state" / "users" / "users.yaml"
    before = users.read_text()
    users.write_text(before.replace("groups: [SageMakerAdministrator]", "groups: []"))  # alice without MFA
    commit(repo, "alice leaves her group")
    status, calls = run.cycle()
    assert status == 3 and GAAD not in calls  # refused by the invariants (MFA001), judged on the targeted plan
    assert applied(aws) == good
    assert [g["GroupName"] for g in boto3.client("iam").list_groups_for_user(UserName="alice")["Groups"]] == [
        "SageMakerAdministrator"
    ]
    assert run.cycle() == (3, {("dynamodb", "GetItem"): 1})  # reported again, nothing read
    users.write_text(before.replace("team: ml-platform", "team: platform"))
    head = commit(repo, "fixed, and alice's team")
    status, calls = run.cycle()
    assert status == 0 and GAAD not in calls
    assert applied(aws) == head
    tags = boto3.client("iam").list_user_tags(UserName="alice")["Tags"]
    assert {"Key": "team", "Value": "platform"} in tags


def test_plan_mode_reads_the_whole_account_for_a_new_commit(repo: Path, aws: AwsConfig, tmp_path: Path) -> None:
    assert Run(repo, aws, tmp_path).cycle()[0] == 0
    run = Run(repo, aws, tmp_path, mode="plan")
    assert run.cycle()[0] == 0
    assert run.cycle() == (0, {("dynamodb", "GetItem"): 1})
    remove_users(repo / "desired-state", "carol")
    commit(repo, "revoke carol")
    status, calls = run.cycle()
    assert status == 2 and GAAD in calls  # the account is not converged to any commit: a full read


def test_every_cycle_reads_everything_without_a_resync_interval(repo: Path, aws: AwsConfig, tmp_path: Path) -> None:
    run = Run(repo, aws, tmp_path, resync=None)
    assert run.cycle()[0] == 0
    status, calls = run.cycle()
    assert status == 0 and GAAD in calls


def test_the_full_reads_come_back_every_resync_interval_with_jitter() -> None:
    incremental = Incremental(resync=3600.0, jitter=0.1)
    assert incremental.full_due()  # on start
    for _ in range(20):
        incremental.full_done()
        assert incremental.next_full is not None
        assert 3240 - 1 <= incremental.next_full - time.monotonic() <= 3960
        assert not incremental.full_due()
    assert Incremental(resync=None).full_due()


@pytest.mark.parametrize(("given", "resync"), [(["--resync", "30m"], 1800.0), (["--resync", "0"], None), ([], 3600.0)])
def test_run_takes_the_resync_interval(
    given: list[str], resync: float | None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from reconciler.commands import run as run_command

    seen: list[ControllerConfig] = []

    class Recording(Controller):
        def __init__(self, config: ControllerConfig, *args: object, **kwargs: object) -> None:
            seen.append(config)
            raise SystemExit(0)

    monkeypatch.setattr(run_command, "Controller", Recording)
    monkeypatch.delenv("RECONCILER_RESYNC", raising=False)
    with pytest.raises(SystemExit):
        cli.run(["run", "--source", str(tmp_path), "--once", *given])
    assert seen[0].resync == resync


def test_the_lease_records_the_applied_commit_as_it_is_released(aws: AwsConfig) -> None:
    table = StateTable(ClientFactory(aws, read_only=False), account_id=ACCOUNT)
    recorder = CallRecorder()
    recorded = StateTable(ClientFactory(aws, read_only=False, recorder=recorder), account_id=ACCOUNT)
    lease = Lease(recorded, owner="me", ttl=30)
    with lease.held(timeout=5):
        lease.record_on_release("a" * 40, owner="me")
    assert table.last_applied() == "a" * 40
    someone = Lease(table, owner="someone")
    assert someone.try_acquire()  # released
    someone.release()
    assert recorder.counts()[("dynamodb", "TransactWriteItems")] == 1 and ("dynamodb", "DeleteItem") not in (
        recorder.counts()
    )
    # a lease lost meanwhile: the record is written all the same (the changes were made), the lease left alone
    mine = Lease(table, owner="me", ttl=30)
    with mine.held(timeout=5):
        table.db.put_item(
            TableName=table.name,
            Item={**table.key("lease"), "owner": {"S": "thief"}, "expires_at": {"N": "9999999999"}},
        )
        mine.record_on_release("b" * 40, owner="me")
    assert table.last_applied() == "b" * 40
    holder = Lease(table, owner="x").holder()
    assert holder is not None and holder.owner == "thief"
    table.db.delete_item(TableName=table.name, Key=table.key("lease"))
    # a block that fails records nothing
    with pytest.raises(RuntimeError), Lease(table, owner="other", ttl=30).held(timeout=5) as held:
        held.record_on_release("c" * 40, owner="other")
        raise RuntimeError("boom")
    assert table.last_applied() == "b" * 40


def test_each_account_of_a_fleet_is_targeted_on_its_own(aws: AwsConfig, tmp_path: Path) -> None:
    from fleetdir import ACCOUNTS, iam_in, small_fleet

    repo = tmp_path / "fleet"
    small_fleet(repo / "desired-state")
    git(repo, "init", "--quiet", "--initial-branch", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "--quiet", "-m", "a fleet of two accounts")
    run = Run(repo, aws, tmp_path)
    assert run.cycle()[0] == 0
    assert run.cycle() == (0, {("dynamodb", "GetItem"): 2})  # one item per account
    iam = repo / "desired-state" / "iam.yaml"
    iam.write_text(
        iam.read_text().replace('Action: ["s3:GetObject"]', 'Action: ["s3:GetObject", "s3:GetObjectTagging"]')
    )
    commit(repo, "read the results' tags too")
    status, calls = run.cycle()
    assert status == 0 and GAAD not in calls
    assert calls[("dynamodb", "TransactWriteItems")] == 2 and calls[("iam", "CreatePolicyVersion")] == 2
    for account_id, *_ in ACCOUNTS.values():
        client = iam_in(account_id)
        arn = f"arn:aws:iam::{account_id}:policy/read-results"
        version = client.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"]  # type: ignore[attr-defined]
        document = client.get_policy_version(PolicyArn=arn, VersionId=version)["PolicyVersion"]["Document"]  # type: ignore[attr-defined]
        assert "s3:GetObjectTagging" in document["Statement"][0]["Action"]
