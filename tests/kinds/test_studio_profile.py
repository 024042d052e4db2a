"""StudioUserProfile against the emulator (real HTTP): create in its domain, update, drift reverted, a move to another
domain refused, release, delete (its apps first), adoption, references to what git does not declare, names that
clash across domains."""

from __future__ import annotations

from pathlib import Path

import pytest
from apply.applyenv import Env
from clirun import cli_here
from studioenv import OWNED, ROLE, domain, profile, profile_names, refs, sm, tags

from reconciler.engine.converge import PlanRefused
from reconciler.engine.plan import Action
from reconciler.errors import ManifestError
from reconciler.kinds import load_directory

STUDIO = "studio/studio.yaml"
FOR = "reconciler/for"


def test_apply_creates_the_profiles_in_their_domain_with_who_they_are_for(env: Env) -> None:
    assert env.apply().ok
    assert profile_names() == ["alice", "engineers"]
    alice = profile("alice")
    assert alice["Status"] == "InService"
    assert alice["UserSettings"] == {"ExecutionRole": ROLE + "notebook-for-administrator-role"}
    assert tags(alice["UserProfileArn"]) == {FOR: "User/alice", **OWNED}
    assert tags(profile("engineers")["UserProfileArn"]) == {FOR: "Group/SageMakerEngineer", **OWNED}
    assert refs(env) == []


def test_role_tags_and_person_change_in_place(env: Env) -> None:
    assert env.apply().ok
    env.edit(
        STUDIO,
        lambda t: t.replace(
            "  executionRole: notebook-for-administrator-role\n  for:\n    user: alice\n",
            "  executionRole: notebook-for-engineer-role\n  for:\n    user: bob\n  tags:\n    seat: a1\n",
        ),
    )
    (change,) = env.plan().changes
    assert (change.action, change.ref, change.blocker) == (Action.UPDATE, "StudioUserProfile/alice", None)
    assert [(f.field, f.old, f.new) for f in change.fields] == [
        ("executionRole", ROLE + "notebook-for-administrator-role", ROLE + "notebook-for-engineer-role"),
        ("for", "User/alice", "User/bob"),
        ("tags", OWNED, {"seat": "a1", **OWNED}),
    ]
    assert env.apply().ok
    alice = profile("alice")
    assert alice["UserSettings"]["ExecutionRole"] == ROLE + "notebook-for-engineer-role"
    assert tags(alice["UserProfileArn"]) == {FOR: "User/bob", "seat": "a1", **OWNED}
    assert refs(env) == []


def test_drift_made_by_hand_is_reverted(env: Env) -> None:
    assert env.apply().ok
    alice = profile("alice")
    sm().update_user_profile(
        DomainId=alice["DomainId"], UserProfileName="alice", UserSettings={"ExecutionRole": ROLE + "someone-else"}
    )
    sm().delete_tags(ResourceArn=alice["UserProfileArn"], TagKeys=[FOR])
    (change,) = env.plan().changes
    assert change.ref == "StudioUserProfile/alice"
    assert {f.field for f in change.fields} == {"executionRole", "for"}
    assert env.apply().ok
    again = profile("alice")
    assert again["UserSettings"]["ExecutionRole"] == ROLE + "notebook-for-administrator-role"
    assert tags(again["UserProfileArn"])[FOR] == "User/alice"
    assert refs(env) == []


def test_moving_a_profile_to_another_domain_is_a_blocker_and_apply_refuses_it(env: Env) -> None:
    assert env.apply().ok
    second = env.root / STUDIO
    text = second.read_text()
    other = text[: text.index("---")].replace("name: ml-studio", "name: other-studio")
    second.write_text(text + "---\n" + other)
    assert env.apply().ok  # the second domain
    env.edit(
        STUDIO,
        lambda t: t.replace(
            "domain: ml-studio\n  executionRole: notebook-for-admin",
            "domain: other-studio\n  executionRole: notebook-for-admin",
        ),
    )
    (change,) = env.plan().changes
    assert change.ref == "StudioUserProfile/alice"
    assert change.blocker is not None and change.blocker.code == "replacement"
    assert "domain" in change.blocker.message
    with pytest.raises(PlanRefused):
        env.apply()
    assert profile_names() == ["alice", "engineers"]
    assert profile_names("other-studio") == []


def test_a_removed_profile_manifest_releases_the_profile(env: Env) -> None:
    assert env.apply().ok
    env.edit(STUDIO, lambda t: t[: t.rindex("---")])  # engineers leaves git
    plan = env.plan()
    assert [(c.action.value, c.ref) for c in plan] == [("release", "StudioUserProfile/engineers")]
    # Released, it is for nobody: the plan says the person goes with the ownership mark.
    assert [(f.field, f.old, f.new) for f in plan.changes[0].fields if f.field == "for"] == [
        ("for", "Group/SageMakerEngineer", None)
    ]
    assert env.apply().ok
    engineers = profile("engineers")
    assert engineers["Status"] == "InService"
    # No tag of the reconciler's stays: a policy granting people their own profile by the tag no longer opens it.
    assert tags(engineers["UserProfileArn"]) == {}
    assert refs(env) == []


def test_deleting_a_profile_deletes_its_apps_first(env: Env) -> None:
    env.edit(STUDIO, lambda t: t.replace("    user: alice\n", "    user: alice\n  deletionPolicy: Delete\n"))
    assert env.apply().ok
    domain_id = domain("ml-studio")["DomainId"]
    for app_type, name in (("JupyterServer", "default"), ("KernelGateway", "datascience-1")):
        sm().create_app(DomainId=domain_id, UserProfileName="alice", AppType=app_type, AppName=name)
    env.edit(STUDIO, lambda t: t[: t.index("---")] + t[t.rindex("---") :])  # alice leaves git
    (change,) = env.plan().changes
    assert (change.action, change.ref, change.blocker) == (Action.DELETE, "StudioUserProfile/alice", None)
    assert change.destroys == ("its apps, deleted first: JupyterServer/default, KernelGateway/datascience-1",)
    assert env.apply().ok
    assert profile_names() == ["engineers"]
    apps = sm().list_apps(DomainIdEquals=domain_id, UserProfileNameEquals="alice")["Apps"]
    assert sorted((a["AppName"], a["Status"]) for a in apps) == [("datascience-1", "Deleted"), ("default", "Deleted")]


def test_a_hand_made_profile_is_adopted_with_adopt_only(env: Env) -> None:
    env.edit(STUDIO, lambda t: t[: t.rindex("---")])
    assert env.apply().ok
    sm().create_user_profile(
        DomainId=domain("ml-studio")["DomainId"],
        UserProfileName="engineers",
        UserSettings={"ExecutionRole": ROLE + "notebook-for-engineer-role"},
        Tags=[{"Key": FOR, "Value": "Group/SageMakerEngineer"}],
    )
    env.edit(STUDIO, lambda t: t + "---\n" + STUDIO_ENGINEERS)
    (change,) = env.plan().changes
    assert (change.action, change.ref) == (Action.ADOPT, "StudioUserProfile/engineers")
    assert [(f.field, f.old, f.new) for f in change.fields] == [("tags", {}, OWNED)]
    with pytest.raises(PlanRefused):
        env.apply()
    assert env.apply(adopt=True).ok
    assert tags(profile("engineers")["UserProfileArn"]) == {FOR: "Group/SageMakerEngineer", **OWNED}
    assert refs(env) == []


STUDIO_ENGINEERS = """\
apiVersion: reconciler/v1
kind: StudioUserProfile
metadata:
  name: engineers
spec:
  domain: ml-studio
  executionRole: notebook-for-engineer-role
  for:
    group: SageMakerEngineer
"""


def test_references_to_what_git_does_not_declare_are_located_errors(env: Env) -> None:
    env.edit(
        STUDIO,
        lambda t: (
            t.replace("defaultExecutionRole: notebook-for-engineer-role", "defaultExecutionRole: nobody-role")
            .replace(
                "  domain: ml-studio\n  executionRole: notebook-for-administrator-role",
                "  domain: nowhere\n  executionRole: no-role",
            )
            .replace("user: alice", "user: mallory")
            .replace("group: SageMakerEngineer", "group: Nobodies")
        ),
    )
    with pytest.raises(ManifestError) as caught:
        load_directory(env.root, display_root=Path("ds"))
    assert [str(p) for p in caught.value.problems] == [
        "ds/studio/studio.yaml:9:25: StudioDomain/ml-studio: spec.defaultExecutionRole: "
        "no Role manifest named 'nobody-role'",
        "ds/studio/studio.yaml:19:11: StudioUserProfile/alice: spec.domain: no StudioDomain manifest named 'nowhere'",
        "ds/studio/studio.yaml:20:18: StudioUserProfile/alice: spec.executionRole: no Role manifest named 'no-role'",
        "ds/studio/studio.yaml:22:11: StudioUserProfile/alice: spec.for.user: no User manifest named 'mallory'",
        "ds/studio/studio.yaml:32:12: StudioUserProfile/engineers: spec.for.group: no Group manifest named 'Nobodies'",
    ]


def test_one_profile_name_in_two_domains_is_a_read_error(env: Env) -> None:
    for name in ("studio-a", "studio-b"):
        created = sm().create_domain(
            DomainName=name,
            AuthMode="IAM",
            DefaultUserSettings={"ExecutionRole": ROLE + "notebook-for-engineer-role"},
            SubnetIds=["subnet-0a1b"],
            VpcId="vpc-0a1b",
        )
        sm().create_user_profile(DomainId=created["DomainId"], UserProfileName="shared-name")
    code, out = cli_here("plan", str(env.root))
    assert code == 1
    assert "2 Studio user profiles named 'shared-name'" in out
