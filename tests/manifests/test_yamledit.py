"""Cutting entries out of a manifest file leaves every other byte as it was."""

from __future__ import annotations

import pytest

from reconciler.manifests.yamledit import Cut, CutError, cut
from reconciler.manifests.yamlsource import Pos, parse_documents

FILE = """\
# yaml-language-server: $schema=../../schemas/manifest.schema.json
# People get or lose access by a commit to this file.
apiVersion: reconciler/v1
kind: User
metadata:
  name: alice
spec:
  groups: [admins, {name: raw-writers, expiresAt: 2026-12-01}, engineers]
---
# bob is on the migration
apiVersion: reconciler/v1
kind: User
metadata:
  name: bob
spec:
  groups:
    - engineers          # his team
    - name: raw-writers  # ticket 42
      expiresAt: 2026-12-01
    # keep this comment
    - name: admins
      expiresAt: 2026-12-01
  consoleAccess: true
---
apiVersion: reconciler/v1
kind: User
metadata:
  name: carol
spec:
  expiresAt: 2026-12-01
  groups:
    - name: raw-writers
      expiresAt: 2026-12-01
"""


def starts(text: str) -> list[Pos]:
    docs, problems = parse_documents(text, "f.yaml")
    assert not problems
    return [d.start for d in docs]


ALICE, BOB, CAROL = starts(FILE)


def without(text: str, *parts: str) -> str:
    for part in parts:
        assert text.count(part) == 1, part
        text = text.replace(part, "")
    return text


def test_block_items_go_with_their_lines_and_nothing_else_moves() -> None:
    out = cut(FILE, [Cut(BOB, ("spec", "groups", 1))])
    assert out == without(FILE, "    - name: raw-writers  # ticket 42\n      expiresAt: 2026-12-01\n")
    both = cut(FILE, [Cut(BOB, ("spec", "groups", 1)), Cut(BOB, ("spec", "groups", 2))])
    assert both == without(
        FILE,
        "    - name: raw-writers  # ticket 42\n      expiresAt: 2026-12-01\n",
        "    - name: admins\n      expiresAt: 2026-12-01\n",
    )
    assert "    # keep this comment\n" in str(both)


def test_the_last_item_of_a_block_list_leaves_an_empty_list() -> None:
    out = cut(FILE, [Cut(CAROL, ("spec", "groups", 0))])
    assert out == FILE.replace("  groups:\n    - name: raw-writers\n      expiresAt: 2026-12-01\n", "  groups: []\n")


@pytest.mark.parametrize(
    ("items", "written"),
    [
        ((1,), "[admins, engineers]"),
        ((0,), "[{name: raw-writers, expiresAt: 2026-12-01}, engineers]"),
        ((2,), "[admins, {name: raw-writers, expiresAt: 2026-12-01}]"),
        ((1, 2), "[admins]"),
        ((0, 1), "[engineers]"),
        ((0, 1, 2), "[]"),
    ],
)
def test_flow_items_go_with_one_separator(items: tuple[int, ...], written: str) -> None:
    out = cut(FILE, [Cut(ALICE, ("spec", "groups", i)) for i in items])
    assert out == FILE.replace("[admins, {name: raw-writers, expiresAt: 2026-12-01}, engineers]", written)


def test_documents_go_whole_the_head_of_the_file_stays() -> None:
    first_doc = FILE[FILE.index("apiVersion") : FILE.index("---\n# bob")]
    assert cut(FILE, [Cut(ALICE, ())]) == without(FILE, first_doc)
    middle = FILE[
        FILE.index("---\n# bob") : FILE.index("---\napiVersion: reconciler/v1\nkind: User\nmetadata:\n  name: carol")
    ]
    assert cut(FILE, [Cut(BOB, ())]) == without(FILE, middle)
    last = FILE[FILE.index("---\napiVersion: reconciler/v1\nkind: User\nmetadata:\n  name: carol") :]
    # A document going takes its own list cuts with it.
    assert cut(FILE, [Cut(CAROL, ()), Cut(CAROL, ("spec", "groups", 0))]) == without(FILE, last)
    assert cut(FILE, [Cut(ALICE, ()), Cut(BOB, ()), Cut(CAROL, ())]) is None  # nothing left: the file goes


def test_what_is_not_there_is_an_error() -> None:
    with pytest.raises(CutError):
        cut(FILE, [Cut(Pos(99, 1), ())])
    with pytest.raises(CutError):
        cut(FILE, [Cut(BOB, ("spec", "groups", 7))])
    with pytest.raises(CutError):
        cut(FILE, [Cut(BOB, ("spec", "consoleAccess"))])


def test_windows_line_endings_stay() -> None:
    text = FILE.replace("\n", "\r\n")
    out = cut(text, [Cut(starts(text)[1], ("spec", "groups", 1))])
    assert out == text.replace("    - name: raw-writers  # ticket 42\r\n      expiresAt: 2026-12-01\r\n", "")
