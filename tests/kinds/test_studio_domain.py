"""StudioDomain against the emulator (real HTTP): create and wait, update in place with UpdateDomain, drift
reverted, replacement fields refused, release and delete (never the home volume), a domain holding profiles git
does not know cannot be deleted, adoption, duplicate names refused."""

from __future__ import annotations

from typing import Any

import pytest
from apply.applyenv import Env
from clirun import cli_here
from studioenv import ACCOUNT, OWNED, ROLE, domain, domains, except_rule, profile_names, refs, sm, tags

from reconciler.aws.clients import ClientFactory
from reconciler.engine.converge import PlanRefused
from reconciler.engine.plan import Action
from reconciler.errors import ManifestError
from reconciler.kinds import load_directory

STUDIO = "studio/studio.yaml"


def test_apply_creates_the_domain_as_the_manifest_says_then_nothing_is_left(env: Env) -> None:
    plan = env.plan()
    create = next(c for c in plan if c.ref == "StudioDomain/ml-studio")
    assert create.action is Action.CREATE
    assert any("InService" in note for note in create.notes)
    assert env.apply().ok
    d = domain("ml-studio")
    assert d["Status"] == "InService"
    assert d["AuthMode"] == "IAM"
    assert d["AppNetworkAccessType"] == "VpcOnly"  # the manifest's default, though AWS's is PublicInternetOnly
    assert d["VpcId"] == "vpc-0a1b2c3d4e5f60718"
    assert d["SubnetIds"] == ["subnet-0a1b2c3d4e5f60718"]
    assert d["DefaultUserSettings"] == {
        "ExecutionRole": ROLE + "notebook-for-engineer-role",
        "SecurityGroups": ["sg-0a1b2c3d4e5f60718"],
    }
    assert tags(d["DomainArn"]) == {"team": "ml-platform", **OWNED}
    assert refs(env) == []


def test_settings_change_in_place_with_update_domain(env: Env) -> None:
    assert env.apply().ok
    except_rule(env, "SM001", "StudioDomain/ml-studio", "the test changes appNetworkAccessType in place")
    domain_id = domain("ml-studio")["DomainId"]
    env.edit(
        STUDIO,
        lambda t: (
            t.replace("subnetIds: [subnet-0a1b2c3d4e5f60718]", "subnetIds: [subnet-0a1b, subnet-0c1d]")
            .replace("securityGroupIds: [sg-0a1b2c3d4e5f60718]", "securityGroupIds: [sg-0e1f]")
            .replace(
                "defaultExecutionRole: notebook-for-engineer-role",
                "defaultExecutionRole: notebook-for-administrator-role",
            )
            .replace(
                "  tags:\n    team: ml-platform\n",
                "  appNetworkAccessType: PublicInternetOnly\n  tags:\n    team: ml\n",
                1,
            )
        ),
    )
    (change,) = env.plan().changes
    assert change.action is Action.UPDATE and change.blocker is None
    assert [f.field for f in change.fields] == [
        "appNetworkAccessType",
        "defaultExecutionRole",
        "securityGroupIds",
        "subnetIds",
        "tags",
    ]
    assert env.apply().ok
    d = domain("ml-studio")
    assert d["DomainId"] == domain_id  # the same domain, changed in place
    assert d["AppNetworkAccessType"] == "PublicInternetOnly"
    assert sorted(d["SubnetIds"]) == ["subnet-0a1b", "subnet-0c1d"]
    assert d["DefaultUserSettings"]["SecurityGroups"] == ["sg-0e1f"]
    assert d["DefaultUserSettings"]["ExecutionRole"] == ROLE + "notebook-for-administrator-role"
    assert tags(d["DomainArn"]) == {"team": "ml", **OWNED}
    assert refs(env) == []


def test_drift_made_by_hand_is_reverted(env: Env) -> None:
    assert env.apply().ok
    d = domain("ml-studio")
    sm().update_domain(
        DomainId=d["DomainId"],
        DefaultUserSettings={"ExecutionRole": ROLE + "someone-else", "SecurityGroups": []},
        AppNetworkAccessType="PublicInternetOnly",
    )
    sm().delete_tags(ResourceArn=d["DomainArn"], TagKeys=["team"])
    (change,) = env.plan().changes
    assert change.ref == "StudioDomain/ml-studio" and change.action is Action.UPDATE
    assert {f.field for f in change.fields} == {
        "appNetworkAccessType",
        "defaultExecutionRole",
        "securityGroupIds",
        "tags",
    }
    assert env.apply().ok
    again = domain("ml-studio")
    assert again["AppNetworkAccessType"] == "VpcOnly"
    assert again["DefaultUserSettings"]["ExecutionRole"] == ROLE + "notebook-for-engineer-role"
    assert again["DefaultUserSettings"]["SecurityGroups"] == ["sg-0a1b2c3d4e5f60718"]
    assert tags(again["DomainArn"])["team"] == "ml-platform"
    assert refs(env) == []


def test_a_replacement_field_is_a_blocker_in_plan_and_apply_refuses_it(env: Env) -> None:
    assert env.apply().ok
    env.edit(STUDIO, lambda t: t.replace("vpcId: vpc-0a1b2c3d4e5f60718", "vpcId: vpc-0fff", 1))
    (change,) = env.plan().changes
    assert change.blocker is not None and change.blocker.code == "replacement"
    assert "vpcId" in change.blocker.message
    with pytest.raises(PlanRefused):
        env.apply()
    assert domain("ml-studio")["VpcId"] == "vpc-0a1b2c3d4e5f60718"


def test_removing_a_retained_domain_releases_it(env: Env) -> None:
    assert env.apply().ok
    env.edit(STUDIO, lambda t: t[: t.index("---")])  # the domain only
    assert env.apply().ok  # the profiles are released (their default), the domain stays in git
    (env.root / STUDIO).unlink()
    plan = env.plan()
    assert [(c.action.value, c.ref) for c in plan] == [("release", "StudioDomain/ml-studio")]
    assert plan.changes[0].blocker is None  # released, not deleted: its profiles are no obstacle
    assert env.apply().ok
    d = domain("ml-studio")
    assert d["Status"] == "InService"
    assert tags(d["DomainArn"]) == {"team": "ml-platform"}
    assert refs(env) == []


def test_a_domain_whose_manifest_says_delete_goes_after_its_profiles_and_keeps_its_home_volume(env: Env) -> None:
    env.edit(
        STUDIO,
        lambda t: (
            t.replace("  tags:\n    team: ml-platform\n", "  deletionPolicy: Delete\n  tags:\n    team: ml-platform\n")
            .replace("    user: alice\n", "    user: alice\n  deletionPolicy: Delete\n")
            .replace("    group: SageMakerEngineer\n", "    group: SageMakerEngineer\n  deletionPolicy: Delete\n")
        ),
    )
    assert env.apply().ok
    (env.root / STUDIO).unlink()
    plan = env.plan()
    assert [(c.action.value, c.ref) for c in plan] == [
        ("delete", "StudioUserProfile/alice"),
        ("delete", "StudioUserProfile/engineers"),
        ("delete", "StudioDomain/ml-studio"),
    ]
    assert all(c.blocker is None for c in plan)
    sent: list[dict[str, Any]] = []
    writer = ClientFactory(env.aws, read_only=False)
    writer.client("sagemaker").meta.events.register(
        "provide-client-params.sagemaker.DeleteDomain", lambda params, **_: sent.append(dict(params))
    )
    result = env.apply(factory=writer, allow_deletes=3)
    assert result.ok, result.summary()
    assert domains("ml-studio") == []
    assert [p["RetentionPolicy"] for p in sent] == [{"HomeEfsFileSystem": "Retain"}]


def test_a_domain_holding_profiles_git_does_not_know_cannot_be_deleted(env: Env) -> None:
    env.edit(STUDIO, lambda t: t[: t.index("---")].replace("  tags:", "  deletionPolicy: Delete\n  tags:"))
    assert env.apply().ok
    d = domain("ml-studio")
    sm().create_user_profile(
        DomainId=d["DomainId"], UserProfileName="made-by-hand", UserSettings={"ExecutionRole": ROLE + "x-role-1"}
    )
    (env.root / STUDIO).unlink()
    (change,) = env.plan().changes
    assert (change.action, change.ref) == (Action.DELETE, "StudioDomain/ml-studio")
    assert change.blocker is not None and change.blocker.code == "domain-has-profiles"
    assert "made-by-hand" in change.blocker.message
    with pytest.raises(PlanRefused):
        env.apply(allow_deletes=1)
    assert profile_names() == ["made-by-hand"]  # nothing was touched
    # Once the profile is gone (by hand), the same plan goes through.
    sm().delete_user_profile(DomainId=d["DomainId"], UserProfileName="made-by-hand")
    assert env.plan().changes[0].blocker is None
    assert env.apply(allow_deletes=1).ok
    assert domains("ml-studio") == []


def test_a_hand_made_domain_is_adopted_with_adopt_only(env: Env) -> None:
    env.edit(STUDIO, lambda t: t[: t.index("---")])
    sm().create_domain(
        DomainName="ml-studio",
        AuthMode="IAM",
        DefaultUserSettings={
            "ExecutionRole": ROLE + "notebook-for-engineer-role",
            "SecurityGroups": ["sg-0a1b2c3d4e5f60718"],
        },
        SubnetIds=["subnet-0a1b2c3d4e5f60718"],
        VpcId="vpc-0a1b2c3d4e5f60718",
        AppNetworkAccessType="VpcOnly",
        KmsKeyId=f"arn:aws:kms:ap-northeast-1:{ACCOUNT}:alias/sagemaker-studio",  # the manifest's key (SM002)
        Tags=[{"Key": "team", "Value": "ml-platform"}],
    )
    adopt = next(c for c in env.plan() if c.kind == "StudioDomain")
    assert adopt.action is Action.ADOPT
    assert [(f.field, f.old, f.new) for f in adopt.fields] == [
        ("tags", {"team": "ml-platform"}, {"team": "ml-platform", **OWNED})
    ]
    with pytest.raises(PlanRefused):
        env.apply()
    assert env.apply(adopt=True).ok
    assert len(domains("ml-studio")) == 1  # adopted, not created anew
    assert refs(env) == []


def test_two_domains_of_one_name_are_a_read_error_not_a_guess(env: Env) -> None:
    for _ in range(2):
        sm().create_domain(
            DomainName="ml-studio",
            AuthMode="IAM",
            DefaultUserSettings={"ExecutionRole": ROLE + "notebook-for-engineer-role"},
            SubnetIds=["subnet-0a1b"],
            VpcId="vpc-0a1b",
        )
    code, out = cli_here("plan", str(env.root))
    assert code == 1
    assert "2 Studio domains named 'ml-studio'" in out


def test_a_network_change_while_apps_run_is_a_blocker_and_goes_through_once_they_are_stopped(env: Env) -> None:
    assert env.apply().ok
    domain_id = domain("ml-studio")["DomainId"]
    sm().create_app(DomainId=domain_id, UserProfileName="alice", AppType="JupyterServer", AppName="default")
    env.edit(
        STUDIO,
        lambda t: t.replace(
            "  tags:\n    team: ml-platform\n",
            "  appNetworkAccessType: PublicInternetOnly\n  tags:\n    team: ml-platform\n",
        ),
    )
    except_rule(env, "SM001", "StudioDomain/ml-studio", "the test changes appNetworkAccessType while apps run")
    (change,) = env.plan().changes
    assert change.blocker is not None and change.blocker.code == "domain-apps-running"
    assert "appNetworkAccessType" in change.blocker.message and "alice/JupyterServer/default" in change.blocker.message
    with pytest.raises(PlanRefused):
        env.apply()
    assert domain("ml-studio")["AppNetworkAccessType"] == "VpcOnly"
    # Adding a subnet is no obstacle; removing one is.
    sm().delete_app(DomainId=domain_id, UserProfileName="alice", AppType="JupyterServer", AppName="default")
    assert env.apply().ok
    assert domain("ml-studio")["AppNetworkAccessType"] == "PublicInternetOnly"
    sm().create_app(DomainId=domain_id, UserProfileName="alice", AppType="JupyterServer", AppName="second")
    env.edit(STUDIO, lambda t: t.replace("[subnet-0a1b2c3d4e5f60718]", "[subnet-0a1b2c3d4e5f60718, subnet-0b]"))
    (added,) = env.plan().changes
    assert added.blocker is None
    assert env.apply().ok
    env.edit(STUDIO, lambda t: t.replace("[subnet-0a1b2c3d4e5f60718, subnet-0b]", "[subnet-0b]"))
    (removed,) = env.plan().changes
    assert removed.blocker is not None and "removing subnet-0a1b2c3d4e5f60718" in removed.blocker.message


KMS_KEY = """\
---
apiVersion: reconciler/v1
kind: KmsKey
metadata:
  name: {name}
spec:
  description: encrypts the Studio home volumes
"""


def _with_key(env: Env, name: str = "studio-home") -> None:
    env.edit(
        STUDIO,
        lambda t: (
            t.replace("  kmsKey: sagemaker-studio\n", f"  kmsKey: {name}\n", 1)
            + KMS_KEY.format(name="studio-home")
            + KMS_KEY.format(name="studio-other")
        ),
    )


def test_a_domain_encrypted_with_a_kms_key_manifest_is_given_its_alias_arn_and_comes_after_it(env: Env) -> None:
    _with_key(env)
    plan = env.plan()
    order = [c.ref for c in plan]
    assert order.index("KmsKey/studio-home") < order.index("StudioDomain/ml-studio")
    alias = f"arn:aws:kms:ap-northeast-1:{ACCOUNT}:alias/studio-home"
    create = next(c for c in plan if c.ref == "StudioDomain/ml-studio")
    assert dict((f.field, f.new) for f in create.fields)["kmsKey"] == alias
    assert env.apply().ok
    assert domain("ml-studio")["KmsKeyId"] == alias
    assert refs(env) == []
    # Another key is another domain: a blocker, refused by apply.
    env.edit(STUDIO, lambda t: t.replace("kmsKey: studio-home", "kmsKey: studio-other"))
    (change,) = env.plan().changes
    assert change.ref == "StudioDomain/ml-studio"
    assert change.blocker is not None and change.blocker.code == "replacement" and "kmsKey" in change.blocker.message
    with pytest.raises(PlanRefused):
        env.apply()
    assert domain("ml-studio")["KmsKeyId"] == alias


def test_a_kms_key_git_does_not_declare_is_a_located_error(env: Env) -> None:
    env.edit(STUDIO, lambda t: t.replace("  kmsKey: sagemaker-studio\n", "  kmsKey: nowhere\n", 1))
    with pytest.raises(ManifestError) as caught:
        load_directory(env.root, display_root="ds")
    assert [str(p) for p in caught.value.problems] == [
        "ds/studio/studio.yaml:10:11: StudioDomain/ml-studio: spec.kmsKey: no KmsKey manifest named 'nowhere'"
    ]
