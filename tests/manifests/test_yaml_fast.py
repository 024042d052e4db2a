"""libyaml's composer (the fast path) and PyYAML's pure-Python one (the reference) agree.

:func:`parse_documents` composes with libyaml when it can and falls back to the pure-Python loader on
any problem, whose error is then reported. That is sound if, whenever both accept a text, they give
the very same documents: data, every value and key position, and document starts. Checked here on
generated documents (dumped in many styles) and on text from a YAML-ish alphabet that is mostly
invalid. (libyaml tolerates a few malformed constructs that PyYAML refuses, such as ``|#``; the
texts where the two accept but read differently, with "!", tabs or an inner byte-order mark, never
take the fast path.)
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from reconciler.manifests import yamlsource
from reconciler.manifests.yamlsource import Document, parse_documents, parse_documents_checked

pytestmark = pytest.mark.skipif(yamlsource._FAST_LOADER is None, reason="PyYAML built without libyaml")

REPO = Path(__file__).resolve().parents[2]


def _shape(docs: list[Document]) -> list[tuple[object, ...]]:
    """Data and positions, except where an *empty* value is (``{a: }``, ``?`` at the end of a file):
    the parsers place it a column or a line apart, next to its key either way."""

    def value_pos(doc: Document, path: tuple[str | int, ...]) -> tuple[int, ...]:
        p = doc.values[path]
        node: object = doc.data
        for step in path:
            node = node[step]  # type: ignore[index]
        return () if node is None else (p.line, p.col)

    return [
        (
            d.index,
            d.data,
            (d.start.line, d.start.col),
            sorted((k, value_pos(d, k)) for k in d.values),
            sorted((k, (p.line, p.col)) for k, p in d.keys.items()),
        )
        for d in docs
    ]


def _fast(text: str) -> list[Document] | None:
    if yamlsource._SLOW_ONLY.search(text):  # parse_documents never tries these
        return None
    try:
        return yamlsource._compose_all(yamlsource._FAST_LOADER(text), "f.yaml", [])  # type: ignore[misc]
    except (yamlsource._Invalid, yaml.YAMLError):
        return None


def _agree(text: str) -> None:
    fast = _fast(text)
    docs, problems = parse_documents_checked(text, "f.yaml")
    result, result_problems = parse_documents(text, "f.yaml")
    if fast and not problems:
        assert _shape(fast) == _shape(docs), "both accept the text but read it differently"
    if fast:  # libyaml tolerates a few malformed constructs PyYAML refuses ("|#"): its reading is used
        assert _shape(result) == _shape(fast) and not result_problems
    else:
        assert _shape(result) == _shape(docs) and result_problems == problems


scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**6), 10**6),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12),
    st.sampled_from(["2012-10-17", "Null", "on", "yes", "~", "0x1F", "1e3", "*", "arn:aws:s3:::b/*", "a: b", "#x"]),
)
data = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=25,
)
styles = st.fixed_dictionaries(
    {
        "default_flow_style": st.sampled_from([False, True, None]),
        "allow_unicode": st.booleans(),
        "width": st.sampled_from([20, 80, 1000]),
        "indent": st.sampled_from([2, 4]),
        "explicit_start": st.booleans(),
    }
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(data, min_size=1, max_size=3), styles)
def test_dumped_documents_compose_the_same(documents: list[object], style: dict[str, object]) -> None:
    _agree(yaml.safe_dump_all(documents, **style))  # type: ignore[call-overload]


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(st.sampled_from(list("ab1:- \n\t[]{},'\"#&*!|>?%@`~.\u00e9\u3042\ufeff\x85\u2028")), max_size=60))
@example("a: 1\na: 2\n")
@example("k: &x [*x]\n")
@example("- " * 80 + "x\n")
@example("a:\tb\n")
def test_arbitrary_text_never_differs(text: str) -> None:
    _agree(text)


def test_the_shipped_manifests_take_the_fast_path_and_agree() -> None:
    files = sorted((REPO / "desired-state").rglob("*.yaml")) + sorted((REPO / "tests" / "fixtures").rglob("*.yaml"))
    assert files
    for path in files:
        text = path.read_text(encoding="utf-8")
        assert _fast(text), path
        _agree(text)
