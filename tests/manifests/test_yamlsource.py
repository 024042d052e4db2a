"""Hostile and malformed input: every shape gets one clear, located problem, never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.errors import ManifestError
from reconciler.kinds import load_directory
from reconciler.manifests.yamlsource import MAX_DEPTH, parse_documents

SETTINGS = """\
apiVersion: reconciler/v1
kind: Settings
metadata: {name: test}
spec: {accountId: "123456789012"}
"""


def problems_for(tmp_path: Path, name: str, content: bytes | str) -> list[str]:
    (tmp_path / "settings.yaml").write_text(SETTINGS)
    target = tmp_path / name
    target.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, str):
        target.write_text(content, encoding="utf-8")
    else:
        target.write_bytes(content)
    with pytest.raises(ManifestError) as info:
        load_directory(tmp_path, display_root="m")
    return [str(p) for p in info.value.problems]


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (
            "a: [1, 2\n",
            "m/x.yaml:2:1: YAML syntax error: expected ',' or ']', but got '<stream end>'"
            " (while parsing a flow sequence)",
        ),
        (
            "kind: Policy\n\tspec: {}\n",
            "m/x.yaml:2:1: YAML syntax error: found character '\\t' that cannot"
            " start any token (while scanning for the next token); tabs cannot be"
            " used for indentation in YAML, use spaces",
        ),
        ("", "m/x.yaml:1:1: file holds no manifest (empty file)"),
        ("# only a comment\n", "m/x.yaml:1:1: file holds no manifest (empty file)"),
        ("kind: Role\nkind: Policy\n", "m/x.yaml:2:1: duplicate key 'kind' (first at line 1)"),
        ("- just\n- a list\n", "m/x.yaml:1:1: a manifest must be a mapping with apiVersion, kind, metadata and spec"),
        ("hello\n", "m/x.yaml:1:1: a manifest must be a mapping with apiVersion, kind, metadata and spec"),
        (
            "kind: !!python/object/apply:os.system [echo hi]\n",
            "m/x.yaml:1:7: unsupported YAML tag !!python/object/apply:os.system (only plain data is allowed)",
        ),
        ("kind: !Ref x\n", "m/x.yaml:1:7: unsupported YAML tag !Ref (only plain data is allowed)"),
        ("a: !!binary aGVsbG8=\n", "m/x.yaml:1:4: unsupported YAML tag !!binary (only plain data is allowed)"),
        ("? [a, b]\n: c\n", "m/x.yaml:1:3: mapping keys must be plain strings"),
        ("x: &a [*a]\n", "m/x.yaml:1:4: nesting deeper than 64 levels (recursive alias?)"),
    ],
)
def test_malformed_yaml_is_one_located_problem(tmp_path: Path, content: str, expected: str) -> None:
    assert problems_for(tmp_path, "x.yaml", content) == [expected]


def test_binary_file(tmp_path: Path) -> None:
    assert problems_for(tmp_path, "x.yaml", b"kind: Role\n\x00\x01\x02") == [
        "m/x.yaml:2:1: binary file (NUL byte), not YAML"
    ]


def test_non_utf8_file_names_the_byte_and_position(tmp_path: Path) -> None:
    assert problems_for(tmp_path, "x.yaml", b"kind: Role\nname: caf\xe9\n") == [
        "m/x.yaml:2:10: not valid UTF-8 (byte 0xe9)"
    ]


def test_utf8_bom_is_accepted(tmp_path: Path) -> None:
    (tmp_path / "settings.yaml").write_bytes(b"\xef\xbb\xbf" + SETTINGS.encode())
    assert load_directory(tmp_path).settings.account_id == "123456789012"


def test_billion_laughs_is_refused_quickly(tmp_path: Path) -> None:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for prev, cur in zip("abcdefgh", "bcdefghi", strict=True):
        lines.append(f"{cur}: &{cur} [" + ",".join([f"*{prev}"] * 9) + "]")
    problems = problems_for(tmp_path, "x.yaml", "\n".join(lines) + "\n")
    assert len(problems) == 1
    assert "document expands to more than 200000 nodes (alias bomb?)" in problems[0]


def test_deep_nesting_is_refused(tmp_path: Path) -> None:
    problems = problems_for(tmp_path, "x.yaml", "a: " + "[" * 50_000 + "]" * 50_000 + "\n")
    assert problems == [f"m/x.yaml:1:{MAX_DEPTH + 3}: nesting deeper than {MAX_DEPTH} levels"]


def test_oversized_file_is_refused(tmp_path: Path) -> None:
    problems = problems_for(tmp_path, "x.yaml", "a: b\n" + "#" * (5 * 1024 * 1024) + "\n")
    assert len(problems) == 1
    assert problems[0].startswith("m/x.yaml:1:1: file is ") and "the limit is 4194304" in problems[0]


def test_an_unparseable_file_does_not_cascade_into_reference_errors(tmp_path: Path) -> None:
    (tmp_path / "role.yaml").write_text(
        "apiVersion: reconciler/v1\nkind: Role\nmetadata: {name: r}\n"
        "spec: {trustedServices: [sagemaker.amazonaws.com], policies: [p]}\n"
    )
    problems = problems_for(tmp_path, "policy.yaml", "kind: Policy\nmetadata: {name: p\n")
    assert len(problems) == 1 and problems[0].startswith("m/policy.yaml:")


def test_timestamps_and_yaml11_keys_stay_strings() -> None:
    docs, problems = parse_documents("Version: 2012-10-17\nNull: {a: b}\non: yes\n", "f.yaml")
    assert problems == []
    assert docs[0].data == {"Version": "2012-10-17", "Null": {"a": "b"}, "on": True}


def test_merge_keys_do_not_override_explicit_keys() -> None:
    docs, problems = parse_documents("base: &b {x: 1, y: 2}\nm:\n  <<: *b\n  y: 3\n", "f.yaml")
    assert problems == []
    assert docs[0].data["m"] == {"x": 1, "y": 3}


def test_positions_are_recorded_for_values_and_keys() -> None:
    docs, _ = parse_documents("a:\n  b:\n    - x\n    - y\n", "f.yaml")
    doc = docs[0]
    assert (doc.pos(("a", "b", 1)).line, doc.pos(("a", "b", 1)).col) == (4, 7)
    assert (doc.pos(("a", "b"), key=True).line, doc.pos(("a", "b"), key=True).col) == (2, 3)
    # a path that does not exist falls back to the nearest ancestor
    assert doc.pos(("a", "b", 1, "missing")) == doc.pos(("a", "b", 1))


def test_several_documents_and_trailing_separator(tmp_path: Path) -> None:
    (tmp_path / "all.yaml").write_text(
        SETTINGS + "---\n" + ("apiVersion: reconciler/v1\nkind: User\nmetadata: {name: u}\nspec: {}\n---\n")
    )
    state = load_directory(tmp_path)
    assert list(state.of("User")) == ["u"]


def test_hidden_directories_and_other_extensions_are_ignored(tmp_path: Path) -> None:
    (tmp_path / "settings.yml").write_text(SETTINGS)
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "bad.yaml").write_text("not: [valid")
    (tmp_path / "notes.txt").write_text("not: [valid")
    assert load_directory(tmp_path).count() == 0


def test_empty_directory_is_an_error_not_an_empty_state(tmp_path: Path) -> None:
    with pytest.raises(ManifestError) as info:
        load_directory(tmp_path, display_root="m")
    assert [str(p) for p in info.value.problems] == ["m:0:0: no *.yaml or *.yml manifest found"]


def test_missing_directory_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match="not a directory"):
        load_directory(tmp_path / "nope")


def test_documents_written_alike_share_their_paths_and_keep_their_own_positions() -> None:
    text = "kind: Role\nspec:\n  policies: [a, b]\n---\n\n\nkind: Role\nspec:\n     policies: [c, d]\n"
    docs, problems = parse_documents(text, "f.yaml")
    assert problems == []
    first, second = docs
    assert first._shape is second._shape  # one index of paths for both
    assert (first.pos(("spec", "policies", 1)).line, first.pos(("spec", "policies", 1)).col) == (3, 17)
    assert (second.pos(("spec", "policies", 1)).line, second.pos(("spec", "policies", 1)).col) == (9, 20)
    assert (second.pos(("spec", "policies"), key=True).line, second.pos(("spec", "policies"), key=True).col) == (9, 6)
    assert dict(second.keys) == {
        ("kind",): second.pos(("kind",), key=True),
        ("spec",): second.pos(("spec",), key=True),
        ("spec", "policies"): second.pos(("spec", "policies"), key=True),
    }
    assert ("spec", "policies", 0) in second.values and ("spec", "nothing") not in second.values


def test_positions_beyond_sixteen_bits_are_kept_whole() -> None:
    far = " " * 70_000
    text = "".join(f"a{i}: 1\n" for i in range(70_000)) + f"b: {{{far}c: 2}}\n"
    docs, problems = parse_documents(text, "f.yaml")
    assert problems == []
    pos = docs[0].pos(("b", "c"), key=True)
    assert (pos.line, pos.col) == (70_001, 70_005)


def test_merged_keys_are_located_at_the_merge() -> None:
    docs, _ = parse_documents("base: &b {x: 1}\nm:\n  y: 2\n  <<: *b\n", "f.yaml")
    doc = docs[0]
    assert doc.data["m"] == {"y": 2, "x": 1}
    assert (doc.pos(("m", "x")).line, doc.pos(("m", "x"), key=True).line) == (1, 1)
    assert doc.pos(("m", "y"), key=True).line == 3
