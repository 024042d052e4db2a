"""Access that ends: the manifests as in force at an instant (no AWS), and how a located bad expiresAt is refused."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest
from expiring import AFTER, BEFORE, DAY, give_expiring_access

from reconciler.clock import parse_instant
from reconciler.engine.expiry import effective, grants_of, left_text
from reconciler.errors import ManifestError
from reconciler.kinds import load_directory
from reconciler.kinds.group.guard import Group
from reconciler.kinds.role import Role
from reconciler.kinds.user import User
from reconciler.manifests import DesiredState

REPO = Path(__file__).resolve().parents[2]
END = dt.datetime(2026, 12, 2, tzinfo=dt.UTC)


@pytest.fixture
def expiring(tmp_path: Path) -> Path:
    root = tmp_path / "ds"
    shutil.copytree(REPO / "desired-state", root)
    give_expiring_access(root)
    return root


def _user(desired: DesiredState, name: str) -> User:
    user = desired.get("User", name)
    assert isinstance(user, User)
    return user


def test_expires_at_is_read_with_where_it_is_written(expiring: Path) -> None:
    desired = load_directory(expiring)
    bob = _user(desired, "bob")
    assert bob.groups == ("SageMakerEngineer", "SageMakerAdministrator")  # the plain name and the mapping
    (ends,) = bob.group_expiry.values()
    assert (ends.text, ends.at, ends.location) == (DAY, END, f"{expiring}/users/users.yaml:21:18")
    carol = _user(desired, "carol")
    assert carol.expires is not None and carol.expires.at == END
    role = desired.get("Role", "notebook-for-engineer-role")
    assert isinstance(role, Role) and role.policies == ("notebook-engineer-data", "notebook-logs")
    listed = [(g.resource, g.entry, g.path) for _, g in grants_of(desired)]
    assert listed == [
        ("Role/notebook-for-engineer-role", "attachment of policy notebook-logs", ("spec", "policies", 1)),
        ("User/bob", "membership of Group/SageMakerAdministrator", ("spec", "groups", 1)),
        ("User/carol", "User/carol", ()),
    ]


def test_before_the_end_everything_is_in_force_and_listed_as_expiring(expiring: Path) -> None:
    desired = load_directory(expiring)
    current = effective(desired, parse_instant(BEFORE))
    assert current.desired is desired and current.expired == ()
    assert [g.entry for g in current.expiring] == [
        "attachment of policy notebook-logs",
        "membership of Group/SageMakerAdministrator",
        "User/carol",
    ]
    # Earlier than Settings.expiryWarningDays (3) before the end: not even expiring.
    assert effective(desired, END - dt.timedelta(days=3, seconds=1)).expiring == ()
    assert len(effective(desired, END - dt.timedelta(days=3)).expiring) == 3


def test_at_the_end_the_expired_access_is_taken_out_and_nothing_else(expiring: Path) -> None:
    desired = load_directory(expiring)
    for at in (END, parse_instant(AFTER) + dt.timedelta(days=400)):
        current = effective(desired, at)
        assert [g.entry for g in current.expired] == [
            "attachment of policy notebook-logs",
            "membership of Group/SageMakerAdministrator",
            "User/carol",
        ]
        now = current.desired
        assert "carol" not in now.of("User")  # the whole user ended: as if its manifest were gone
        assert _user(now, "bob").groups == ("SageMakerEngineer",)
        assert _user(now, "bob").group_expiry == {}
        role = now.get("Role", "notebook-for-engineer-role")
        assert isinstance(role, Role)
        assert role.policies == ("notebook-engineer-data",)
        assert role.policy_expiry == {}
        assert role.policy_index == (0,)  # where the kept attachment is written, for findings' locations
        # The rest is the very same values: the loaded state is not touched.
        assert now.of("Policy") == desired.of("Policy")
        assert now.get("Group", "SageMakerEngineer") is desired.get("Group", "SageMakerEngineer")
        assert "carol" in desired.of("User") and _user(desired, "bob").groups[1] == "SageMakerAdministrator"


def test_an_attachment_that_ends_keeps_the_others_located_as_written(expiring: Path) -> None:
    groups = expiring / "groups" / "groups.yaml"
    groups.write_text(
        groups.read_text().replace(
            "    - use-notebook-for-engineer\n",
            f"    - policy: notebook-logs\n      expiresAt: {DAY}\n    - use-notebook-for-engineer\n",
        )
    )
    desired = load_directory(expiring)
    group = effective(desired, END).desired.get("Group", "SageMakerEngineer")
    assert isinstance(group, Group)
    assert (group.policies, group.policy_index) == (("use-notebook-for-engineer",), (1,))
    # Its finding locations (the rules' facts) still point at the line the kept attachment is on.
    from reconciler.rules.fromdesired import from_desired

    model = from_desired(effective(desired, END).desired)
    (attachment,) = model.groups["SageMakerEngineer"].attachments
    assert attachment.location == f"{expiring}/groups/groups.yaml:22:7"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("2026-02-30", "'2026-02-30' is not an RFC 3339 date"),
        ("2026-12-01T25:00:00Z", "'2026-12-01T25:00:00Z' is not an RFC 3339 date-time"),
        ("'2026-12-01T10:00:00'", "does not match the expected format"),  # no offset
        ("next week", "does not match the expected format"),
        ("20261201", "expected string, got number"),
    ],
)
def test_a_bad_expires_at_is_refused_at_its_line(expiring: Path, value: str, message: str) -> None:
    users = expiring / "users" / "users.yaml"
    users.write_text(users.read_text().replace(f"expiresAt: {DAY}   # contractor", f"expiresAt: {value}"))
    with pytest.raises(ManifestError) as raised:
        load_directory(expiring)
    (problem,) = raised.value.problems
    assert (problem.file, problem.line, problem.resource, problem.field) == (
        f"{expiring}/users/users.yaml",
        31,
        "User/carol",
        "spec.expiresAt",
    )
    assert message in problem.message


def test_a_group_named_twice_is_refused_whatever_its_forms(expiring: Path) -> None:
    users = expiring / "users" / "users.yaml"
    users.write_text(users.read_text().replace("    - name: SageMakerAdministrator", "    - name: SageMakerEngineer"))
    with pytest.raises(ManifestError) as raised:
        load_directory(expiring)
    (problem,) = raised.value.problems
    assert (problem.line, problem.field) == (20, "spec.groups[1]")
    assert "Group/SageMakerEngineer is named more than once" in problem.message


def test_left_text() -> None:
    assert left_text(dt.timedelta(days=2, hours=3, minutes=5)) == "2 d 3 h"
    assert left_text(dt.timedelta(hours=5, minutes=10)) == "5 h 10 min"
    assert left_text(dt.timedelta(minutes=40, seconds=59)) == "40 min"
    assert left_text(dt.timedelta(seconds=-5)) == "0 min"
