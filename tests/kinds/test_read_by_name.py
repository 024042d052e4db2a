"""Reading IAM resources by name (the controller's targeted read) gives the models the account-wide read gives,
and console access read for many users comes from the credential report, confirmed where it may be stale."""

from __future__ import annotations

import dataclasses
import datetime as dt
import shutil
from pathlib import Path

import boto3
import pytest
from apply.applyenv import REGION, REPO, Env

from reconciler import clock
from reconciler.aws.clients import AwsConfig, CallRecorder, ClientFactory
from reconciler.aws.live import LiveState, fingerprint
from reconciler.aws.operations import is_read_only_operation
from reconciler.aws.scope import ReadScope
from reconciler.engine.converge import make_plan
from reconciler.engine.differ import read_scope
from reconciler.kinds import load_directory
from reconciler.kinds.read import read_account

IAM_KINDS = ("Policy", "Role", "Group", "User")
GAAD = ("iam", "GetAccountAuthorizationDetails")


@pytest.fixture
def env(aws: AwsConfig, tmp_path: Path) -> Env:
    """The example, applied."""
    shutil.copytree(REPO / "desired-state", tmp_path / "ds")
    applied = Env(aws, tmp_path / "ds")
    assert applied.apply().ok
    return applied


def read(aws: AwsConfig, scope: ReadScope) -> tuple[LiveState, dict[tuple[str, str], int]]:
    recorder = CallRecorder()
    live = read_account(ClientFactory(aws, read_only=True, recorder=recorder), scope)
    return live, recorder.counts()


def test_a_read_by_name_gives_the_models_of_the_account_wide_read(env: Env) -> None:
    desired = load_directory(env.root)
    iam = boto3.client("iam")
    iam.create_instance_profile(InstanceProfileName="by-hand")
    iam.add_role_to_instance_profile(InstanceProfileName="by-hand", RoleName="notebook-for-engineer-role")
    scope = read_scope(desired, REGION)
    full, _ = read(env.aws, scope)
    names = {kind: frozenset(full.of(kind)) for kind in IAM_KINDS}
    # the engineer's role and carol as a plan that deletes them reads them: with what deleting them removes
    deleting = {"Role": frozenset({"notebook-for-engineer-role"}), "User": frozenset({"carol"})}
    targeted = dataclasses.replace(
        scope,
        names={k: v - deleting.get(k, frozenset()) for k, v in names.items()},
        deleting=deleting,
        only=names,
    )
    named, calls = read(env.aws, targeted)
    assert set(named.resources) == set(IAM_KINDS)  # no other kind read
    assert GAAD not in calls and ("iam", "GetLoginProfile") in calls
    full_deleting, _ = read(env.aws, dataclasses.replace(scope, names=targeted.names, deleting=deleting))
    for kind in IAM_KINDS:
        assert set(named.of(kind)) == set(full.of(kind)), kind
        for name, model in named.of(kind).items():
            expected = (full_deleting if name in deleting.get(kind, ()) else full).of(kind)[name]
            compared = model
            if kind == "Role" and name not in deleting["Role"]:
                assert model.instance_profiles is None  # read only for a role the plan may delete
                compared = dataclasses.replace(model, instance_profiles=expected.instance_profiles)
            assert fingerprint(compared) == fingerprint(expected), f"{kind}/{name}"
    assert named.of("Role")["notebook-for-engineer-role"].instance_profiles == ("by-hand",)
    assert named.of("User")["carol"].mfa_devices == ()


def test_a_targeted_read_reads_only_the_resources_it_names(env: Env) -> None:
    desired = load_directory(env.root)
    only = {"Role": frozenset({"notebook-for-administrator-role"})}
    scope = dataclasses.replace(read_scope(desired, REGION), names=only, deleting={}, only=only)
    live, calls = read(env.aws, scope)
    assert list(live.resources) == ["Role"] and list(live.of("Role")) == ["notebook-for-administrator-role"]
    assert calls == {
        ("sts", "GetCallerIdentity"): 1,
        ("iam", "GetRole"): 1,
        ("iam", "ListAttachedRolePolicies"): 1,
        ("iam", "ListRolePolicies"): 1,
    }


def test_a_policy_elsewhere_than_git_says_is_found_by_its_name(env: Env) -> None:
    desired = load_directory(env.root)
    only = {"Policy": frozenset({"notebook-logs", "no-such-policy"})}
    hints = {"Policy": {"notebook-logs": "/somewhere/else/"}}
    scope = dataclasses.replace(read_scope(desired, REGION), names=only, deleting={}, only=only, hints=hints)
    live, calls = read(env.aws, scope)
    assert list(live.of("Policy")) == ["notebook-logs"]
    assert live.of("Policy")["notebook-logs"].arn == "arn:aws:iam::123456789012:policy/notebook-logs"
    assert calls[("iam", "ListPolicies")] == 1


def test_plan_mode_may_ask_for_the_credential_report() -> None:
    assert is_read_only_operation("iam", "GenerateCredentialReport")
    assert is_read_only_operation("iam", "GetCredentialReport")


def test_console_access_of_many_users_comes_from_the_credential_report(env: Env) -> None:
    scope = read_scope(load_directory(env.root), REGION)
    read(env.aws, scope)  # the report is made (AWS keeps it 4 hours)
    live, calls = read(env.aws, scope)
    assert calls[("iam", "GenerateCredentialReport")] == 1 and calls[("iam", "GetCredentialReport")] == 1
    assert ("iam", "GetLoginProfile") not in calls  # alice, bob and carol: as git says
    assert {n: u.console_access for n, u in live.of("User").items()} == {"alice": True, "bob": True, "carol": True}


def test_the_report_never_hides_a_console_password_and_lags_only_for_one_removed(env: Env) -> None:
    """The report answers as it was made (up to 4 hours before). Only its "a password is there" is taken, where
    git says so too: a password made since (by hand, or by the reconciler) is seen at once; one removed since,
    for a user git gives one, is seen once AWS makes a new report."""
    started = clock.now()
    iam = boto3.client("iam")
    with clock.frozen(started):
        scope = read_scope(load_directory(env.root), REGION)
        iam.delete_login_profile(UserName="carol")
        read(env.aws, scope)  # the report: alice and bob have a console password, carol none
        iam.delete_login_profile(UserName="bob")  # by hand, after the report
        iam.create_login_profile(UserName="carol", Password="By-hand-Passw0rd!")  # by hand, after the report
        hints = {"User": {"alice": True, "bob": True, "carol": False}}
        live, calls = read(env.aws, dataclasses.replace(scope, hints=hints))
    users = live.of("User")
    assert calls[("iam", "GetLoginProfile")] == 1  # carol: listed without a password, so read again
    assert users["carol"].console_access is True and not users["carol"].console_from_report
    assert users["alice"].console_access is True and users["alice"].console_from_report
    assert users["bob"].console_access is True and users["bob"].console_from_report  # the lag: not seen yet
    with clock.frozen(started + dt.timedelta(hours=4, minutes=1)):  # AWS makes a new report
        live, _ = read(env.aws, dataclasses.replace(scope, hints=hints))
    assert live.of("User")["bob"].console_access is False


def test_a_plan_reads_again_the_users_it_changes(env: Env) -> None:
    """A user the plan changes is read again one by one, so that the plan is made from what apply checks before
    writing: an answer of the report that is stale for it never makes apply refuse the plan as moved."""
    started = clock.now()
    with clock.frozen(started):
        env.apply()  # the report is made: alice, bob and carol have a console password
        boto3.client("iam").delete_login_profile(UserName="bob")  # by hand, after the report
        users = env.root / "users" / "users.yaml"
        users.write_text(users.read_text().replace("team: data-science", "team: research", 1))  # bob's tags
        desired = load_directory(env.root)
        planned = make_plan(desired, ClientFactory(env.aws, read_only=True), REGION)
        (change,) = planned.saved.plan
        assert change.ref == "User/bob" and {f.name for f in change.fields} == {"tags", "consoleAccess"}
        assert env.apply().ok
        assert boto3.client("iam").get_login_profile(UserName="bob")["LoginProfile"]["UserName"] == "bob"
