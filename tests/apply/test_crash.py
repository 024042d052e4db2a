"""Crash safety: an apply killed at any point is followed by an apply that converges.

The issue: "an apply killed with SIGKILL at several different points is followed by an apply that
converges, with no duplicated resources and nothing orphaned".

Two ways of killing:

* The real CLI in a subprocess (``python -m reconciler --log-format json apply ...``), against the
  emulator of this test process over HTTP, sent SIGKILL right after its k-th ``change`` line on stderr
  (other changes are then in flight), or after a seeded random delay counted from its
  ``lease acquired`` line (so that the kill lands inside the write phase, wherever that is). Then the
  lease a killed apply leaves behind, and the real CLI as the next apply.
* In-process, precisely "between two requests": a ``before-send`` hook on the executor's clients that,
  at the first request of a chosen operation, lets no request of that apply reach the emulator any more
  (exactly what SIGKILL does to a process: what was sent stays done, nothing after is sent). This finds
  the windows a subprocess kill can only hit by luck.

After the kill, apply runs again (at most 3 times) until it reports ok; then the account must hold
exactly the manifests' resources, each once, all carrying their ownership mark, and plan nothing.

The exhaustive sweep (every kill point of both scenarios, RECONCILER_CRASH_SWEEP=1) found that a
group's ownership mark, its guard inline policy, is not atomic with CreateGroup/DeleteGroup: a kill
between them left an unowned group that no later plan deleted. Groups now sit at the reserved
pending path from CreateGroup until their guard is on, and again from before the guard goes until
DeleteGroup; the tests below kill inside both windows.
"""

from __future__ import annotations

import json
import os
import queue
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest
from applyenv import REGION, REPO, Env
from slowwrites import SlowWrites

from reconciler.aws.clients import ClientFactory
from reconciler.aws.operations import is_read_only_operation
from reconciler.engine.differ import context
from reconciler.engine.executor import ApplyOptions, ApplyResult, Executor, Status
from reconciler.engine.preview import preview
from reconciler.kinds import load_directory

OWNER = {"Key": "managed-by", "Value": "reconciler"}
GUARD = "reconciler-group-guard"
ACCOUNT = "123456789012"
RERUNS = 3
CHILD_TIMEOUT = 120.0  # seconds; a CLI run of the example takes a few

# --------------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def notebooks_deleted_when_removed(env: Env) -> None:
    """Notebooks are released when their manifest goes, unless their deletionPolicy says Delete: here it
    does, so that the prune scenarios crash-test the deletion of every kind."""
    env.edit(
        "notebooks/notebooks.yaml",
        lambda t: t.replace("  volumeSizeInGB: 20\n", "  volumeSizeInGB: 20\n  deletionPolicy: Delete\n"),
    )
    assert (env.root / "notebooks/notebooks.yaml").read_text().count("deletionPolicy: Delete") == 2


def prune_edit(env: Env) -> None:
    """Remove a user (alice), her group, the policy only that group used, and both notebooks.

    References stay valid: nobody else is in SageMakerAdministrator, nothing else attaches
    use-notebook-for-administrator, and the roles the notebooks ran as stay (the buckets grant them).
    The plan then deletes 5 resources, within Settings.maxDeletes and the broken-checkout rail.
    """
    env.edit("users/users.yaml", lambda t: "---".join(t.split("---")[1:]).lstrip("\n"))
    env.edit("groups/groups.yaml", lambda t: t[t.index("---") + 3 :])
    env.edit("policies/notebook-users.yaml", lambda t: t[t.index("---") + 3 :])
    (env.root / "notebooks/notebooks.yaml").unlink()


def account_inventory() -> dict[str, list[str]]:
    """Every user, group, role, customer managed policy, bucket and notebook in the account."""
    iam, s3, sm = boto3.client("iam"), boto3.client("s3"), boto3.client("sagemaker")

    def pages(client: Any, op: str, key: str, name: str, **kwargs: Any) -> list[str]:
        return [item[name] for page in client.get_paginator(op).paginate(**kwargs) for item in page[key]]

    return {
        "User": sorted(pages(iam, "list_users", "Users", "UserName")),
        "Group": sorted(pages(iam, "list_groups", "Groups", "GroupName")),
        "Role": sorted(pages(iam, "list_roles", "Roles", "RoleName")),
        "Policy": sorted(pages(iam, "list_policies", "Policies", "PolicyName", Scope="Local")),
        "Bucket": sorted(b["Name"] for b in s3.list_buckets()["Buckets"]),
        "NotebookInstance": sorted(pages(sm, "list_notebook_instances", "NotebookInstances", "NotebookInstanceName")),
    }


def assert_converged(env: Env) -> None:
    """Plan empty; the account holds exactly the manifests' resources, once each, all marked as owned."""
    changes = [(c.action.value, c.ref) for c in env.plan()]
    assert changes == [], f"the plan after recovery is not empty: {changes}"
    desired = load_directory(env.root)
    have = account_inventory()
    want = {kind: sorted(desired.of(kind)) for kind in have}
    extra = {k: sorted(set(have[k]) - set(want[k])) for k in have if set(have[k]) - set(want[k])}
    missing = {k: sorted(set(want[k]) - set(have[k])) for k in have if set(want[k]) - set(have[k])}
    assert have == want, f"the account differs from the manifests: orphaned {extra}, missing {missing}"
    iam, s3, sm = boto3.client("iam"), boto3.client("s3"), boto3.client("sagemaker")
    for group in have["Group"]:
        assert GUARD in iam.list_group_policies(GroupName=group)["PolicyNames"], f"group {group} lacks its guard"
    for user in have["User"]:
        assert OWNER in iam.list_user_tags(UserName=user)["Tags"], f"user {user} is not marked as owned"
    for role in have["Role"]:
        assert OWNER in iam.list_role_tags(RoleName=role)["Tags"], f"role {role} is not marked as owned"
    for policy in have["Policy"]:
        arn = f"arn:aws:iam::{ACCOUNT}:policy/{policy}"
        assert OWNER in iam.list_policy_tags(PolicyArn=arn)["Tags"], f"policy {policy} is not marked as owned"
    for bucket in have["Bucket"]:
        assert OWNER in s3.get_bucket_tagging(Bucket=bucket)["TagSet"], f"bucket {bucket} is not marked as owned"
    for notebook in have["NotebookInstance"]:
        arn = sm.describe_notebook_instance(NotebookInstanceName=notebook)["NotebookInstanceArn"]
        assert OWNER in sm.list_tags(ResourceArn=arn)["Tags"], f"notebook {notebook} is not marked as owned"


def recover(env: Env) -> list[ApplyResult]:
    """Apply until it reports ok, at most RERUNS times; the results of the runs made."""
    results: list[ApplyResult] = []
    for _ in range(RERUNS):
        results.append(env.apply())
        if results[-1].ok:
            return results
    pytest.fail(f"apply did not converge in {RERUNS} runs: {[r.summary() for r in results]}")


# --------------------------------------------------------------------------------------------------
# the CLI, killed
# --------------------------------------------------------------------------------------------------


@dataclass
class KilledRun:
    killed: bool
    returncode: int | None
    pid: int
    changes: list[dict[str, Any]] = field(default_factory=list)
    stderr: list[str] = field(default_factory=list)
    at: float | None = None  # seconds after the DELAY_ANCHOR line when the kill was sent

    def tail(self) -> str:
        head = f"exit {self.returncode}, {len(self.changes)} change line(s); stderr ends:\n"
        return head + "".join(self.stderr[-15:])


def cli_command(env: Env, url: str, *extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "reconciler",
        "--log-format",
        "json",
        "apply",
        "--auto-approve",
        str(env.root),
        "--endpoint-url",
        url,
        *extra,
    ]


def cli_env() -> dict[str, str]:
    return {
        **os.environ,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "ap-northeast-1",
        "NO_PROXY": "127.0.0.1",
    }


# The CLI logs "plan computed", takes the lease ("lease acquired"), re-reads what the plan touches ("plan
# verified"), then writes. A delayed kill is counted from "plan verified": the write phase starts then.
DELAY_ANCHOR = "plan verified: what it touches is as the plan saw it"


def run_cli_and_kill(env: Env, url: str, *, after_changes: int | None = None, delay: float | None = None) -> KilledRun:
    """Run ``reconciler apply`` and SIGKILL it after its ``after_changes``-th change line, or ``delay``
    seconds after its ``lease acquired`` line (whichever is given). Returns what it logged before."""
    assert (after_changes is None) != (delay is None)
    proc = subprocess.Popen(
        cli_command(env, url),
        cwd=REPO,
        env=cli_env(),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: queue.Queue[str | None] = queue.Queue()

    def pump() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            lines.put(line)
        lines.put(None)

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    run = KilledRun(killed=False, returncode=None, pid=proc.pid)
    deadline = time.monotonic() + CHILD_TIMEOUT
    planned_at: float | None = None
    kill_at: float | None = None
    try:
        while True:
            now = time.monotonic()
            if now > deadline:
                pytest.fail(f"the CLI ran for more than {CHILD_TIMEOUT}s")
            if kill_at is not None and now >= kill_at:
                proc.send_signal(signal.SIGKILL)
                run.killed, run.at = True, now - (planned_at or now)
                break
            wait = 1.0 if kill_at is None else max(0.0, kill_at - now)
            try:
                line = lines.get(timeout=wait)
            except queue.Empty:
                continue
            if line is None:  # the CLI ended by itself before the kill point
                break
            run.stderr.append(line)
            try:
                event = json.loads(line)
            except json.JSONDecodeError:
                continue
            if event.get("event") == DELAY_ANCHOR and delay is not None:
                planned_at = time.monotonic()
                kill_at = planned_at + delay
            elif event.get("event") == "change":
                run.changes.append(event)
                if after_changes is not None and len(run.changes) == after_changes:
                    proc.send_signal(signal.SIGKILL)
                    run.killed = True
                    break
    finally:
        if proc.poll() is None and not run.killed:
            proc.kill()
        run.returncode = proc.wait(timeout=30)
        reader.join(timeout=10)
    return run


CREATES = 16  # changes of the example on an empty account


@pytest.mark.parametrize("k", [1, 4, 9, 13])
def test_cli_killed_after_the_kth_change_of_the_first_apply_then_apply_converges(
    env: Env, emulator: Any, k: int
) -> None:
    run = run_cli_and_kill(env, emulator.url, after_changes=k)
    assert run.killed and run.returncode == -signal.SIGKILL, run.tail()
    assert [c["action"] for c in run.changes] == ["create"] * k
    recover(env)
    assert_converged(env)


@pytest.mark.parametrize("k", [1, 2])
def test_cli_killed_after_the_kth_deletion_of_a_prune_then_apply_converges(env: Env, emulator: Any, k: int) -> None:
    assert env.apply().ok
    prune_edit(env)
    run = run_cli_and_kill(env, emulator.url, after_changes=k)
    assert run.killed and run.returncode == -signal.SIGKILL, run.tail()
    assert [c["action"] for c in run.changes] == ["delete"] * k
    recover(env)
    assert_converged(env)


# A kill at a seeded random moment of the write phase (with every write taking 40 ms (``slow_writes``), at least
# 0.4 s from "plan verified" to the last change line, more under load): it lands while several changes
# are in flight, between any two requests, or inside one (a request the emulator still completes).
KILL_SEEDS = [11, 12, 15]


@pytest.mark.parametrize("seed", KILL_SEEDS)
def test_cli_killed_at_a_random_moment_of_the_first_apply_then_apply_converges(
    env: Env, slow_writes: SlowWrites, seed: int
) -> None:
    emulator = slow_writes.emulator
    delay = random.Random(seed).uniform(0.05, 0.3)
    run = run_cli_and_kill(env, emulator.url, delay=delay)
    assert run.killed and len(run.changes) < CREATES, f"no kill after {delay:.2f}s: {run.tail()}"
    recover(env)
    assert_converged(env)


@pytest.mark.parametrize("seed", [21])
def test_cli_killed_at_a_random_moment_of_a_prune_then_apply_converges(
    env: Env, slow_writes: SlowWrites, seed: int
) -> None:
    emulator = slow_writes.emulator
    assert env.apply().ok
    prune_edit(env)
    delay = random.Random(seed).uniform(0.05, 0.2)
    run = run_cli_and_kill(env, emulator.url, delay=delay)
    assert run.killed and len(run.changes) < 5, f"no kill after {delay:.2f}s: {run.tail()}"
    recover(env)
    assert_converged(env)


LEASE_TTL = 60.0  # reconciler.aws.lease.Lease's default


def test_a_killed_cli_leaves_its_lease_to_expire_and_the_next_cli_apply_converges(env: Env, emulator: Any) -> None:
    """The lease of a killed apply is never released: it blocks the next CLI apply until it expires (at most
    its TTL after the kill). Here the wait is skipped by moving the expiry into the past, as 60 s would."""
    run = run_cli_and_kill(env, emulator.url, after_changes=4)
    killed_at = time.time()
    assert run.killed, run.tail()
    db = boto3.client("dynamodb")
    key = {"pk": {"S": f"lease#{ACCOUNT}"}}
    item = db.get_item(TableName="reconciler-state", Key=key, ConsistentRead=True)["Item"]
    assert f":{run.pid}:" in item["owner"]["S"]  # still held by the dead process
    assert float(item["expires_at"]["N"]) <= killed_at + LEASE_TTL
    db.update_item(
        TableName="reconciler-state",
        Key=key,
        UpdateExpression="SET expires_at = :past",
        ExpressionAttributeValues={":past": {"N": f"{time.time() - 1:.3f}"}},
    )
    follow_up = subprocess.run(
        cli_command(env, emulator.url, "--lease-timeout", "30"),
        cwd=REPO,
        env=cli_env(),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=CHILD_TIMEOUT,
        check=False,
    )
    assert follow_up.returncode == 0, follow_up.stdout + follow_up.stderr[-2000:]
    assert_converged(env)
    assert "Item" not in db.get_item(TableName="reconciler-state", Key=key, ConsistentRead=True)  # released


# --------------------------------------------------------------------------------------------------
# in-process: killed exactly before a chosen request
# --------------------------------------------------------------------------------------------------


class Killed(Exception):
    """The simulated SIGKILL: raised by every request of the killed apply from the kill point on."""


def killing_factory(env: Env, dies_at: Callable[[str, int], bool]) -> tuple[ClientFactory, dict[str, Any]]:
    """Writable clients that "die" before the first request for which ``dies_at(operation, n)`` is true
    (``n``: how many write requests were sent before it): that request and every later one is never sent."""
    factory = ClientFactory(env.aws, read_only=False)
    state: dict[str, Any] = {"dead": False, "sent": []}
    lock = threading.Lock()

    def hook(event_name: str, **_: Any) -> None:
        service, op = event_name.split(".")[1], event_name.rsplit(".", 1)[-1]
        with lock:
            if not state["dead"] and dies_at(op, len(state["sent"])):
                state["dead"], state["at"] = True, op
            if state["dead"]:
                raise Killed(op)
            if not is_read_only_operation(service, op):
                state["sent"].append(op)

    for service in ("iam", "s3", "sagemaker", "sts"):
        factory.client(service).meta.events.register("before-send", hook)
    return factory, state


def apply_killed_before(env: Env, operation: str) -> list[str]:
    """Apply (one worker: a deterministic order) until just before the first ``operation`` request;
    the write requests sent before it."""
    factory, state = killing_factory(env, lambda op, _: op == operation)
    with pytest.raises(Killed):
        env.apply(factory=factory, max_workers=1)
    assert state["dead"], f"the apply never sent {operation}"
    return list(state["sent"])


# Between the calls that make one resource: its ownership mark must be there before anything else
# (a Role is tagged by CreateRole; a Group is created at the pending path, then gets its guard policy,
# the first PutGroupPolicy, then its real path).
CREATE_POINTS = ["AttachRolePolicy", "PutGroupPolicy", "UpdateGroup", "AttachGroupPolicy", "CreateLoginProfile"]


@pytest.mark.parametrize("operation", CREATE_POINTS)
def test_first_apply_killed_just_before_a_request_then_apply_converges(env: Env, operation: str) -> None:
    apply_killed_before(env, operation)
    recover(env)
    assert_converged(env)


PRUNE_POINTS = [
    "DeleteNotebookInstance",  # stopped, not deleted
    "DeleteUser",  # out of its group, console access gone
    "UpdateGroup",  # the group moved to the pending path, its guard still there
    "DeleteGroupPolicy",  # the first (only) one: the guard of SageMakerAdministrator
    "DeleteGroup",  # the guard gone: the pending path alone marks the group as owned
    "DeletePolicy",
]


@pytest.mark.parametrize("operation", PRUNE_POINTS)
def test_prune_killed_just_before_a_request_then_apply_converges(env: Env, operation: str) -> None:
    assert env.apply().ok
    prune_edit(env)
    apply_killed_before(env, operation)
    recover(env)
    assert_converged(env)


def test_a_group_created_by_a_killed_apply_and_then_removed_from_git_is_not_orphaned(env: Env) -> None:
    apply_killed_before(env, "PutGroupPolicy")  # the first group exists, without its guard
    assert "SageMakerAdministrator" in account_inventory()["Group"]
    # The change is reverted before the next run: the group and its member are no longer wanted.
    env.edit("users/users.yaml", lambda t: "---".join(t.split("---")[1:]).lstrip("\n"))
    env.edit("groups/groups.yaml", lambda t: t[t.index("---") + 3 :])
    env.edit("policies/notebook-users.yaml", lambda t: t[t.index("---") + 3 :])
    recover(env)
    assert_converged(env)


def test_a_stop_request_starts_no_new_change(env: Env) -> None:
    """The executor's documented contract: "A stop request (SIGTERM) lets running changes finish and starts
    no new one". One worker, stop requested as the first change finishes: nothing else may start."""
    desired = load_directory(env.root)
    plan = preview(desired, ClientFactory(env.aws, read_only=True), REGION).plan
    stop = threading.Event()
    executor = Executor(
        ClientFactory(env.aws, read_only=False),
        context(desired, REGION),
        ApplyOptions(max_workers=1),
        stop=stop,
        on_outcome=lambda _: stop.set(),
        log_changes=False,
    )
    result = executor.run(plan)
    done = [o.change.ref for o in result.of(Status.DONE)]
    assert len(done) == 1, f"{len(done)} changes ran, 1 expected: {done}"


# --------------------------------------------------------------------------------------------------
# opt-in: every kill point of both scenarios (RECONCILER_CRASH_SWEEP=1; about 50 applies)
# --------------------------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.skipif(not os.environ.get("RECONCILER_CRASH_SWEEP"), reason="set RECONCILER_CRASH_SWEEP=1 to run")
@pytest.mark.parametrize("scenario", ["create", "prune"])
def test_sweep_every_kill_point(env: Env, emulator: Any, scenario: str) -> None:
    """Kill before the n-th write request, for every n; report every point after which the account
    does not converge to exactly the manifests."""
    pristine = env.root.parent / "pristine"
    shutil.copytree(env.root, pristine)
    failures: list[str] = []
    total: int | None = None
    n = 0
    while total is None or n < total:
        emulator.reset()
        shutil.rmtree(env.root)
        shutil.copytree(pristine, env.root)
        if scenario == "prune":
            assert env.apply().ok
            prune_edit(env)
        counting = total is None  # the first pass only counts the writes
        factory, state = killing_factory(env, lambda _, sent, n=n, counting=counting: not counting and sent == n)
        if total is None:
            assert env.apply(factory=factory, max_workers=1).ok
            total = len(state["sent"])
            continue
        with pytest.raises(Killed):
            env.apply(factory=factory, max_workers=1)
        try:
            recover(env)
            assert_converged(env)
        except (AssertionError, pytest.fail.Exception) as exc:
            failures.append(f"killed before write #{n} ({state['at']}): {str(exc).splitlines()[0]}")
        n += 1
    assert failures == [], "\n".join(failures)
