"""``reconciler import --out DIR`` never writes through a symbolic link, not even with ``--force``.

A link as ``--out``, as a folder in it, or as a file it would write: refused before anything is written,
naming the link. Links created while it writes (simulated here between the check and the writing) are
not followed either. Real links, real files in ``tmp_path``; the CLI tests run against the emulator.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import pytest
from import_support import read_tree, run_cli

from reconciler.aws.clients import AwsConfig
from reconciler.importer import writer
from reconciler.importer.writer import ImportRefused, write_files

FILES = {"settings.yaml": "kind: Settings\n", "roles/r1.yaml": "kind: Role\n", "policies/p1.yaml": "kind: Policy\n"}
VICTIM = "the victim's own content\n"
NO_LINKS = "never writes through a symbolic link, even with --force. Nothing was written"


@pytest.fixture
def victim(tmp_path: Path) -> Path:
    """A directory outside --out holding a file that a link may point to."""
    outside = tmp_path / "victim"
    outside.mkdir()
    (outside / "file.yaml").write_text(VICTIM)
    return outside


def snapshot(*roots: Path) -> dict[str, bytes]:
    """Every file (and where every link points) under ``roots``, to compare before and after."""
    found: dict[str, bytes] = {}
    for root in roots:
        for path in [root, *root.rglob("*")]:
            if path.is_symlink():
                found[str(path)] = b"-> " + os.readlink(path).encode()
            elif path.is_file():
                found[str(path)] = path.read_bytes()
            elif path.is_dir():
                found[str(path)] = b"<dir>"
    return found


def refused(out: Path, *, force: bool, display: str = "out") -> str:
    with pytest.raises(ImportRefused) as info:
        write_files(out, FILES, force=force, display=display)
    return str(info.value)


@pytest.mark.parametrize("force", [False, True])
def test_out_itself_a_link_is_refused(tmp_path: Path, victim: Path, force: bool) -> None:
    out = tmp_path / "out"
    out.symlink_to(victim, target_is_directory=True)
    before = snapshot(tmp_path)
    assert (
        refused(out, force=force) == f"out is a symbolic link; reconciler import {NO_LINKS}; choose another "
        "--out, or replace the link by a real folder or file"
    )
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("force", [False, True])
def test_a_folder_in_out_that_is_a_link_is_refused(tmp_path: Path, victim: Path, force: bool) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "roles").symlink_to(victim, target_is_directory=True)
    before = snapshot(tmp_path)
    message = refused(out, force=force)
    assert message.startswith("1 path(s) under --out are symbolic links (out/roles); ") and NO_LINKS in message
    assert str(victim) not in message
    assert snapshot(tmp_path) == before  # not even settings.yaml, which is not under the link


@pytest.mark.parametrize("force", [False, True])
def test_a_file_to_write_that_is_a_link_is_refused(tmp_path: Path, victim: Path, force: bool) -> None:
    out = tmp_path / "out"
    (out / "roles").mkdir(parents=True)
    (out / "roles" / "r1.yaml").symlink_to(victim / "file.yaml")
    (out / "settings.yaml").symlink_to(tmp_path / "nowhere.yaml")  # dangling: still a link
    before = snapshot(tmp_path)
    message = refused(out, force=force)
    assert message.startswith("2 path(s) under --out are symbolic links (out/settings.yaml, out/roles/r1.yaml); ")
    assert snapshot(tmp_path) == before
    assert (victim / "file.yaml").read_text() == VICTIM and not (tmp_path / "nowhere.yaml").exists()


def test_what_is_in_the_way_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    out = tmp_path / "out"
    (out / "roles" / "r1.yaml").mkdir(parents=True)  # a directory where a file goes
    (out / "policies").write_text("a file where a folder goes\n")
    before = snapshot(tmp_path)
    assert refused(out, force=True) == (
        "out/roles/r1.yaml is a directory; out/policies is not a directory; nothing was written"
    )
    assert snapshot(tmp_path) == before


def test_force_replaces_a_file_and_never_writes_into_another_link_to_it(tmp_path: Path, victim: Path) -> None:
    out = tmp_path / "out"
    (out / "roles").mkdir(parents=True)
    os.link(victim / "file.yaml", out / "roles" / "r1.yaml")  # a hard link: the same file, elsewhere
    write_files(out, FILES, force=True, display="out")
    assert (out / "roles" / "r1.yaml").read_text() == "kind: Role\n"
    assert (victim / "file.yaml").read_text() == VICTIM
    assert read_tree(out) == {rel: text.encode() for rel, text in FILES.items()}  # no temporary file left


def _racing(monkeypatch: pytest.MonkeyPatch, race: Callable[[], None]) -> None:
    """Run ``race`` after the checks, before the first write."""
    check = writer._check

    def check_then_race(*args: Any, **kwargs: Any) -> None:
        check(*args, **kwargs)
        race()

    monkeypatch.setattr(writer, "_check", check_then_race)


@pytest.mark.parametrize("force", [False, True])
def test_a_folder_turned_into_a_link_while_writing_is_not_followed(
    tmp_path: Path, victim: Path, monkeypatch: pytest.MonkeyPatch, force: bool
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    _racing(monkeypatch, lambda: (out / "roles").symlink_to(victim, target_is_directory=True))
    message = refused(out, force=force)
    assert message == "out/roles became a symbolic link or a file while the import was writing; it was not followed"
    assert sorted(p.name for p in victim.iterdir()) == ["file.yaml"]


@pytest.mark.parametrize("force", [False, True])
def test_a_file_turned_into_a_link_while_writing_is_not_written_through(
    tmp_path: Path, victim: Path, monkeypatch: pytest.MonkeyPatch, force: bool
) -> None:
    out = tmp_path / "out"
    (out / "roles").mkdir(parents=True)
    _racing(monkeypatch, lambda: (out / "roles" / "r1.yaml").symlink_to(victim / "file.yaml"))
    if force:  # the link is replaced by the file, not written through
        write_files(out, FILES, force=True, display="out")
        assert not (out / "roles" / "r1.yaml").is_symlink()
        assert (out / "roles" / "r1.yaml").read_text() == "kind: Role\n"
    else:
        assert refused(out, force=False) == (
            "out/roles/r1.yaml appeared while the import was writing; it was not "
            "overwritten (1 file(s) were written before it)"
        )
    assert (victim / "file.yaml").read_text() == VICTIM


def test_without_links_the_files_are_written(tmp_path: Path) -> None:
    out = tmp_path / "a" / "b" / "out"  # its parents are created as before
    write_files(out, FILES, force=False, display="out")
    assert read_tree(out) == {rel: text.encode() for rel, text in FILES.items()}
    before = snapshot(out)
    assert refused(out, force=False).startswith("3 file(s) already exist (out/settings.yaml, out/roles/r1.yaml, ")
    assert snapshot(out) == before
    write_files(out, {**FILES, "roles/r2.yaml": "kind: Role\n"}, force=True, display="out")
    assert read_tree(out)["roles/r2.yaml"] == b"kind: Role\n"


# --- through the command line, against the emulator ------------------------------------------------

TRUST = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "s3.amazonaws.com"}, "Action": "sts:AssumeRole"}],
}


def test_import_refuses_a_link_and_writes_nothing(aws: AwsConfig, tmp_path: Path, victim: Path) -> None:
    boto3.client("iam").create_role(RoleName="r1", AssumeRolePolicyDocument=json.dumps(TRUST))
    out = tmp_path / "out"
    out.mkdir()
    (out / "roles").symlink_to(victim, target_is_directory=True)
    before = snapshot(tmp_path)
    for extra in ([], ["--force"]):
        code, text = run_cli("import", "--out", str(out), *extra)
        assert code == 1
        assert f"{out}/roles" in text and NO_LINKS in text
        assert snapshot(tmp_path) == before

    (out / "roles").unlink()
    (out / "roles").mkdir()
    (out / "roles" / "r1.yaml").symlink_to(victim / "file.yaml")
    code, text = run_cli("import", "--out", str(out), "--force")
    assert code == 1 and f"{out}/roles/r1.yaml" in text and NO_LINKS in text
    assert (victim / "file.yaml").read_text() == VICTIM and not (out / "settings.yaml").exists()

    link = tmp_path / "link"
    link.symlink_to(out, target_is_directory=True)
    code, text = run_cli("import", "--out", str(link), "--force")
    assert code == 1 and f"{link} is a symbolic link" in text
    assert not (out / "settings.yaml").exists()
