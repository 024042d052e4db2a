"""Hostile files and directories: symbolic links, floods of empty documents, oversized directories.

Every case is real files in ``tmp_path``; every one ends in one located problem per offending path, all
collected in one ManifestError (so nothing is planned), quickly, and without reading what a link out of
the directory points to.
"""

from __future__ import annotations

import builtins
import io
import os
import re
import time
from pathlib import Path
from typing import Any

import pytest

from reconciler import cli
from reconciler.errors import ManifestError
from reconciler.kinds import load_directory
from reconciler.manifests import files, yamlsource
from reconciler.manifests.files import MAX_DIRECTORY_BYTES, MAX_DIRECTORY_FILES, MAX_FILE_BYTES
from reconciler.manifests.yamlsource import MAX_DOCUMENTS, parse_documents, parse_documents_checked

REPO = Path(__file__).resolve().parents[2]
SETTINGS = 'apiVersion: reconciler/v1\nkind: Settings\nmetadata: {name: test}\nspec: {accountId: "123456789012"}\n'
USER = "apiVersion: reconciler/v1\nkind: User\nmetadata: {name: %s}\nspec: {}\n"
# What a link out of the directory points to: valid manifests, so that reading them would show.
SECRET = "TOP-SECRET-a8f3"
OUTSIDE_MANIFEST = USER % SECRET


@pytest.fixture
def dirs(tmp_path: Path) -> tuple[Path, Path]:
    """(the manifest directory, holding a Settings; a directory outside it, holding a manifest)."""
    root, outside = tmp_path / "manifests", tmp_path / "elsewhere"
    root.mkdir()
    outside.mkdir()
    (root / "settings.yaml").write_text(SETTINGS)
    (outside / "secret.yaml").write_text(OUTSIDE_MANIFEST)
    return root, outside


@pytest.fixture
def opened(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Every path opened by name (os.open, open, io.open) from now on; clear it when the files are set up."""
    paths: list[Any] = []
    real_os_open, real_open = os.open, builtins.open

    def os_open(path: Any, *args: Any, **kwargs: Any) -> int:
        if kwargs.get("dir_fd") is None:
            paths.append(path)
        return real_os_open(path, *args, **kwargs)

    def open_(file: Any, *args: Any, **kwargs: Any) -> Any:
        if not isinstance(file, int):
            paths.append(file)
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(os, "open", os_open)
    monkeypatch.setattr(builtins, "open", open_)
    monkeypatch.setattr(io, "open", open_)
    return paths


def problems(root: Path, display: str = "m") -> list[str]:
    with pytest.raises(ManifestError) as info:
        load_directory(root, display_root=display)
    return [str(p) for p in info.value.problems]


def never_read(outside: Path, lines: list[str], opened: list[Any]) -> None:
    """Nothing under ``outside`` was opened, and neither its content nor its path shows in ``lines``."""
    text = "\n".join(lines)
    assert SECRET not in text
    assert str(outside) not in text and "elsewhere" not in text
    assert not [p for p in map(os.path.realpath, opened) if p.startswith(os.path.realpath(outside))]


# --- symbolic links --------------------------------------------------------------------------------

OUT = "symbolic link pointing outside the manifest directory; not followed"


def test_a_file_link_out_of_the_directory_is_refused_and_never_read(dirs: tuple[Path, Path], opened: list[Any]) -> None:
    root, outside = dirs
    (root / "users").mkdir()
    (root / "users" / "stolen.yaml").symlink_to(outside / "secret.yaml")  # absolute
    (root / "relative.yml").symlink_to(Path("..") / "elsewhere" / "secret.yaml")  # relative
    opened.clear()
    lines = problems(root)
    assert lines == [f"m/relative.yml:0:0: {OUT}", f"m/users/stolen.yaml:0:0: {OUT}"]
    never_read(outside, lines, opened)
    assert any(str(p).endswith("settings.yaml") for p in opened)  # the spy does see what is read


def test_a_directory_link_out_of_the_directory_is_refused_and_never_listed(
    dirs: tuple[Path, Path], opened: list[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    root, outside = dirs
    (root / "policies").symlink_to(outside, target_is_directory=True)
    (root / "deep" / "er").mkdir(parents=True)
    (root / "deep" / "er" / "up").symlink_to(Path("../../..") / "elsewhere", target_is_directory=True)
    listed: list[str] = []
    real_scandir = os.scandir

    def scandir(path: Any) -> Any:
        listed.append(os.path.realpath(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    opened.clear()
    lines = problems(root)
    assert lines == [f"m/deep/er/up:0:0: {OUT}", f"m/policies:0:0: {OUT}"]
    never_read(outside, lines, opened + listed)
    assert os.path.realpath(root / "deep" / "er") in listed


def test_a_link_out_is_refused_whatever_its_name(dirs: tuple[Path, Path], opened: list[Any]) -> None:
    # Without following it, a link cannot be told to be a file or a directory of manifests.
    root, outside = dirs
    (root / "README.md").symlink_to(outside / "secret.yaml")
    (root / ".hidden.yaml").symlink_to(outside / "secret.yaml")  # hidden: skipped, like every hidden file
    opened.clear()
    lines = problems(root)
    assert lines == [f"m/README.md:0:0: {OUT}"]
    never_read(outside, lines, opened)


def test_a_link_out_hides_names_like_an_unreadable_file(dirs: tuple[Path, Path]) -> None:
    # The refused link may be the Settings, or the policy a role names: no cascade of "missing" problems.
    root, outside = dirs
    (root / "settings.yaml").unlink()
    (outside / "settings.yaml").write_text(SETTINGS)
    (root / "settings.yaml").symlink_to(outside / "settings.yaml")
    (root / "role.yaml").write_text(
        "apiVersion: reconciler/v1\nkind: Role\nmetadata: {name: r}\n"
        "spec: {trustedServices: [sagemaker.amazonaws.com], policies: [p]}\n"
    )
    assert problems(root) == [f"m/settings.yaml:0:0: {OUT}"]


def test_a_link_out_fails_validate_and_plan_before_any_aws_call(dirs: tuple[Path, Path]) -> None:
    root, outside = dirs
    (root / "stolen.yaml").symlink_to(outside / "secret.yaml")
    for argv in (
        ["validate", str(root)],
        ["plan", str(root), "--endpoint-url", "http://127.0.0.1:9", "--region", "ap-northeast-1"],
    ):
        out = io.StringIO()
        assert cli.run(["--log-level", "error", *argv], out) == 1
        text = out.getvalue()
        assert f"{root}/stolen.yaml:0:0: {OUT}" in text
        assert SECRET not in text and "elsewhere" not in text


def test_links_inside_the_directory_to_manifest_files_are_read_as_the_file(tmp_path: Path) -> None:
    """Decision: a link to a manifest file inside the directory is read, at the link's path."""
    root = tmp_path / "manifests"
    (root / ".shared").mkdir(parents=True)  # hidden: read only through the links
    (root / ".shared" / "settings.yaml").write_text(SETTINGS)
    (root / ".shared" / "users.yaml").write_text(USER % "alice" + "---\n" + USER % "bob")
    (root / "settings.yaml").symlink_to(Path(".shared") / "settings.yaml")
    (root / "people").mkdir()
    (root / "people" / "users.yml").symlink_to(root / ".shared" / "users.yaml")  # absolute, still inside
    (root / "notes.txt").symlink_to(Path(".shared") / "users.yaml")  # not a manifest name: ignored
    state = load_directory(root)
    assert sorted(state.of("User")) == ["alice", "bob"]
    assert state.of("User")["bob"].source is not None
    assert state.of("User")["bob"].source.file.endswith("people/users.yml")  # located at the link
    # a root that is itself a link is fine: "inside" is judged against what it resolves to
    (tmp_path / "via-link").symlink_to(root, target_is_directory=True)
    assert sorted(load_directory(tmp_path / "via-link").of("User")) == ["alice", "bob"]


def test_a_link_to_a_directory_is_refused_even_inside(tmp_path: Path) -> None:
    """Decision: directory links are not followed (they used to be skipped without a word)."""
    root = tmp_path / "m"
    (root / "real").mkdir(parents=True)
    (root / "settings.yaml").write_text(SETTINGS)
    (root / "real" / "u.yaml").write_text(USER % "u")
    (root / "alias").symlink_to("real", target_is_directory=True)
    (root / "real" / "up").symlink_to("..", target_is_directory=True)  # would be a loop if followed
    assert problems(root) == [
        "m/alias:0:0: symbolic link to a directory; not followed (only links to manifest files are)",
        "m/real/up:0:0: symbolic link to a directory; not followed (only links to manifest files are)",
    ]


def test_link_loops_and_broken_links_are_clean_errors_quickly(tmp_path: Path) -> None:
    root = tmp_path / "m"
    root.mkdir()
    (root / "settings.yaml").write_text(SETTINGS)
    (root / "a.yaml").symlink_to("b.yaml")
    (root / "b.yaml").symlink_to("a.yaml")
    (root / "self.yml").symlink_to("self.yml")
    (root / "loop").symlink_to("loop")  # any name: it leads nowhere
    (root / "gone.yaml").symlink_to("nothing-here.yaml")
    (root / "gone.txt").symlink_to("nothing-here.txt")  # not a manifest name: ignored
    start = time.perf_counter()
    lines = problems(root)
    assert time.perf_counter() - start < 2
    assert lines == [
        "m/a.yaml:0:0: symbolic link loop; not followed",
        "m/b.yaml:0:0: symbolic link loop; not followed",
        "m/gone.yaml:0:0: broken symbolic link (what it points to does not exist)",
        "m/loop:0:0: symbolic link loop; not followed",
        "m/self.yml:0:0: symbolic link loop; not followed",
    ]


def test_a_file_swapped_after_the_scan_is_not_read(dirs: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    root, outside = dirs
    (root / "u.yaml").write_text(USER % "u")
    (root / "v.yaml").write_text(USER % "v")
    real_scan = files.scan_directory

    def scan_then_swap(*args: Any) -> Any:
        found = real_scan(*args)
        (root / "u.yaml").unlink()
        (root / "u.yaml").symlink_to(outside / "secret.yaml")
        (root / "v.yaml").rename(root / "v.old")
        (root / "v.yaml").write_text(OUTSIDE_MANIFEST)  # another file than the one counted
        return found

    monkeypatch.setattr(files, "scan_directory", scan_then_swap)
    lines = problems(root)
    assert lines == [
        "m/u.yaml:1:1: cannot read file: it is a symbolic link here (not followed)",
        "m/v.yaml:1:1: file changed while the directory was read; not read",
    ]


# --- floods of empty documents ----------------------------------------------------------------------

BOMBS = {
    "separators": ("---\n" * (MAX_FILE_BYTES // 4), MAX_DOCUMENTS + 1),
    "separators and ends": ("---\n...\n" * (MAX_FILE_BYTES // 8), 2 * MAX_DOCUMENTS + 1),
    "empty mappings": ("--- {}\n" * (MAX_FILE_BYTES // 7), MAX_DOCUMENTS + 1),
}


@pytest.mark.parametrize("name", BOMBS)
def test_a_flood_of_documents_is_refused_quickly_with_a_located_problem(tmp_path: Path, name: str) -> None:
    text, line = BOMBS[name]
    assert len(text) <= MAX_FILE_BYTES  # within the size limit: the document count is what stops it
    (tmp_path / "settings.yaml").write_text(SETTINGS)
    (tmp_path / "x.yaml").write_text(text)
    start = time.perf_counter()
    lines = problems(tmp_path)
    elapsed = time.perf_counter() - start  # measured: 0.05 s (was 16 s, 16 s and 4 s)
    assert lines == [f"m/x.yaml:{line}:1: more than {MAX_DOCUMENTS} documents in one file (empty ones included)"]
    assert elapsed < 2


@pytest.mark.parametrize("name", BOMBS)
def test_both_parsers_stop_a_flood_quickly(name: str) -> None:
    text, line = BOMBS[name]
    message = f"more than {MAX_DOCUMENTS} documents in one file (empty ones included)"
    for parse in (parse_documents, parse_documents_checked):  # counted in the text first: 0.01 s
        start = time.perf_counter()
        docs, found = parse(text, "x.yaml")
        assert time.perf_counter() - start < 2
        assert not docs and [str(p) for p in found] == [f"x.yaml:{line}:1: {message}"]
    # The composers count documents too (the first one needs no "---"): each stops a flood by itself.
    composers: list[Any] = [yamlsource._BoundedLoader]  # pure Python: 0.15-0.3 s (was 14-25 s)
    if yamlsource._FAST_LOADER is not None:
        composers.append(yamlsource._FAST_LOADER)  # libyaml: 0.02-0.05 s (was 0.8-3.8 s)
    for composer in composers:
        start = time.perf_counter()
        with pytest.raises(yamlsource._Invalid, match=re.escape(message)):
            yamlsource._compose_all(composer(text), "x.yaml", [])
        assert time.perf_counter() - start < 2


def test_as_many_documents_as_the_limit_load(tmp_path: Path) -> None:
    (tmp_path / "all.yaml").write_text(SETTINGS + "---\n" * (MAX_DOCUMENTS - 1))
    assert load_directory(tmp_path).settings.account_id == "123456789012"
    for parse in (parse_documents, parse_documents_checked):  # one more: counted by the composers
        docs, found = parse(USER % "u" + "---\n" * MAX_DOCUMENTS, "f.yaml")
        assert not docs and [str(p) for p in found] == [
            f"f.yaml:{MAX_DOCUMENTS + 4}:1: more than {MAX_DOCUMENTS} documents in one file (empty ones included)"
        ]


def test_the_alias_expansion_bound_covers_the_whole_file(monkeypatch: pytest.MonkeyPatch) -> None:
    # Each document under the per-document bound, but many of them: bounded per file too.
    monkeypatch.setattr(yamlsource, "MAX_NODES", 100)
    monkeypatch.setattr(yamlsource, "MAX_FILE_NODES", 250)
    doc = "---\na: &a [x, x, x, x, x, x, x, x, x]\nb: [*a, *a, *a, *a, *a, *a, *a]\n"  # 1 + 10 + 71 nodes
    for parse in (parse_documents, parse_documents_checked):
        docs, found = parse(doc * 3, "f.yaml")
        assert len(docs) == 3 and not found
        docs, found = parse(doc * 4, "f.yaml")
        assert len(docs) == 3  # the documents before the problem, as for any other problem
        assert [str(p) for p in found] == [
            "f.yaml:11:14: the documents of this file expand to more than 250 nodes in all (alias bomb?)"
        ]
        _, found = parse(
            "a: &a [x, x, x, x, x, x, x, x, x]\nb: [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n", "f.yaml"
        )
        assert [p.message for p in found] == ["document expands to more than 100 nodes (alias bomb?)"]


# --- the size of a directory -------------------------------------------------------------------------


def test_too_many_files_is_one_problem_before_any_is_read(
    tmp_path: Path, opened: list[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    # A lower limit than the real one (20,000 files take seconds to write): the same code path.
    monkeypatch.setattr(files, "MAX_DIRECTORY_FILES", 100)
    root = tmp_path / "m"
    (root / "users").mkdir(parents=True)
    (root / "settings.yaml").write_text(SETTINGS)
    for i in range(100):
        (root / "users" / f"u{i}.yaml").write_text("not: [valid\n")  # reading any would be a problem
    opened.clear()
    assert problems(root) == ["m:0:0: more than 100 manifest files; the limit for a directory is 100"]
    assert not [p for p in opened if str(p).endswith(".yaml")]
    (root / "users" / "u99.yaml").unlink()  # at the limit: read (and its problems reported)
    assert len(problems(root)) == 99


def test_too_many_bytes_is_one_problem_before_any_is_read(tmp_path: Path, opened: list[Any]) -> None:
    root = tmp_path / "m"
    root.mkdir()
    (root / "settings.yaml").write_text(SETTINGS)
    count = MAX_DIRECTORY_BYTES // MAX_FILE_BYTES + 1
    for i in range(count):  # sparse files: each as big as a file may be, and no disk used
        with (root / f"big{i:02d}.yaml").open("wb") as stream:
            stream.truncate(MAX_FILE_BYTES)
    opened.clear()
    total = count * MAX_FILE_BYTES + len(SETTINGS)
    assert problems(root) == [
        f"m:0:0: the manifest files total {total} bytes; the limit for a directory is "
        f"{MAX_DIRECTORY_BYTES} bytes (64 MiB)"
    ]
    assert not [p for p in opened if str(p).endswith(".yaml")]


def test_the_limits_and_the_link_rule_are_documented() -> None:
    manifests = (REPO / "docs" / "manifests.md").read_text(encoding="utf-8")
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    safe = next(p for p in readme.split("\n\n") if p.startswith("Loading is safe"))
    for text in (manifests, safe):
        assert f"{MAX_DIRECTORY_FILES:,} files" in text
        assert f"{MAX_DIRECTORY_BYTES // 1024 // 1024} MiB" in text
        assert f"{MAX_DOCUMENTS:,} documents" in text
        assert "symbolic link" in text
