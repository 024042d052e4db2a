"""``reconciler expired [DIR] [--write]``: what ended and what ends soon; the expired entries cut out of git, the rest
of every file byte for byte as it was. No AWS: it reads the manifests only."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from clirun import cli_here
from example_edits import without_documents
from expiring import AFTER, BEFORE, give_expiring_access

from reconciler.clock import frozen
from reconciler.kinds import load_directory

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def ds(tmp_path: Path) -> Path:
    root = tmp_path / "ds"
    shutil.copytree(REPO / "desired-state", root)
    give_expiring_access(root)
    return root


def snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*.yaml"))}


def test_before_the_end_the_entries_are_listed_as_ending(ds: Path) -> None:
    with frozen(BEFORE):
        status, out = cli_here("expired", str(ds))
    assert status == 0
    assert out.splitlines() == [
        "expiring  2026-12-01  Role/notebook-for-engineer-role: attachment of policy notebook-logs, in 1 d 12 h  "
        f"({ds}/roles/notebook-roles.yaml:28:18)",
        "expiring  2026-12-01  User/bob: membership of Group/SageMakerAdministrator, in 1 d 12 h  "
        f"({ds}/users/users.yaml:21:18)",
        f"expiring  2026-12-01  User/carol, in 1 d 12 h  ({ds}/users/users.yaml:31:14)",
        "No expired entry in the manifests.",
    ]
    with frozen("2026-11-20T00:00:00Z"):
        assert cli_here("expired", str(ds)) == (
            0,
            "No expired entry in the manifests.\nNothing ends within 3 day(s).\n",
        )
        status, out = cli_here("expired", str(ds), "--within", "30")
    assert status == 0 and out.count("expiring  ") == 3


def test_after_the_end_they_are_listed_as_expired_exit_2(ds: Path) -> None:
    with frozen(AFTER):
        status, out = cli_here("expired", str(ds))
        json_status, text = cli_here("expired", str(ds), "--output", "json")
    assert status == 2
    assert out.splitlines()[:3] == [
        "expired   2026-12-01  Role/notebook-for-engineer-role: attachment of policy notebook-logs  "
        f"({ds}/roles/notebook-roles.yaml:28:18)",
        f"expired   2026-12-01  User/bob: membership of Group/SageMakerAdministrator  ({ds}/users/users.yaml:21:18)",
        f"expired   2026-12-01  User/carol  ({ds}/users/users.yaml:31:14)",
    ]
    assert "3 expired entries are still in the manifests" in out
    data = json.loads(text)
    assert json_status == 2
    assert data["at"] == "2026-12-02T00:00:00+00:00"
    assert [(e["resource"], e["entry"], e["path"]) for e in data["expired"]] == [
        ("Role/notebook-for-engineer-role", "attachment of policy notebook-logs", ["spec", "policies", 1]),
        ("User/bob", "membership of Group/SageMakerAdministrator", ["spec", "groups", 1]),
        ("User/carol", "User/carol", []),
    ]
    assert data["expiring"] == [] and data["written"] is None


def test_write_refuses_when_what_is_left_would_not_load(ds: Path) -> None:
    before = snapshot(ds)
    with frozen(AFTER):
        status, out = cli_here("expired", str(ds), "--write")
    assert status == 1
    # carol's Studio profile names her: removing her manifest alone would leave a dangling reference
    assert (
        f"{ds}/studio/studio.yaml:37:15: StudioUserProfile/carol: spec.for.user: no User manifest named 'carol'" in out
    )
    assert "nothing was written" in out
    assert snapshot(ds) == before


def test_write_cuts_the_expired_entries_and_keeps_every_other_byte(ds: Path) -> None:
    studio = ds / "studio" / "studio.yaml"
    studio.write_text(without_documents(studio.read_text(), "StudioUserProfile", "carol"))  # as a person would
    before = snapshot(ds)
    with frozen(AFTER):
        status, out = cli_here("expired", str(ds), "--write")
    assert status == 0, out
    assert "Removed 3 expired entries from 2 file(s):" in out
    after = snapshot(ds)
    assert {name for name in after if after[name] != before[name]} == {"users/users.yaml", "roles/notebook-roles.yaml"}
    users = before["users/users.yaml"].decode()
    carol = users[users.index("---\napiVersion: reconciler/v1\nkind: User\nmetadata:\n  name: carol") :]
    bob_admin = "    - name: SageMakerAdministrator   # the migration, ticket 42\n      expiresAt: 2026-12-01\n"
    assert after["users/users.yaml"].decode() == users.replace(carol, "").replace(bob_admin, "")
    roles = before["roles/notebook-roles.yaml"].decode()
    assert after["roles/notebook-roles.yaml"].decode() == roles.replace(
        "    - policy: notebook-logs\n      expiresAt: 2026-12-01\n", ""
    )
    assert (
        after["users/users.yaml"]
        .decode()
        .startswith("# yaml-language-server: $schema=../../schemas/manifest.schema.json\n# People get or lose access")
    )
    # It loads, and nothing is left to expire.
    desired = load_directory(ds)
    assert sorted(desired.of("User")) == ["alice", "bob"]
    with frozen(AFTER):
        assert cli_here("expired", str(ds)) == (
            0,
            "No expired entry in the manifests.\nNothing ends within 3 day(s).\n",
        )
        assert cli_here("expired", str(ds), "--write")[0] == 0  # nothing to do


def test_invalid_manifests_exit_1(ds: Path) -> None:
    (ds / "users" / "users.yaml").write_text("kind: User\nmetadata: {name: x\n")
    status, out = cli_here("expired", str(ds))
    assert status == 1 and "YAML syntax error" in out


def test_an_exception_that_ends_is_listed_and_cut_out_like_any_entry(tmp_path: Path) -> None:
    root = tmp_path / "ds"
    shutil.copytree(REPO / "desired-state", root)
    settings = root / "settings.yaml"
    kept = "    - {rule: NB001, resource: NotebookInstance/none, reason: kept, owner: sec}  # stays\n"
    settings.write_text(
        settings.read_text()
        + "  exceptions:\n"
        + "    - rule: LP003\n      resource: Role/gone\n      reason: migration\n      owner: sec\n"
        + "      expiresAt: 2026-12-01\n"
        + kept
    )
    with frozen("2026-11-30T12:00:00Z"):
        status, out = cli_here("expired", str(root))
    assert status == 0
    assert "expiring  2026-12-01  Settings/secure-sagemaker: exception LP003 Role/gone (owner sec), in 1 d 12 h" in out
    with frozen("2026-12-02T00:00:00Z"):
        status, out = cli_here("expired", str(root))
        assert status == 2 and "expired   2026-12-01  Settings/secure-sagemaker: exception LP003 Role/gone" in out
        status, out = cli_here("expired", str(root), "--write")
    assert status == 0, out
    text = settings.read_text()
    assert "Role/gone" not in text and text.endswith("  exceptions:\n" + kept)
    assert [e.resource for e in load_directory(root).settings.exceptions] == ["NotebookInstance/none"]
