"""Loading only the files a commit changed (``load_changes``): the same desired state as loading the whole
directory, every check across documents made again, and a whole load asked for where a part cannot tell."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from reconciler.errors import ManifestError
from reconciler.kinds import load_changes, load_directory
from reconciler.manifests.changes import NotIncremental
from reconciler.manifests.model import DesiredState

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def example(tmp_path: Path) -> Path:
    root = tmp_path / "ds"
    shutil.copytree(REPO / "desired-state", root)
    return root


def same(a: DesiredState, b: DesiredState) -> None:
    """The same settings and resources, each where the same file and line say."""
    assert a.settings == b.settings
    assert {k: dict(v) for k, v in a.resources.items() if v} == {k: dict(v) for k, v in b.resources.items() if v}
    for resource in b:
        other = a.get(resource.kind, resource.name)
        assert other is not None and other.source is not None and resource.source is not None
        assert other.source.where() == resource.source.where(), resource.ref


def changed_only(root: Path, tmp_path: Path, *paths: str) -> Path:
    """A directory holding only ``paths`` of ``root`` (what the controller writes of a commit)."""
    part = tmp_path / "part"
    shutil.rmtree(part, ignore_errors=True)
    for path in paths:
        (part / path).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(root / path, part / path)
    part.mkdir(exist_ok=True)
    return part


def test_the_changed_files_and_the_previous_load_make_the_whole_directory(example: Path, tmp_path: Path) -> None:
    previous = load_directory(example, display_root="desired-state")
    roles = example / "roles" / "notebook-roles.yaml"
    roles.write_text(roles.read_text().replace("maxSessionDuration: 3600", "maxSessionDuration: 7200"))
    users = example / "users" / "users.yaml"
    users.write_text(users.read_text().replace("name: carol", "name: dave"))  # a rename, a user gone
    studio = example / "studio" / "studio.yaml"
    studio.write_text(studio.read_text().replace("carol", "dave"))
    (example / "groups" / "groups.yaml").rename(example / "groups" / "moved.yaml")  # a file renamed
    paths = ["roles/notebook-roles.yaml", "users/users.yaml", "studio/studio.yaml", "groups/moved.yaml"]
    desired = load_changes(
        previous,
        changed_only(example, tmp_path, *paths),
        changed=paths,
        removed=["groups/groups.yaml"],
        display_root="desired-state",
        fingerprint="git:test",
    )
    same(desired, load_directory(example, display_root="desired-state"))
    assert desired.fingerprint == "git:test"
    assert "dave" in desired.of("User") and "carol" not in desired.of("User")
    assert desired.get("Role", "notebook-for-administrator-role").max_session_duration == 7200  # type: ignore[union-attr]


def test_checks_across_files_are_made_again(example: Path, tmp_path: Path) -> None:
    previous = load_directory(example, display_root="desired-state")
    # a policy removed that a role still attaches (the role's file did not change), and a duplicate user
    policies = example / "policies" / "notebook-data.yaml"
    policies.write_text(policies.read_text().replace("name: notebook-admin-data", "name: renamed-data"))
    (example / "users" / "again.yaml").write_text(
        "apiVersion: reconciler/v1\nkind: User\nmetadata: {name: alice}\nspec: {groups: [SageMakerEngineer]}\n"
    )
    paths = ["policies/notebook-data.yaml", "users/again.yaml"]
    with pytest.raises(ManifestError) as raised:
        load_changes(
            previous,
            changed_only(example, tmp_path, *paths),
            changed=paths,
            removed=[],
            display_root="desired-state",
            fingerprint="git:test",
        )
    text = "\n".join(str(p) for p in raised.value.problems)
    assert (
        "desired-state/roles/notebook-roles.yaml" in text and "no Policy manifest named 'notebook-admin-data'" in text
    )
    assert "duplicate User/alice; first defined at desired-state/users/users.yaml" in text


def test_a_file_that_makes_the_directory_a_fleet_needs_the_whole_load(example: Path, tmp_path: Path) -> None:
    previous = load_directory(example, display_root="desired-state")
    (example / "accounts.yaml").write_text(
        'apiVersion: reconciler/v1\nkind: Account\nmetadata: {name: dev}\nspec: {accountId: "111111111111"}\n'
    )
    with pytest.raises(NotIncremental):
        load_changes(
            previous,
            changed_only(example, tmp_path, "accounts.yaml"),
            changed=["accounts.yaml"],
            removed=[],
            display_root="desired-state",
            fingerprint="git:test",
        )
