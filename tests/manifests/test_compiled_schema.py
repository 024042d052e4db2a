"""The compiled schemas (reconciler.manifests.compiled) answer as jsonschema does: the same validity, the same
defaults filled in (in the same order), and a document they refuse is left exactly as it was, for jsonschema to
name its problems. On every manifest of the example and of the test tables, and on mutations of them."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from manifests import test_kinds  # the loader's tables of valid and invalid manifests

from reconciler.kinds import REGISTRY
from reconciler.manifests import schema
from reconciler.manifests.compiled import Added, compile_schema

REPO = Path(__file__).resolve().parents[2]
SCHEMAS = {
    **{name: kind.schema for name, kind in REGISTRY.items()},
    "Settings": "settings.schema.json",
    "Account": "account.schema.json",
}


def _ordered(value: Any) -> Any:
    """``value`` with the order of every mapping's keys made visible (what ``==`` on dicts ignores)."""
    if isinstance(value, dict):
        return [(k, _ordered(v)) for k, v in value.items()]
    if isinstance(value, list):
        return [_ordered(v) for v in value]
    return value


def _interpreted(schema_file: str, document: Any) -> bool:
    return not any(True for _ in schema._validator(schema_file).iter_errors(document))


def _compiled(schema_file: str, document: Any) -> tuple[bool, Added]:
    check = schema._compiled_check(schema_file)
    assert check is not None
    added: Added = []
    return check(document, True, added), added


def assert_same(schema_file: str, document: Any) -> bool:
    """The compiled schema and jsonschema agree on ``document``; returns whether it is valid."""
    original = copy.deepcopy(document)
    by_jsonschema, by_compiled = copy.deepcopy(document), copy.deepcopy(document)
    valid = _interpreted(schema_file, by_jsonschema)
    assert _compiled(schema_file, by_compiled)[0] == valid
    if valid:
        assert _ordered(by_compiled) == _ordered(by_jsonschema)  # the same defaults, in the same order
    else:  # what validate() does: take the defaults out again, then jsonschema reports on the document as it was
        again = copy.deepcopy(document)
        _, added = _compiled(schema_file, again)
        for mapping, key in reversed(added):
            del mapping[key]
        assert _ordered(again) == _ordered(original)
    return valid


def test_every_schema_of_the_product_is_compiled() -> None:
    assert {name: schema._compiled_check(file) is not None for name, file in SCHEMAS.items()} == dict.fromkeys(
        SCHEMAS, True
    )


def test_a_keyword_that_is_not_compiled_leaves_the_schema_to_jsonschema() -> None:
    validates = frozenset(schema._DefaultingValidator.VALIDATORS)
    assert compile_schema({"anyOf": [{"type": "string"}]}, validates, schema._compiled) is None
    assert compile_schema({"properties": {"a": {"$ref": "#/x"}}}, validates, schema._compiled) is None
    assert compile_schema({"description": "x", "x-message": {}}, validates, schema._compiled) is not None


def _documents() -> Iterator[tuple[str, dict[str, Any]]]:
    """Every manifest of desired-state/ and of the loader's test tables (valid and invalid ones)."""
    for path in sorted((REPO / "desired-state").rglob("*.yaml")):
        for document in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            if isinstance(document, dict) and document.get("kind") in SCHEMAS:
                yield str(document["kind"]), document
    tables = [
        test_kinds.VALID,
        test_kinds.DEFAULTS,
        test_kinds.SETTINGS_CASES,
        test_kinds.POLICY_CASES,
        test_kinds.DOCUMENT_CASES,
        test_kinds.STATEMENT_CASES,
        test_kinds.ROLE_CASES,
        test_kinds.GROUP_CASES,
        test_kinds.USER_CASES,
        test_kinds.BUCKET_CASES,
        test_kinds.NOTEBOOK_CASES,
    ]
    for table in tables:
        for case in table:
            kind, spec = case.values[0], case.values[1]
            name = case.values[2] if len(case.values) > 3 and isinstance(case.values[2], str) else None
            try:
                document = yaml.safe_load(test_kinds.manifest(kind, spec, name=name))
            except ValueError:  # plain YAML reads an unquoted impossible date (2026-02-30) as a timestamp
                continue
            if isinstance(document, dict):
                yield kind, document


DOCUMENTS = list(_documents())


def test_the_example_and_the_test_tables_are_judged_alike() -> None:
    verdicts = [assert_same(SCHEMAS[kind], document) for kind, document in DOCUMENTS]
    assert len(DOCUMENTS) > 150
    assert any(verdicts) and not all(verdicts)  # both kinds of document were compared


# Mutations: one node of a known-good document replaced, removed, or given an extra key.
_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 100_000),
    st.floats(allow_nan=False, allow_infinity=False, width=32),
    st.sampled_from(
        ["", "x", "Delete", "Retain", "Enabled", "s3:GetObject", "*", "arn:aws:iam::aws:policy/X", "AES256"]
    ),
    st.text(max_size=8),
)
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=6,
)
_VALID = [(kind, document) for kind, document in DOCUMENTS if _interpreted(SCHEMAS[kind], copy.deepcopy(document))]


def _paths(value: Any, at: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield at
    if isinstance(value, dict):
        for key, child in value.items():
            yield from _paths(child, (*at, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from _paths(child, (*at, index))


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(_VALID), st.data())
def test_mutated_documents_are_judged_alike(case: tuple[str, dict[str, Any]], data: st.DataObject) -> None:
    kind, original = case
    document = copy.deepcopy(original)
    path = data.draw(st.sampled_from(list(_paths(document))))
    how = data.draw(st.sampled_from(["replace", "remove", "add"]))
    parent: Any = document
    for step in path[:-1]:
        parent = parent[step]
    if not path:
        how = "add"
    target = parent[path[-1]] if path else document
    if how == "replace":
        parent[path[-1]] = data.draw(_VALUES)
    elif how == "remove":
        del parent[path[-1]]
    elif isinstance(target, dict):
        target[data.draw(st.text(max_size=12))] = data.draw(_VALUES)
    elif isinstance(target, list):
        target.append(data.draw(_VALUES))
    json.dumps(document, default=str)  # still a document
    assert_same(SCHEMAS[kind], document)


@pytest.mark.parametrize("kind", sorted(SCHEMAS))
def test_a_minimal_document_of_each_kind_gets_the_same_defaults(kind: str) -> None:
    document = {"apiVersion": "reconciler/v1", "kind": kind, "metadata": {"name": "x"}, "spec": {}}
    assert_same(SCHEMAS[kind], document)
