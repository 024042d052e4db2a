"""The targeted reconcile ends where a full one does: for generated commits over a small account (roles, policies,
groups, users, memberships, attachments, a bucket naming roles and groups, removals, most of it removed at once),
the controller, between full reads, converges only what the commit changed, and

- its plan is the plan a full read would make (the same changes, field by field), and its verdict the same:
  a commit a full plan refuses is refused (the same exit status), and nothing is written;
- once it is applied, a full plan of the commit is empty: the account is where a full reconcile leaves it;
- it reads no account-wide IAM answer (GetAccountAuthorizationDetails), unless the commit removes a Policy
  manifest (what attaches it is read with the whole account: a full reconcile, by design).

Each example then commits the base again, which the controller converges the same way, so the next example
starts from it (and a reverse change set is checked too). A real git repository and the embedded AWS.
"""

from __future__ import annotations

import datetime as dt
import threading
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from changesets import REGION, Account, changes
from gitrepo import git
from hypothesis import HealthCheck, given, settings

from reconciler import clock
from reconciler.aws.clients import AwsConfig, CallRecorder, ClientFactory
from reconciler.controller.loop import Controller, ControllerConfig
from reconciler.engine.converge import Planned, make_plan
from reconciler.engine.plan import Plan
from reconciler.kinds import load_directory

GAAD = ("iam", "GetAccountAuthorizationDetails")


def _changes(plan: Plan) -> list[tuple[str, str, tuple[tuple[str, ...], ...]]]:
    return sorted((c.action.value, c.ref, tuple(sorted(f.path for f in c.fields))) for c in plan)


def _same_plan(made: list[Plan], expected: Planned, change_set: object) -> None:
    """The targeted cycle's plan is the full plan's; no plan at all when nothing the account holds changed (a
    manifest moved to another file), which a full plan must then confirm."""
    if not made:
        assert expected.saved.plan.empty, change_set
        return
    (targeted,) = made
    assert _changes(targeted) == _changes(expected.saved.plan), change_set


def test_a_targeted_reconcile_ends_where_a_full_one_does(aws: AwsConfig, tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    root = repo / "desired-state"
    Account.base().write(root)
    git(repo, "init", "--quiet", "--initial-branch", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "--quiet", "-m", "base")
    plans: list[Plan] = []
    recorder = CallRecorder()
    config = ControllerConfig(source=str(repo), cache_dir=tmp_path / "cache", lease_ttl=5, lease_timeout=2, resync=3600)
    controller = Controller(config, aws, stop=threading.Event(), on_plan=plans.append, recorder=recorder)
    # Every read is made 5 hours after the one before (by the one clock, which the emulator's credential report
    # follows): each finds a fresh credential report. The report's lag of up to 4 hours, which a full read has
    # and a read by name does not, is tested on its own (tests/kinds/test_read_by_name.py); this property is
    # about what a targeted reconcile reads and plans.
    moment = [dt.datetime(2026, 12, 7, tzinfo=dt.UTC)]

    def later() -> AbstractContextManager[dt.datetime]:
        moment[0] += dt.timedelta(hours=5)
        return clock.frozen(moment[0])

    with later():
        assert controller.reconcile_once() == 0  # the first cycle: a full read, the base applied

    def full_plan() -> Planned:
        with later():
            return make_plan(load_directory(root), ClientFactory(aws, read_only=True), REGION)

    def commit(account: Account, message: str) -> None:
        account.write(root)
        git(repo, "add", "-A")
        git(repo, "commit", "--quiet", "--allow-empty", "-m", message)

    def converge(message: str) -> tuple[int, Planned, list[Plan], dict[tuple[str, str], int]]:
        """A full plan of the head (read only: what a full reconcile would do), then the controller's cycle."""
        expected = full_plan()
        plans.clear()
        recorder.reset()
        with later():
            status = controller.reconcile_once()
        return status, expected, list(plans), recorder.counts()

    @settings(
        max_examples=8,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow],
    )
    @given(changes)
    def check(change_set: list[tuple[Any, ...]]) -> None:
        account = Account.base()
        for change in change_set:
            account.apply(change)
        policy_removed = not set(Account.base().policies) <= set(account.policies)
        commit(account, f"{change_set}")
        status, expected, made, calls = converge("the change set")
        verdict = expected.saved.verdict
        if verdict.refused:
            assert status == (3 if verdict.by_invariants else 1), (change_set, verdict.lines())
        else:
            assert status == 0, change_set
            assert full_plan().saved.plan.empty, change_set  # where a full reconcile leaves the account
        if not policy_removed:
            assert GAAD not in calls, (change_set, calls)
            _same_plan(made, expected, change_set)
        # back to the base, by a commit the controller converges the same way
        commit(Account.base(), "back to the base")
        status, expected, made, calls = converge("back")
        assert not expected.saved.verdict.refused
        assert status == 0, change_set
        assert full_plan().saved.plan.empty, change_set
        if set(account.policies) <= set(Account.base().policies):  # no Policy manifest removed going back
            assert GAAD not in calls, (change_set, calls)
            _same_plan(made, expected, change_set)

    check()
