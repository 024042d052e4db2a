"""Cutting entries out of a manifest file's text, leaving every other byte as it was (comments, layout, quoting).

``reconciler expired --write`` removes the entries whose ``expiresAt`` passed: an item of a list (a membership, a
policy attachment), or a whole document (a user). The loader keeps where each document starts (``Document.start``);
this composes the file again (PyYAML keeps where every node starts and ends) and cuts text:

- an item of a block list: its lines, from its ``-`` to the end of the line of its last value (a comment on that
  line goes with it; comment lines around it stay); the last item of a list leaves ``[]`` after the key;
- an item of a flow list (``[a, {name: b, expiresAt: c}]``): the item and one separator;
- a document: its ``---`` line to the next document's ``---`` (the first document: from its first line, so the
  comments heading the file stay); the only document of a file: the file (``None``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import yaml
from yaml.events import DocumentStartEvent
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from reconciler.manifests.yamlsource import PathKey, Pos

__all__ = ["Cut", "CutError", "cut"]


class CutError(ValueError):
    """The text does not hold what is to be cut (the file changed since it was loaded)."""


@dataclass(frozen=True)
class Cut:
    """What to remove: the node at ``path`` of the document whose root node starts at ``document`` (``()``: the
    whole document)."""

    document: Pos
    path: PathKey


@dataclass
class _Doc:
    marker: int | None  # where its "---" is, when it has one
    root: Node


def _documents(text: str) -> list[_Doc]:
    markers: list[int | None] = []
    for event in yaml.parse(text, Loader=yaml.SafeLoader):
        if isinstance(event, DocumentStartEvent):
            mark = event.start_mark
            markers.append(int(mark.index) if event.explicit and mark is not None else None)
    roots = list(yaml.compose_all(text, Loader=yaml.SafeLoader))
    return [_Doc(marker, root) for marker, root in zip(markers, roots, strict=True) if not _empty(root)]


def _empty(node: Node) -> bool:
    """An empty document (``---`` with nothing after it): the loader skips it too."""
    return isinstance(node, ScalarNode) and node.tag == "tag:yaml.org,2002:null" and node.value == ""


def _line_start(text: str, index: int) -> int:
    return text.rfind("\n", 0, index) + 1


def _line_end(text: str, index: int) -> int:
    end = text.find("\n", index)
    return len(text) if end < 0 else end + 1


def _last_end(node: Node) -> int:
    """Where the last character of ``node``'s own text is (block collections end at the next token)."""
    if isinstance(node, MappingNode) and not node.flow_style and node.value:
        return _last_end(node.value[-1][1])
    if isinstance(node, SequenceNode) and not node.flow_style and node.value:
        return _last_end(node.value[-1])
    return int(node.end_mark.index)


def _child(node: Node, step: str | int) -> tuple[Node, Node | None]:
    """The node at ``step`` under ``node``, and its key node (for a mapping)."""
    if isinstance(node, MappingNode) and isinstance(step, str):
        for key, value in node.value:
            if isinstance(key, ScalarNode) and key.value == step:
                return value, key
    if isinstance(node, SequenceNode) and isinstance(step, int) and 0 <= step < len(node.value):
        return node.value[step], None
    raise CutError(f"no {step!r} here")


def _find(root: Node, path: PathKey) -> tuple[Node, Node | None]:
    """The node at ``path`` (a list item's list), and the key node of the list."""
    node, key = root, None
    for step in path:
        node, found = _child(node, step)
        key = found if found is not None else key
    return node, key


def _list_cuts(text: str, listing: SequenceNode, key: Node | None, gone: set[int]) -> list[tuple[int, int, str]]:
    """The (start, end, replacement) edits that take the items ``gone`` out of ``listing``."""
    items = listing.value
    if len(gone) == len(items):
        if listing.flow_style:
            return [(listing.start_mark.index, listing.end_mark.index, "[]")]
        if key is None:
            raise CutError("a block list that is not a mapping's value")
        colon = text.index(":", key.end_mark.index)
        return [(colon + 1, _line_end(text, _last_end(listing)), " []\n")]
    if not listing.flow_style:
        edits = []
        for index in gone:
            dash = text.rindex("-", 0, items[index].start_mark.index)
            edits.append((_line_start(text, dash), _line_end(text, _last_end(items[index])), ""))
        return edits
    edits = []
    index = 0
    while index < len(items):
        if index not in gone:
            index += 1
            continue
        first = index
        while index < len(items) and index in gone:
            index += 1
        if index < len(items):  # a run followed by a kept item: up to it
            edits.append((items[first].start_mark.index, items[index].start_mark.index, ""))
        else:  # a run at the end: from the kept item before it
            edits.append((items[first - 1].end_mark.index, items[-1].end_mark.index, ""))
    return edits


def cut(text: str, cuts: Iterable[Cut]) -> str | None:
    """``text`` without what ``cuts`` name; None when no document is left (the file should go). Raises CutError."""
    documents = _documents(text)
    by_start = {Pos(d.root.start_mark.line + 1, d.root.start_mark.column + 1): i for i, d in enumerate(documents)}
    whole: set[int] = set()
    lists: dict[tuple[int, PathKey], set[int]] = {}
    for one in cuts:
        if one.document not in by_start:
            raise CutError(f"no document starts at line {one.document.line}")
        position = by_start[one.document]
        if not one.path:
            whole.add(position)
        elif not isinstance(one.path[-1], int):
            raise CutError(f"{'.'.join(map(str, one.path))} is not a list item")
        else:
            lists.setdefault((position, one.path[:-1]), set()).add(one.path[-1])
    if len(whole) == len(documents):
        return None
    edits: list[tuple[int, int, str]] = []
    for (position, path), gone in lists.items():
        if position in whole:
            continue
        listing, key = _find(documents[position].root, path)
        if not isinstance(listing, SequenceNode) or max(gone) >= len(listing.value):
            raise CutError(f"{'.'.join(map(str, path))} is not a list with these items")
        edits += _list_cuts(text, listing, key, gone)
    for position in whole:
        doc = documents[position]
        begin = _line_start(text, doc.marker if doc.marker is not None else doc.root.start_mark.index)
        later = documents[position + 1] if position + 1 < len(documents) else None
        end = len(text) if later is None or later.marker is None else _line_start(text, later.marker)
        edits.append((begin, end, ""))
    out = text
    for start, end, replacement in sorted(edits, reverse=True):
        out = out[:start] + replacement + out[end:]
    return out
