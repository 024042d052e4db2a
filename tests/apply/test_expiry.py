"""Access that ends, against the embedded AWS: nothing changes before the end; after it, the next plan removes the
access with no commit, each change saying why, and apply (a saved plan too) makes exactly that."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
from applyenv import REGION, Env
from expiring import AFTER, BEFORE, give_expiring_access

from reconciler.aws.clients import ClientFactory
from reconciler.clock import frozen
from reconciler.engine.converge import apply_saved, make_plan
from reconciler.engine.planfile import load_plan_file, write_plan_file
from reconciler.engine.render import render_json, render_text
from reconciler.engine.render_markdown import render_markdown
from reconciler.kinds import load_directory

LOGS = "arn:aws:iam::123456789012:policy/notebook-logs"
DATA = "arn:aws:iam::123456789012:policy/notebook-engineer-data"


def members(group: str) -> list[str]:
    return sorted(u["UserName"] for u in boto3.client("iam").get_group(GroupName=group)["Users"])


def role_policies(role: str) -> list[str]:
    attached = boto3.client("iam").list_attached_role_policies(RoleName=role)["AttachedPolicies"]
    return sorted(p["PolicyArn"] for p in attached)


def users() -> list[str]:
    return sorted(u["UserName"] for u in boto3.client("iam").list_users()["Users"])


def test_expired_access_is_removed_on_the_next_plan_without_a_commit(env: Env, tmp_path: Path) -> None:
    give_expiring_access(env.root)
    with frozen(BEFORE):
        assert env.apply().ok
        plan = env.plan()
    assert plan.empty and plan.expired == ()
    assert [g.entry for g in plan.expiring] == [
        "attachment of policy notebook-logs",
        "membership of Group/SageMakerAdministrator",
        "User/carol",
    ]
    text = render_text(plan, color=False)
    # a date ends at the end of its day: from 12:00 on the 30th, a day and a half
    assert (
        "Note: expires in 1 d 12 h (2026-12-01): User/bob's membership of Group/SageMakerAdministrator "
        f"({env.root}/users/users.yaml:21:18)"
    ) in text
    assert members("SageMakerAdministrator") == ["alice", "bob"]

    # The day after: no commit, the same manifests.
    reader = ClientFactory(env.aws, read_only=True)
    with frozen(AFTER):
        planned = make_plan(load_directory(env.root), reader, REGION)
    saved = planned.saved
    assert not saved.verdict.refused
    assert [(c.action.value, c.ref) for c in saved.plan] == [
        ("update", "Role/notebook-for-engineer-role"),
        ("update", "Group/SageMakerAdministrator"),
        ("update", "Group/SageMakerEngineer"),
        ("delete", "User/carol"),
    ]
    notes = {c.ref: c.notes for c in saved.plan}
    assert notes["Group/SageMakerAdministrator"] == (
        "expired 2026-12-01: User/bob's membership of Group/SageMakerAdministrator "
        f"({env.root}/users/users.yaml:21:18)",
    )  # and not "not declared in git": it is, with its end
    assert notes["User/carol"][0] == (
        f"expired 2026-12-01: User/carol: planned as if its manifest were gone ({env.root}/users/users.yaml:31:14)"
    )
    assert notes["Group/SageMakerEngineer"][0].startswith("expired 2026-12-01: User/carol: planned as if")
    assert notes["Role/notebook-for-engineer-role"][0].startswith(
        "expired 2026-12-01: Role/notebook-for-engineer-role's attachment of policy notebook-logs ("
    )
    (role,) = [c for c in saved.plan if c.kind == "Role"]
    assert [(f.field, f.old, f.new) for f in role.fields] == [("policies", (DATA, LOGS), (DATA,))]
    # Every output says why.
    assert "# expired 2026-12-01: User/bob's membership of Group/SageMakerAdministrator" in render_text(
        saved.plan, color=False
    )
    data = json.loads(render_json(saved.plan))
    assert [(g["resource"], g["expiresAt"], g["endsAt"]) for g in data["expired"]] == [
        ("Role/notebook-for-engineer-role", "2026-12-01", "2026-12-02T00:00:00+00:00"),
        ("User/bob", "2026-12-01", "2026-12-02T00:00:00+00:00"),
        ("User/carol", "2026-12-01", "2026-12-02T00:00:00+00:00"),
    ]
    assert data["expiring"] == []
    assert "expired 2026-12-01: User/bob's membership of Group/SageMakerAdministrator" in render_markdown(saved.plan)

    # A saved plan carries it, and apply makes exactly it.
    path = tmp_path / "reviewed.plan"
    write_plan_file(path, saved)
    loaded = load_plan_file(path)
    assert loaded.plan.expired == saved.plan.expired
    assert [c.notes for c in loaded.plan] == [c.notes for c in saved.plan]
    result = apply_saved(loaded, reader=reader, writer=ClientFactory(env.aws, read_only=False))
    assert result is not None and result.ok
    assert members("SageMakerAdministrator") == ["alice"]
    assert members("SageMakerEngineer") == ["bob"]
    assert role_policies("notebook-for-engineer-role") == [DATA]
    assert users() == ["alice", "bob"]

    # In sync from then on; the plan still says git holds entries no longer in force.
    with frozen(AFTER):
        again = env.plan()
    assert again.empty
    assert (
        "3 expired entries are still in the manifests (no longer in force): `reconciler expired --write` removes "
        "them from git" in again.notes
    )
