"""``management: observe``: read, diffed and checked, never written; what it does to the plan (pure, no AWS)."""

from __future__ import annotations

import shutil
from pathlib import Path

from livestates import changed, in_sync

from reconciler.engine.differ import build_plan
from reconciler.engine.plan import Action
from reconciler.engine.planfile import load_plan_file, write_plan_file
from reconciler.engine.render import plan_to_dict, render_text
from reconciler.kinds import load_directory
from reconciler.kinds.group import LiveGroup
from reconciler.manifests import DesiredState

REPO = Path(__file__).resolve().parents[2]
ROLE = "Role/notebook-for-engineer-role"


def with_management(tmp_path: Path, *, role: str | None = None, default: str | None = None) -> DesiredState:
    ds = tmp_path / "ds"
    shutil.copytree(REPO / "desired-state", ds)
    if role is not None:
        path = ds / "roles" / "notebook-roles.yaml"
        text = path.read_text()
        old = "  name: notebook-for-engineer-role\n"
        assert old in text
        path.write_text(text.replace(old, old + f"  management: {role}\n"))
    if default is not None:
        path = ds / "settings.yaml"
        text = path.read_text()
        path.write_text(text.rstrip("\n") + f"\n  defaultManagement: {default}\n")
    return load_directory(ds)


def test_metadata_wins_over_the_default_of_the_settings(tmp_path: Path) -> None:
    one = with_management(tmp_path / "a", role="observe")
    assert one.observed == frozenset({ROLE})
    everything = with_management(tmp_path / "b", default="observe")
    assert everything.observed == frozenset(r.ref for r in everything)
    but_one = with_management(tmp_path / "c", role="enforce", default="observe")
    assert ROLE not in but_one.observed and len(but_one.observed) == len(everything.observed) - 1


def test_drift_of_an_observed_resource_is_reported_apart_and_never_planned(tmp_path: Path) -> None:
    desired = with_management(tmp_path, role="observe")
    live = changed(in_sync(desired), "Role", "notebook-for-engineer-role", description="edited by hand")
    plan = build_plan(desired, live)
    assert plan.empty  # apply executes ``changes`` only
    [watched] = plan.observed
    assert (watched.action, watched.ref, [f.field for f in watched.fields]) == (Action.UPDATE, ROLE, ["description"])
    assert any("observed, not enforced" in n for n in watched.notes)
    assert plan.observed_in_sync == 0
    assert "Observed, not enforced: 1 resource(s), 1 differ from git." in plan.summary()
    text = render_text(plan, color=False)
    assert "Observed, not enforced (metadata.management: observe)" in text and "description" in text
    data = plan_to_dict(plan)
    assert (data["changes"], [c["name"] for c in data["observed"]]) == ([], ["notebook-for-engineer-role"])


def test_an_observed_resource_missing_its_mark_or_missing_altogether_gets_nothing(tmp_path: Path) -> None:
    desired = with_management(tmp_path, role="observe")
    hand_made = changed(in_sync(desired), "Role", "notebook-for-engineer-role", tags={})
    plan = build_plan(desired, hand_made)
    assert plan.empty and plan.observed == () and plan.observed_in_sync == 1  # the mark is never written
    gone = in_sync(desired, skip=[ROLE])
    plan = build_plan(desired, gone)
    assert plan.empty
    assert [(c.action, c.ref) for c in plan.observed] == [(Action.CREATE, ROLE)]


def test_a_hand_made_group_observed_does_not_get_the_guard(tmp_path: Path) -> None:
    desired = with_management(tmp_path, default="observe")
    live = in_sync(desired)
    for name, group in live.of("Group").items():
        assert isinstance(group, LiveGroup)
        live = changed(live, "Group", name, inline={})  # no guard: never marked
    plan = build_plan(desired, live)
    assert plan.empty and plan.observed == ()


def test_an_enforced_group_keeps_its_members_exact_even_when_the_user_is_observed(tmp_path: Path) -> None:
    ds = tmp_path / "ds"
    desired = with_management(tmp_path, role=None)
    users = sorted(desired.of("User"))
    path = ds / "users" / next(p.name for p in (ds / "users").iterdir())
    text = path.read_text()
    old = f"  name: {users[0]}\n"
    assert old in text
    path.write_text(text.replace(old, old + "  management: observe\n"))
    desired = load_directory(ds)
    assert desired.observed == frozenset({f"User/{users[0]}"})
    user = desired.get("User", users[0])
    group = user.groups[0]  # type: ignore[union-attr]
    live = in_sync(desired)
    stale = live.of("Group")[group]
    assert isinstance(stale, LiveGroup)
    live = changed(live, "Group", group, members=tuple(m for m in stale.members if m != users[0]))
    plan = build_plan(desired, live)
    assert [(c.action, c.ref, [f.field for f in c.fields]) for c in plan] == [
        (Action.UPDATE, f"Group/{group}", ["members"])
    ]


def test_a_saved_plan_keeps_the_observed_drift_and_the_replacements(tmp_path: Path) -> None:
    from reconciler.engine.planfile import SavedPlan
    from reconciler.engine.verdict import judge
    from reconciler.kinds.context import Target

    desired = with_management(tmp_path, role="observe")
    live = changed(in_sync(desired), "Role", "notebook-for-engineer-role", description="edited by hand")
    live = changed(live, "Policy", "notebook-logs", path="/old/")
    plan = build_plan(desired, live, replace=frozenset({"Policy/notebook-logs"}))
    saved = SavedPlan(
        plan=plan,
        verdict=judge(plan, None, max_deletes=10),
        target=Target(desired.settings.account_id, plan.region, "managed-by", "reconciler"),
        replace=frozenset({"Policy/notebook-logs"}),
    )
    path = tmp_path / "plan.json"
    write_plan_file(path, saved)
    again = load_plan_file(path)
    assert again.plan == plan and again.replace == saved.replace
    assert [c.action for c in again.plan.changes] == [Action.REPLACE]
    assert [c.ref for c in again.plan.observed] == [ROLE]


def test_nothing_to_prune_when_everything_is_observed(tmp_path: Path) -> None:
    desired = with_management(tmp_path, default="observe")
    plan = build_plan(desired, in_sync(desired))
    assert plan.empty and plan.observed == () and plan.observed_in_sync == desired.count()
