"""The Settings found before a directory is loaded (``peek_settings``): where an account's read may start from, and
every case where it must not (the directory is then loaded first, as without it)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from reconciler.kinds import load_directory
from reconciler.manifests.model import OwnershipTag
from reconciler.manifests.peek import peek_settings

REPO = Path(__file__).resolve().parents[2]

SETTINGS = """apiVersion: reconciler/v1
kind: Settings
metadata:
  name: s
spec:
  accountId: "111122223333"
{extra}"""


def write(root: Path, rel: str, text: str) -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_the_example_settings_are_what_the_loader_loads(tmp_path: Path) -> None:
    shutil.copytree(REPO / "desired-state", tmp_path / "ds")
    peek = peek_settings(tmp_path / "ds")
    loaded = load_directory(tmp_path / "ds").settings
    assert peek is not None
    assert (peek.file, peek.account_id, peek.region, peek.ownership_tag) == (
        "settings.yaml",
        loaded.account_id,
        loaded.region,
        loaded.ownership_tag,
    )


def test_a_settings_file_is_looked_at_first_and_the_schema_default_tag_applies(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", "apiVersion: reconciler/v1\nkind: Group\nmetadata: {name: g}\nspec: {}\n")
    write(tmp_path, "z-settings.yml", "# the account\n---\n" + SETTINGS.format(extra="  region: eu-west-1\n"))
    peek = peek_settings(tmp_path)
    assert peek is not None
    assert (peek.file, peek.account_id, peek.region) == ("z-settings.yml", "111122223333", "eu-west-1")
    assert peek.ownership_tag == OwnershipTag("managed-by", "reconciler")


def test_settings_among_other_documents_of_a_top_file_are_found(tmp_path: Path) -> None:
    group = "apiVersion: reconciler/v1\nkind: Group\nmetadata: {name: g}\nspec: {}\n"
    tag = "  ownershipTag: {key: owner, value: platform}\n"
    write(tmp_path, "all.yaml", group + "---\n" + SETTINGS.format(extra=tag))
    peek = peek_settings(tmp_path)
    assert peek is not None
    assert peek.region is None
    assert peek.ownership_tag == OwnershipTag("owner", "platform")


@pytest.mark.parametrize(
    ("files", "why"),
    [
        ({"sub/settings.yaml": SETTINGS.format(extra="")}, "only at the top of the directory"),
        ({"settings.yaml": SETTINGS.format(extra="") + "---\n" + SETTINGS.format(extra="")}, "two Settings"),
        ({"settings.yaml": SETTINGS.format(extra="").replace('"111122223333"', '"${account.id}"')}, "a variable"),
        ({"settings.yaml": SETTINGS.format(extra="").replace('"111122223333"', "111122223333")}, "not a string"),
        ({"settings.yaml": SETTINGS.format(extra="").replace('"111122223333"', '"1234"')}, "not an account id"),
        ({"settings.yaml": SETTINGS.format(extra="  region: Tokyo\n")}, "not a region"),
        ({"settings.yaml": SETTINGS.format(extra="  ownershipTag: {key: 1, value: x}\n")}, "a tag key not a string"),
        ({"settings.yaml": SETTINGS.format(extra="  region: [unclosed\n")}, "a YAML error"),
        ({"settings.yaml": "apiVersion: reconciler/v1\nkind: Settings\nspec: []\n"}, "a spec not a mapping"),
        ({"readme.yaml": "# kind: Settings\n"}, "no Settings"),
        ({}, "no file"),
    ],
)
def test_no_head_start_when_the_settings_are_not_plainly_there(tmp_path: Path, files: dict[str, str], why: str) -> None:
    for rel, text in files.items():
        write(tmp_path, rel, text)
    assert peek_settings(tmp_path) is None, why


def test_no_head_start_for_a_directory_that_does_not_exist(tmp_path: Path) -> None:
    assert peek_settings(tmp_path / "missing") is None


def test_the_peek_takes_the_account_and_region_patterns_of_the_settings_schema() -> None:
    # The peek checks them without loading the schema (before the loader does); they must not drift apart.
    import json

    from reconciler.manifests import peek
    from reconciler.manifests.model import DEFAULT_OWNERSHIP_TAG, SETTINGS_SCHEMA
    from reconciler.manifests.schema import schema_dir

    spec = json.loads((schema_dir() / SETTINGS_SCHEMA).read_text())["properties"]["spec"]["properties"]
    assert spec["accountId"]["pattern"] == f"^{peek._ACCOUNT_ID.pattern}$"
    assert spec["region"]["pattern"] == f"^{peek._REGION.pattern}$"
    # and the model's default ownership tag (which the peek takes too) is the schema's
    assert spec["ownershipTag"]["default"] == {"key": DEFAULT_OWNERSHIP_TAG.key, "value": DEFAULT_OWNERSHIP_TAG.value}
