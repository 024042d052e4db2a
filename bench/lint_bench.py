"""The policy linter benchmark: recall and false positives on a labelled corpus of policy documents.

    .venv/bin/python -m bench.lint_bench [--corpus bench/lint_corpus] [--verbose] [--check] [--json OUT]

Every case of the corpus (``bench/lint_corpus/*.yaml``, one case a file) is a policy document, where it
lives (an identity policy, an inline policy, a trust policy, a bucket policy), on which side (the manifests,
as ``plan`` sees them, or the account, as ``audit`` does) and its label: the rule ids it must produce, or
``clean``. The benchmark builds the smallest environment around the document that the product itself would
judge (a Policy manifest attached to a Role, a Group with its members, a protected Bucket with its key...;
on the account side, the live resources ``audit`` reads), runs **every** rule of the product on it (the
manifests through :func:`reconciler.rules.evaluate`, the account through
:func:`reconciler.rules.evaluate_model`), and compares the findings with the label.

* **Recall**, by category: the share of the labelled rule ids that were reported.
* **False positives**: the share of clean cases with any finding at all (error or warning, any rule).
  Findings of defective cases that are not in their label are listed too ("unexpected").

Targets (issue 13): recall >= 95%, false positives <= 5%. ``--check`` exits 1 when one is missed.

Case file fields: ``description``, ``category`` (``language``, ``mfa``, ``escalation``, ``resources``,
``quotas``: what the case is about, for clean cases what it looks like), ``where`` (``identity``,
``inline``, ``trust``, ``bucket``), ``side`` (``manifests``, the default, or ``account``), ``holder``
(``Role``, the default, ``Group`` or ``User``: who holds an identity or inline policy), ``expect`` (a list
of rule ids, or ``clean``), ``document`` (the policy; for a bucket on the manifests side, its
``Statement`` are the bucket's extra statements), and optionally ``attach`` (more policies for the holder:
a number of small Policy manifests, or a list of AWS managed policy ARNs), ``holder_name`` (the holder's
name, ``case``), ``manifests`` (more manifests, for the manifests side) and ``require_mfa`` (for a Group
holder, default true).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bench.lint_cases import CATEGORIES, CORPUS, SIDES, WHERE, Case, CorpusError, load_case, load_corpus
from bench.lint_env import evaluate_account, evaluate_manifests

__all__ = ["CATEGORIES", "Case", "CorpusError", "Result", "Summary", "load_case", "load_corpus", "main", "run_case"]

RECALL_TARGET = 0.95
FP_TARGET = 0.05


@dataclass
class Result:
    case: Case
    found: list[tuple[str, str, str]] = field(default_factory=list)  # (rule, severity, message)

    @property
    def rules(self) -> set[str]:
        return {rule for rule, _, _ in self.found}

    @property
    def missed(self) -> list[str]:
        return [rule for rule in self.case.expect if rule not in self.rules]

    @property
    def unexpected(self) -> list[tuple[str, str, str]]:
        return [f for f in self.found if f[0] not in self.case.expect]


# ------------------------------------------------------------------------------------------------ the benchmark


def run_case(case: Case) -> Result:
    report = evaluate_manifests(case) if case.side == "manifests" else evaluate_account(case)
    return Result(case, [(f.rule, f.severity.value, f.message) for f in report.findings])


def _pct(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "n/a"


@dataclass
class Summary:
    results: list[Result]

    def recall(self, category: str | None = None) -> tuple[int, int]:
        picked = [r for r in self.results if not r.case.clean and category in (None, r.case.category)]
        expected = sum(len(r.case.expect) for r in picked)
        return expected - sum(len(r.missed) for r in picked), expected

    def false_positives(self) -> tuple[int, int]:
        clean = [r for r in self.results if r.case.clean]
        return sum(1 for r in clean if r.found), len(clean)

    def table(self) -> str:
        lines = [
            "| Category | Defective cases | Labelled findings | Found | Recall | Clean cases | With a finding |",
            "|---|---:|---:|---:|---:|---:|---:|",
        ]
        for category, title in [*CATEGORIES.items(), (None, "**All**")]:
            defective = [r for r in self.results if not r.case.clean and category in (None, r.case.category)]
            clean = [r for r in self.results if r.case.clean and category in (None, r.case.category)]
            found, expected = self.recall(category)
            flagged = sum(1 for r in clean if r.found)
            lines.append(
                f"| {title} | {len(defective)} | {expected} | {found} | {_pct(found, expected)} | "
                f"{len(clean)} | {flagged} ({_pct(flagged, len(clean))}) |"
            )
        return "\n".join(lines)

    def passed(self) -> bool:
        found, expected = self.recall()
        flagged, clean = self.false_positives()
        return found >= RECALL_TARGET * expected and flagged <= FP_TARGET * clean


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--verbose", action="store_true", help="list every case's findings")
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument("--json", type=Path, help="write the results as JSON")
    args = parser.parse_args(argv)
    cases = load_corpus(args.corpus)
    summary = Summary([run_case(case) for case in cases])
    sides = {side: sum(1 for c in cases if c.side == side) for side in SIDES}
    wheres = {where: sum(1 for c in cases if c.where == where) for where in WHERE}
    print(
        f"{len(cases)} cases ({sum(1 for c in cases if c.clean)} clean); "
        + ", ".join(f"{k} {v}" for k, v in {**wheres, **sides}.items())
    )
    print()
    print(summary.table())
    found, expected = summary.recall()
    flagged, clean = summary.false_positives()
    print()
    print(
        f"recall {_pct(found, expected)} (target >= {RECALL_TARGET:.0%}), "
        f"false positives {_pct(flagged, clean)} (target <= {FP_TARGET:.0%}): {'PASS' if summary.passed() else 'FAIL'}"
    )
    for result in summary.results:
        problems = [f"missed {', '.join(result.missed)}"] if result.missed else []
        problems += [
            f"{'false positive' if result.case.clean else 'unexpected'}: {rule} ({sev}) {msg}"
            for rule, sev, msg in result.unexpected
        ]
        if problems or args.verbose:
            print(f"\n{result.case.name} [{', '.join(result.case.expect) or 'clean'}]")
            for line in problems or [f"{rule} ({sev}) {msg}" for rule, sev, msg in result.found]:
                print(f"  {line}")
    if args.json:
        args.json.write_text(
            json.dumps(
                [
                    {"case": r.case.name, "expect": list(r.case.expect), "found": [f[0] for f in r.found]}
                    for r in summary.results
                ],
                indent=2,
            ),
            encoding="utf-8",
        )
    return 1 if args.check and not summary.passed() else 0


if __name__ == "__main__":
    sys.exit(main())
