"""What always proceeds, as a plan of its own (no AWS: plans made by hand)."""

from __future__ import annotations

import datetime as dt

from reconciler.engine.plan import Action, Change, FieldChange, Plan
from reconciler.engine.urgent import URGENT_NOTE, urgent_plan
from reconciler.kinds.context import Grant, Removal
from reconciler.manifests.model import Expiry

END = Expiry("2026-12-01", dt.datetime(2026, 12, 2, tzinfo=dt.UTC))
CAROL = Grant(
    "User/carol",
    "User/carol",
    (),
    END,
    (Removal("User/carol"), Removal("Group/engineers", "members", "carol")),
)
BOB_ADMIN = Grant(
    "User/bob", "membership of Group/admins", ("spec", "groups", 1), END, (Removal("Group/admins", "members", "bob"),)
)
LOGS = "arn:aws:iam::123456789012:policy/logs"


def group_update(name: str, live: list[str], want: list[str], **others: tuple[object, object]) -> Change:
    fields = [FieldChange(("members",), live, want)]
    fields += [FieldChange((field,), old, new) for field, (old, new) in others.items()]
    return Change(
        Action.UPDATE,
        "Group",
        name,
        fields=tuple(fields),
        desired={"members": want, **{f: new for f, (_, new) in others.items()}},
        live={"members": live, "path": "/", **{f: old for f, (old, _) in others.items()}},
        fingerprint="sha256:x",
    )


def test_only_the_removal_of_what_ended_and_invariant_repairs() -> None:
    plan = Plan(
        "123456789012",
        "ap-northeast-1",
        changes=(
            # carol ended (expired user): her membership goes; mallory (drift) and dave (a new commit) wait
            group_update("engineers", ["bob", "carol", "mallory"], ["bob", "dave"], policies=([LOGS], [])),
            # bob's membership ended
            group_update("admins", ["alice", "bob"], ["alice"]),
            Change(Action.DELETE, "User", "carol", live={"path": "/"}, fingerprint="sha256:c"),
            # drift that breaks an invariant: whole
            Change(
                Action.UPDATE,
                "Role",
                "notebook",
                fields=(FieldChange(("policies",), ["admin"], []), FieldChange(("description",), "x", "y")),
                fingerprint="sha256:r",
            ),
            # anything else waits
            Change(Action.UPDATE, "Role", "other", fields=(FieldChange(("description",), "x", "y"),)),
            Change(Action.CREATE, "User", "dave"),
        ),
        unchanged={"Role": 3},
        expired=(CAROL, BOB_ADMIN),
    )
    urgent = urgent_plan(plan, frozenset({"Role/notebook", "Role/other-not-in-plan"}))
    assert [(c.action.value, c.ref) for c in urgent] == [
        ("update", "Role/notebook"),
        ("update", "Group/admins"),
        ("update", "Group/engineers"),
        ("delete", "User/carol"),
    ]
    by_ref = {c.ref: c for c in urgent}
    engineers = by_ref["Group/engineers"]
    assert [(f.field, f.old, f.new) for f in engineers.fields] == [
        ("members", ("bob", "carol", "mallory"), ("bob", "mallory"))
    ]
    # what apply executes: the account's view, with only that value gone
    assert engineers.desired == {"members": ("bob", "mallory"), "path": "/", "policies": (LOGS,)}
    assert engineers.fingerprint == "sha256:x" and engineers.notes == ()
    assert [(f.old, f.new) for f in by_ref["Group/admins"].fields] == [(("alice", "bob"), ("alice",))]
    assert by_ref["Role/notebook"] == next(c for c in plan if c.ref == "Role/notebook")  # whole
    # the rails weigh what the reconciler owns: what waits counts as unchanged
    assert dict(urgent.unchanged) == {"Role": 4}
    assert urgent.notes[-1] == URGENT_NOTE and urgent.expired == plan.expired


def test_nothing_to_do_is_an_empty_plan() -> None:
    plan = Plan("123456789012", "ap-northeast-1", changes=(group_update("admins", ["alice", "mallory"], ["alice"]),))
    assert urgent_plan(plan, frozenset()).empty
