"""The labelled corpus of the linter benchmark (bench/lint_corpus, bench/lint_bench.py): it loads, and every label
names rules that exist. What the rules find on it is the benchmark's to measure (docs/benchmarks.md), not this
test's."""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

import pytest

from reconciler.rules import BY_ID

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench.lint_bench import CATEGORIES, CorpusError, load_case, load_corpus, run_case  # noqa: E402

CASES = load_corpus()


def test_the_corpus_is_large_and_varied_enough() -> None:
    assert len(CASES) >= 60
    assert len({c.name for c in CASES}) == len(CASES)
    assert {c.where for c in CASES} == {"identity", "inline", "trust", "bucket"}
    assert {c.side for c in CASES} == {"manifests", "account"}
    clean = Counter(c.category for c in CASES if c.clean)
    defective = Counter(c.category for c in CASES if not c.clean)
    for category in CATEGORIES:
        assert clean[category] >= 3 and defective[category] >= 5, category


def test_every_label_names_existing_rules() -> None:
    for case in CASES:
        unknown = [rule for rule in case.expect if rule not in BY_ID]
        assert not unknown, (case.name, unknown)
        assert len(set(case.expect)) == len(case.expect), case.name
        assert case.description, case.name


def test_a_malformed_case_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("description: x\ncategory: language\nwhere: nowhere\nexpect: clean\ndocument: {}\n")
    with pytest.raises(CorpusError, match="where 'nowhere'"):
        load_case(bad)


@pytest.mark.parametrize("name", ["pol-duplicate-sid", "pol-version-missing-account-inline"])
def test_a_case_of_each_side_runs_through_the_product_rules(name: str) -> None:
    result = run_case(next(c for c in CASES if c.name == name))
    assert result.case.expect and not result.missed
