"""Edits of a copy of the shipped example that give access an end date, as a person would write them: bob is an
administrator until the 1st, the engineers' notebook role has notebook-logs until the 1st, carol's whole user ends
on the 1st. (A date ends at the end of that day UTC: on 2026-12-02T00:00:00Z.)"""

from __future__ import annotations

from pathlib import Path

DAY = "2026-12-01"
#: Before the end (within the default three days of warning), and after it.
BEFORE = "2026-11-30T12:00:00Z"
AFTER = "2026-12-02T00:00:00Z"


def replace_once(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert text.count(old) == 1, f"{old!r} is not exactly once in {path}"
    path.write_text(text.replace(old, new))


def give_expiring_access(desired_state: Path, day: str = DAY) -> None:
    users = desired_state / "users" / "users.yaml"
    replace_once(
        users,
        "  name: bob\nspec:\n  groups: [SageMakerEngineer]\n",
        "  name: bob\nspec:\n  groups:\n    - SageMakerEngineer\n"
        f"    - name: SageMakerAdministrator   # the migration, ticket 42\n      expiresAt: {day}\n",
    )
    replace_once(users, "  name: carol\nspec:\n", f"  name: carol\nspec:\n  expiresAt: {day}   # contractor\n")
    roles = desired_state / "roles" / "notebook-roles.yaml"
    replace_once(
        roles,
        "    - notebook-engineer-data\n    - notebook-logs\n",
        f"    - notebook-engineer-data\n    - policy: notebook-logs\n      expiresAt: {day}\n",
    )
