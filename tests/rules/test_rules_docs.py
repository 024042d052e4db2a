"""docs/rules.md: every YAML example does what the text says (the failing one fires, the passing one does not)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from rules_support import Loader, hits, seed_aws_policies

from reconciler.clock import frozen
from reconciler.rules import evaluate

DOC = (Path(__file__).resolve().parents[2] / "docs" / "rules.md").read_text(encoding="utf-8")
#: The instant the examples are evaluated at (docs/rules.md says so where it matters: DATA003's dates).
DOCUMENTED_NOW = "2026-12-07T00:00:00Z"
SECTIONS = {m.group(1): m.group(2) for m in re.finditer(r"^### ([A-Z]+[0-9]{3}) (.*?)(?=^### |\Z)", DOC, re.M | re.S)}


def _example(section: str, label: str) -> str | None:
    match = re.search(label + r"[^\n]*:\n\n```yaml\n(.*?)```", section, re.S)
    return match.group(1) if match else None


EXAMPLES = sorted(rule for rule, text in SECTIONS.items() if _example(text, "Fails") is not None)


def test_the_documented_rules_with_yaml_examples() -> None:
    assert len(EXAMPLES) == 45, EXAMPLES  # the others are about the account (audit) or Settings


@pytest.mark.parametrize("rule", EXAMPLES)
def test_documented_examples(rule: str, load: Loader) -> None:
    section = SECTIONS[rule]
    failing, passing = _example(section, "Fails"), _example(section, "Passes")
    assert failing is not None and passing is not None, rule
    with frozen(DOCUMENTED_NOW):
        bad = evaluate(load(*yaml.safe_load_all(failing)), seed_aws_policies())
        good = evaluate(load(*yaml.safe_load_all(passing)), seed_aws_policies())
    assert hits(bad, rule), (rule, [f.rule for f in bad.findings])
    assert not hits(good, rule), (rule, [(f.rule, f.message) for f in good.findings if f.rule == rule])
