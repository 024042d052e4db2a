"""YAML files to plain data with a source position for every node.

PyYAML composes a node graph (which keeps line and column for every node); this module walks that
graph itself instead of using PyYAML's constructor, so that it can:

- keep ``file:line:col`` for every value and every mapping key,
- refuse duplicate keys (PyYAML silently keeps the last one),
- bound the work: file size, documents per file, nesting depth and the number of nodes after alias
  expansion (per document and per file), so a "billion laughs" document, a 100,000-level nesting or
  a million empty ``---`` documents is an error, not a hang or a crash,
- construct only plain data (str, int, float, bool, None, list, dict): any tag beyond the core
  schema is refused, and timestamps stay strings (``Version: 2012-10-17`` unquoted is a date in
  YAML 1.1, but IAM wants the string),
- read mapping keys as written: ``Null:`` (an IAM condition operator) or ``on:`` stay strings.
"""

from __future__ import annotations

import re
import sys
import unicodedata
from array import array
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from reconciler.errors import ManifestProblem

MAX_DOCUMENTS = 10_000  # per file, empty ones included
MAX_DEPTH = 64
MAX_NODES = 200_000  # per document, after alias expansion
MAX_FILE_NODES = 500_000  # per file: a real 4 MiB file of manifests has about 250,000
MAX_INT_BITS = 128

PathKey = tuple[str | int, ...]

_STR = "tag:yaml.org,2002:str"
_PLAIN_TAGS = {
    _STR,
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:null",
}
_TIMESTAMP = "tag:yaml.org,2002:timestamp"
_MERGE = "tag:yaml.org,2002:merge"
_MAP = "tag:yaml.org,2002:map"
_SEQ = "tag:yaml.org,2002:seq"

EMPTY_FILE = "file holds no manifest (empty file)"
#: How a fleet's variable begins (``${account.id}``, ...: ``reconciler.manifests.fleet``).
VARIABLE_MARK = "${account."

# Characters that must not reach a problem line raw: controls (a newline would split the line, an
# escape sequence would drive the terminal), invisible format characters (bidi overrides), line and
# paragraph separators, lone surrogates (not even encodable) and unassigned code points.
_HIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp", "Cn"})
_NAMED_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def printable(text: str) -> str:
    """``text`` with every control or invisible character escaped (``\\n``, ``\\x1b``, ``\\u2028``).

    Backslashes are left alone, so the function is idempotent and ordinary text is unchanged.
    """
    if text.isprintable():
        return text
    out: list[str] = []
    for char in text:
        if char == " " or unicodedata.category(char) not in _HIDDEN_CATEGORIES:
            out.append(char)
        elif char in _NAMED_ESCAPES:
            out.append(_NAMED_ESCAPES[char])
        else:
            code = ord(char)
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}")
    return "".join(out)


@dataclass(frozen=True, order=True, slots=True)
class Pos:
    """A 1-based line and column. (Slots: a large directory keeps hundreds of thousands of them.)"""

    line: int
    col: int


class _Shape:
    """Where each path's position is in a document's ``coords``: shared by every document whose paths are the
    same, in the same order (every manifest of a kind written alike)."""

    __slots__ = ("keys", "values")

    def __init__(self, values: tuple[PathKey, ...], keys: tuple[PathKey, ...]) -> None:
        self.values = {path: i for i, path in enumerate(values)}
        self.keys = {path: i for i, path in enumerate(keys, len(values))}


# Shapes by their paths: bounded, for a long-running controller (a document keeps the shape it was given).
_SHAPES: dict[tuple[tuple[PathKey, ...], tuple[PathKey, ...]], _Shape] = {}
_MAX_SHAPES = 10_000
_EMPTY_SHAPE = _Shape((), ())
_COL_BITS = 32
_COL_MASK = (1 << _COL_BITS) - 1


def _unpack(packed: int) -> Pos:
    return Pos(packed >> _COL_BITS, packed & _COL_MASK)


class _Positions(Mapping[PathKey, Pos]):
    """A document's positions of values (or of keys) by path, read from its packed coordinates."""

    __slots__ = ("_coords", "_index")

    def __init__(self, index: dict[PathKey, int], coords: array[int]) -> None:
        self._index, self._coords = index, coords

    def __getitem__(self, path: PathKey) -> Pos:
        return _unpack(self._coords[self._index[path]])

    def __contains__(self, path: object) -> bool:
        return path in self._index

    def __iter__(self) -> Iterator[PathKey]:
        return iter(self._index)

    def __len__(self) -> int:
        return len(self._index)


@dataclass
class Document:
    """One YAML document of a file, as plain data, with the position of every node.

    The positions are kept packed, one 64-bit line-and-column per node in an array, and the paths they belong to
    in a :class:`_Shape` shared by the documents written alike: a directory of 12,000 manifests kept 45 MB of
    position objects and dictionaries before (two per node), about 7 MB now.
    """

    file: str
    index: int
    data: Any
    start: Pos
    # Whether a string value mentions ``${account.`` (a fleet's variable): the builder tells, so that the documents
    # without one (nearly all) are not walked again to find them (``reconciler.manifests.fleet.variable_paths``).
    mentions_variables: bool = field(default=True, repr=False, compare=False)
    _shape: _Shape = field(default=_EMPTY_SHAPE, repr=False, compare=False)
    _coords: array[int] = field(default_factory=lambda: array("Q"), repr=False, compare=False)

    @property
    def values(self) -> Mapping[PathKey, Pos]:
        """The position of the value at each path."""
        return _Positions(self._shape.values, self._coords)

    @property
    def keys(self) -> Mapping[PathKey, Pos]:
        """The position of the key of each mapping entry, by the entry's path."""
        return _Positions(self._shape.keys, self._coords)

    def _freeze(self, values: dict[PathKey, int], keys: dict[PathKey, int]) -> None:
        """Keep the packed positions the builder recorded (``values`` and ``keys``: path -> packed position)."""
        paths = (tuple(values), tuple(keys))
        shape = _SHAPES.get(paths)
        if shape is None:
            if len(_SHAPES) >= _MAX_SHAPES:
                _SHAPES.clear()
            shape = _SHAPES[paths] = _Shape(*paths)
        self._shape = shape
        self._coords = array("Q", [*values.values(), *keys.values()])

    def pos(self, path: PathKey, *, key: bool = False) -> Pos:
        """Position of the node at ``path`` (its key when ``key``), or of its nearest ancestor."""
        shape, coords = self._shape, self._coords
        p = tuple(path)
        while True:
            if key and p in shape.keys:
                return _unpack(coords[shape.keys[p]])
            if p in shape.values:
                return _unpack(coords[shape.values[p]])
            if not p:
                return self.start
            p = p[:-1]


class _Invalid(Exception):
    def __init__(self, pos: Pos, message: str) -> None:
        super().__init__(message)
        self.pos = pos
        self.message = message


def _tag(node: Node) -> str:
    return str(node.tag).replace("tag:yaml.org,2002:", "!!")


def _pos(node: Node) -> Pos:
    return Pos(node.start_mark.line + 1, node.start_mark.column + 1)


def _packed(node: Node) -> int:
    """``_pos(node)`` packed into one int (what a document keeps)."""
    mark = node.start_mark
    return (mark.line + 1) << _COL_BITS | (mark.column + 1)


class _BoundedLoader(yaml.SafeLoader):
    """SafeLoader whose composer refuses nesting deeper than MAX_DEPTH (PyYAML recurses there)."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: Node | None, index: Any) -> Node | None:
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                mark = self.peek_event().start_mark  # type: ignore[no-untyped-call]
                raise _Invalid(
                    Pos(mark.line + 1, mark.column + 1),
                    f"nesting deeper than {MAX_DEPTH} levels",
                )
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


# Paths are shared between documents: every manifest of a kind has the same ("spec", "policies", 0)...
# One tuple per distinct path (and interned key strings) instead of one per node of every document
# keeps a large directory's positions small. Bounded, for a long-running controller.
_PATHS: dict[PathKey, PathKey] = {}
_MAX_PATHS = 200_000
_INTERN_MAX = 64


def _child(path: PathKey, step: str | int) -> PathKey:
    child = (*path, step)
    if len(_PATHS) >= _MAX_PATHS:
        _PATHS.clear()
    return _PATHS.setdefault(child, child)


class _Builder:
    """Turns one composed node graph into plain data, recording positions."""

    def __init__(self, doc: Document, spent: int = 0) -> None:
        self.doc = doc
        self.values: dict[PathKey, int] = {}
        self.keys: dict[PathKey, int] = {}
        self.nodes = spent  # counts the nodes of the file's earlier documents too
        self.limit = min(spent + MAX_NODES, MAX_FILE_NODES)
        self.scalars = SafeConstructor()
        self.mentions_variables = False

    def build(self, node: Node, path: PathKey, depth: int) -> Any:
        self.nodes += 1
        if self.nodes > self.limit:
            if self.nodes > MAX_FILE_NODES:
                raise _Invalid(
                    _pos(node),
                    f"the documents of this file expand to more than {MAX_FILE_NODES} nodes in all (alias bomb?)",
                )
            raise _Invalid(_pos(node), f"document expands to more than {MAX_NODES} nodes (alias bomb?)")
        if depth > MAX_DEPTH:
            raise _Invalid(_pos(node), f"nesting deeper than {MAX_DEPTH} levels (recursive alias?)")
        self.values.setdefault(path, _packed(node))
        if isinstance(node, ScalarNode):
            return self._scalar(node)
        if isinstance(node, SequenceNode):
            if node.tag != _SEQ:
                raise _Invalid(_pos(node), f"unsupported YAML tag {_tag(node)} (only plain data is allowed)")
            return [self.build(item, _child(path, i), depth + 1) for i, item in enumerate(node.value)]
        if isinstance(node, MappingNode):
            if node.tag != _MAP:
                raise _Invalid(_pos(node), f"unsupported YAML tag {_tag(node)} (only plain data is allowed)")
            result: dict[str, Any] = {}
            explicit: set[str] = set()
            merges: list[Node] = []
            for key_node, value_node in node.value:
                if isinstance(key_node, ScalarNode) and key_node.tag == _MERGE:
                    merges.append(value_node)
                    continue
                key = self._key(key_node)
                child = _child(path, key)
                if key in explicit:
                    first = _unpack(self.keys[child])
                    raise _Invalid(_pos(key_node), f"duplicate key '{printable(key)}' (first at line {first.line})")
                explicit.add(key)
                self.keys[child] = _packed(key_node)
                result[key] = self.build(value_node, child, depth + 1)
            for merge in merges:
                self._merge(merge, result, path, depth)
            return result
        raise _Invalid(_pos(node), "unsupported YAML node")

    def _merge(self, node: Node, result: dict[str, Any], path: PathKey, depth: int) -> None:
        sources = node.value if isinstance(node, SequenceNode) else [node]
        for source in sources:
            if not isinstance(source, MappingNode):
                raise _Invalid(_pos(source), "a merge key '<<' takes a mapping or a list of mappings")
            merged = self.build(source, (*path, "<<"), depth + 1)
            for key, value in merged.items():
                if key not in result:
                    result[key] = value
                    self.keys.setdefault((*path, key), _packed(source))
                    self.values.setdefault((*path, key), _packed(source))

    def _key(self, node: Node) -> str:
        if not isinstance(node, ScalarNode):
            raise _Invalid(_pos(node), "mapping keys must be plain strings")
        if node.tag not in _PLAIN_TAGS and node.tag != _TIMESTAMP:
            raise _Invalid(_pos(node), f"unsupported YAML tag {_tag(node)} (only plain data is allowed)")
        return sys.intern(str(node.value))

    def _scalar(self, node: ScalarNode) -> Any:
        if node.tag == _TIMESTAMP:
            return str(node.value)
        if node.tag == _STR:  # most scalars; short ones ("Allow", "2012-10-17", action names) repeat a lot
            text = str(node.value)
            if VARIABLE_MARK in text:
                self.mentions_variables = True
            return sys.intern(text) if len(text) <= _INTERN_MAX else text
        if node.tag not in _PLAIN_TAGS:
            raise _Invalid(_pos(node), f"unsupported YAML tag {_tag(node)} (only plain data is allowed)")
        try:
            value = self.scalars.construct_object(node)
        # SafeConstructor raises KeyError for "!!bool maybe" and IndexError for an empty "!!int".
        except (yaml.YAMLError, ValueError, OverflowError, KeyError, IndexError) as exc:
            raise _Invalid(_pos(node), f"invalid {_tag(node)} value {str(node.value)[:40]!r}") from exc
        if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > MAX_INT_BITS:
            raise _Invalid(_pos(node), f"integer too large (more than {MAX_INT_BITS} bits)")
        return value


def _is_empty(node: Node) -> bool:
    return isinstance(node, ScalarNode) and node.tag == "tag:yaml.org,2002:null" and node.value == ""


def _yaml_problem(file: str, exc: yaml.YAMLError, text: str) -> ManifestProblem:
    if isinstance(exc, yaml.reader.ReaderError):
        position = max(0, min(exc.position, len(text)))
        line = text.count("\n", 0, position) + 1
        col = position - (text.rfind("\n", 0, position) + 1) + 1
        code = exc.character if isinstance(exc.character, int) else ord(str(exc.character)[:1] or "?")
        return ManifestProblem(
            file,
            line,
            col,
            None,
            None,
            f"unacceptable character U+{code:04X} ({exc.reason}); remove it or quote it escaped",
        )
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    line, col = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
    problem = getattr(exc, "problem", None) or str(exc)
    context = getattr(exc, "context", None)
    message = f"YAML syntax error: {problem}" + (f" ({context})" if context else "")
    if "\\t" in message or "\t" in message:
        message += "; tabs cannot be used for indentation in YAML, use spaces"
    return ManifestProblem(file, line, col, None, None, message)


# libyaml's composer (C) when PyYAML was built with it: about 60 times faster than the pure-Python
# one, which was most of the time of loading a large directory. libyaml caps nesting at 1,000 levels
# itself, so a deep document is an error there too, never a crash.
_FAST_LOADER: type[Any] | None = getattr(yaml, "CSafeLoader", None)
# Text the fast path leaves to the reference: characters the pure-Python reader refuses; tabs (libyaml
# accepts "key:<TAB>value", PyYAML does not); "!" (libyaml resolves an empty "!"-tagged scalar to a
# string, PyYAML to null); a byte-order mark inside the text (libyaml skips it, PyYAML keeps it).
# Such files are rare in manifests, and merely slower.
_SLOW_ONLY = re.compile(f"[\t!\ufeff]|{yaml.reader.Reader.NON_PRINTABLE.pattern}")


_TOO_MANY_DOCUMENTS = f"more than {MAX_DOCUMENTS} documents in one file (empty ones included)"
# "---" at the start of a line, then a blank or the end: a document starts (or the text is invalid).
_DOCUMENT_START = re.compile("[\n\r\x85\u2028\u2029]---(?=[ \t\r\n\x85\u2028\u2029]|\\Z)")


def _document_flood(text: str, display: str) -> ManifestProblem | None:
    """The problem of a file that starts more than MAX_DOCUMENTS documents with "---", found in the text.

    A flood of empty documents then costs a scan, not a composition. (The composers count documents
    too: the first one may have no "---".)
    """
    if text.count("---") <= MAX_DOCUMENTS:
        return None
    for n, match in enumerate(_DOCUMENT_START.finditer("\n" + text), 1):
        if n > MAX_DOCUMENTS:
            end = match.start()  # where "---" is in text
            breaks = sum(text.count(b, 0, end) for b in "\n\r\x85\u2028\u2029") - text.count("\r\n", 0, end)
            return ManifestProblem(display, breaks + 1, 1, None, None, _TOO_MANY_DOCUMENTS)
    return None


def parse_documents(text: str, display: str) -> tuple[list[Document], list[ManifestProblem]]:
    """Parse every document of one file. Stops at the first YAML error in the file.

    A file is composed by libyaml when it can be; any problem there (or text in ``_SLOW_ONLY``)
    sends the file through the pure-Python loader, whose errors are the ones reported. Whenever both
    accept a text they compose the same node graph, and the same walk turns it into data (tested on
    generated documents); libyaml also tolerates a few malformed constructs PyYAML refuses (``|#``).
    """
    flood = _document_flood(text, display)
    if flood is not None:
        return [], [flood]
    if _FAST_LOADER is not None and not _SLOW_ONLY.search(text):
        try:
            docs = _compose_all(_FAST_LOADER(text), display, [])
        except (_Invalid, yaml.YAMLError, RecursionError):
            pass
        else:
            if docs:
                return docs, []
    return parse_documents_checked(text, display)


def _compose_all(loader: Any, display: str, docs: list[Document]) -> list[Document]:
    """Append every document ``loader`` composes to ``docs`` (kept as far as it got when it raises)."""
    index = spent = 0
    try:
        while loader.check_node():
            index += 1
            if index > MAX_DOCUMENTS:  # the texts _document_flood lets through
                mark = loader.peek_event().start_mark  # PyYAML: the "---"; libyaml: the node after it
                docs.clear()  # the file is refused as a whole
                raise _Invalid(Pos(mark.line + 1, mark.column + 1), _TOO_MANY_DOCUMENTS)
            node = loader.get_node()
            if node is None or _is_empty(node):
                continue
            doc = Document(display, index, None, _pos(node))
            builder = _Builder(doc, spent)
            doc.data = builder.build(node, (), 0)
            doc._freeze(builder.values, builder.keys)
            doc.mentions_variables = builder.mentions_variables
            spent = builder.nodes
            docs.append(doc)
    finally:
        loader.dispose()
    return docs


def parse_documents_checked(text: str, display: str) -> tuple[list[Document], list[ManifestProblem]]:
    """:func:`parse_documents` with the pure-Python loader only: the reference, and the error reporter."""
    flood = _document_flood(text, display)
    if flood is not None:
        return [], [flood]
    docs: list[Document] = []
    try:
        # The reader checks characters as soon as the loader is built (control characters raise).
        loader = _BoundedLoader(text)
        _compose_all(loader, display, docs)
    except _Invalid as exc:
        return docs, [ManifestProblem(display, exc.pos.line, exc.pos.col, None, None, exc.message)]
    except yaml.YAMLError as exc:
        return docs, [_yaml_problem(display, exc, text)]
    except RecursionError:
        return docs, [ManifestProblem(display, 1, 1, None, None, "document nested too deeply")]
    if not docs:
        return docs, [ManifestProblem(display, 1, 1, None, None, EMPTY_FILE)]
    return docs, []
