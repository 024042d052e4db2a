"""``reconciler check --output sarif``: SARIF 2.1.0 (OASIS), what GitHub code scanning and other review tools read
to annotate a pull request.

One run of the tool ``reconciler``: ``tool.driver.rules`` lists every rule ``check`` can report (id, title, help,
level); each finding is a result located at its manifest's file, line and column (a finding without a location
is shown on the account's Settings), with a stable fingerprint (account, rule, resource, message: not the line,
so a finding keeps its alert when lines move), ``baselineState`` new/unchanged with ``--base``, and an excepted
finding carries its ``Settings.exceptions`` reason as a suppression. Invalid manifests (exit 1) are results of
the rule ``MANIFEST``; a check that could not run is an unsuccessful invocation with its message, so the file
is always valid SARIF for the upload step.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Final

from reconciler import __version__
from reconciler.engine.check import CHECK_ORIGINS, AccountCheck, CheckResult
from reconciler.errors import ManifestProblem
from reconciler.rules import RULES, Finding, Severity

__all__ = ["SARIF_SCHEMA", "render_sarif", "render_sarif_failure", "render_sarif_problems", "repository_uri"]

SARIF_SCHEMA: Final = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
SRCROOT: Final = "%SRCROOT%"
MANIFEST_RULE: Final = "MANIFEST"

#: A manifest file as reports print it -> (its URI, the base id it is relative to, or None for an absolute URI).
UriOf = Callable[[str], tuple[str, str | None]]


def repository_uri(file: str) -> tuple[str, str | None]:
    """The default: the file's path as printed, relative to the source root (run from the repository's root)."""
    return file.replace("\\", "/").removeprefix("./"), SRCROOT


def _name(title: str) -> str:
    return "".join(word[:1].upper() + word[1:] for word in re.findall(r"[A-Za-z0-9]+", title))


def _rule_entry(rule_id: str, level: str, title: str, rationale: str) -> dict[str, Any]:
    help_text = f"{rationale}\n\nSee docs/rules.md, section {rule_id}, for a failing and a passing example."
    return {
        "id": rule_id,
        "name": _name(title),
        "shortDescription": {"text": title},
        "fullDescription": {"text": rationale},
        "help": {"text": help_text, "markdown": f"**{rule_id} {title}**\n\n{help_text}"},
        "defaultConfiguration": {"level": level},
        "properties": {"tags": ["security"], "precision": "high", "security-severity": _security_severity(level)},
    }


def _security_severity(level: str) -> str:
    return "8.0" if level == "error" else "4.0"


def _rules() -> list[dict[str, Any]]:
    entries = [
        _rule_entry(rule.id, rule.severity.value, rule.title, rule.rationale)
        for rule in RULES
        if rule.applies_to & CHECK_ORIGINS
    ]
    entries.append(
        _rule_entry(
            MANIFEST_RULE,
            "error",
            "Invalid manifest",
            "The manifests must be valid YAML, follow their kind's JSON Schema, and refer to manifests that exist; "
            "nothing is checked or applied until they do (reconciler validate).",
        )
    )
    return entries


def _location(where: str, uri_of: UriOf) -> dict[str, Any] | None:
    file, _, rest = where.rpartition(":")
    file, _, line = file.rpartition(":")
    if not (file and line.isdigit() and rest.isdigit()):
        return None
    uri, base = uri_of(file)
    artifact: dict[str, Any] = {"uri": uri}
    if base is not None:
        artifact["uriBaseId"] = base
    region = {"startLine": max(1, int(line)), "startColumn": max(1, int(rest))}
    return {"physicalLocation": {"artifactLocation": artifact, "region": region}}


def _fingerprint(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()[:32]


class _Results:
    def __init__(self, uri_of: UriOf, rules: Sequence[dict[str, Any]]) -> None:
        self.uri_of = uri_of
        self.index = {entry["id"]: i for i, entry in enumerate(rules)}
        self.items: list[dict[str, Any]] = []

    def add(
        self,
        rule: str,
        level: str,
        text: str,
        where: Iterable[str | None],
        fingerprint: str,
        *,
        properties: dict[str, Any],
        baseline: str | None = None,
        suppression: str | None = None,
    ) -> None:
        location = next((loc for w in where if w and (loc := _location(w, self.uri_of)) is not None), None)
        result: dict[str, Any] = {"ruleId": rule, "level": level, "message": {"text": text}}
        if rule in self.index:
            result["ruleIndex"] = self.index[rule]
        if location is not None:
            result["locations"] = [location]
        result["partialFingerprints"] = {"reconcilerFinding/v1": fingerprint}
        if baseline is not None:
            result["baselineState"] = baseline
        if suppression is not None:
            result["suppressions"] = [{"kind": "external", "justification": suppression}]
        result["properties"] = properties
        self.items.append(result)


def _finding_text(account: AccountCheck, finding: Finding, fleet: bool) -> str:
    prefix = f"[account {account.name}] " if fleet and account.name else ""
    return prefix + finding.message + (f" (hint: {finding.hint})" if finding.hint else "")


def _add_finding(
    results: _Results,
    result: CheckResult,
    account: AccountCheck,
    finding: Finding,
    *,
    baseline: str | None,
    suppression: str | None = None,
) -> None:
    results.add(
        finding.rule,
        "error" if finding.severity is Severity.ERROR else "warning",
        _finding_text(account, finding, result.fleet),
        (finding.location, account.home),
        _fingerprint(account.label, finding.rule, finding.resource, finding.message),
        properties={"resource": finding.resource, "account": account.name, "accountId": account.account_id},
        baseline=baseline,
        suppression=suppression,
    )


def _log(results: list[dict[str, Any]], *, success: bool, notes: Sequence[str] = (), **props: Any) -> str:
    invocation: dict[str, Any] = {"executionSuccessful": success}
    if notes:
        invocation["toolExecutionNotifications"] = [
            {"level": "error" if not success else "note", "message": {"text": note}} for note in notes
        ]
    run: dict[str, Any] = {
        "tool": {
            "driver": {
                "name": "reconciler",
                "version": __version__,
                "semanticVersion": __version__,
                "rules": _rules(),
            }
        },
        "invocations": [invocation],
        "columnKind": "unicodeCodePoints",
        "results": results,
    }
    if props:
        run["properties"] = props
    return json.dumps({"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": [run]}, indent=2) + "\n"


def render_sarif(result: CheckResult, *, uri_of: UriOf = repository_uri) -> str:
    results = _Results(uri_of, _rules())
    for account in result.accounts:
        comparison = account.comparison
        new = {id(f) for f in comparison.new} if comparison is not None else set()
        for finding in account.report.findings:
            baseline = None if comparison is None else ("new" if id(finding) in new else "unchanged")
            _add_finding(results, result, account, finding, baseline=baseline)
        for excepted in account.report.excepted:
            _add_finding(results, result, account, excepted.finding, baseline=None, suppression=excepted.reason)
    base = result.base
    return _log(
        results.items,
        success=True,
        notes=[f"not compared with {base.ref}: {base.error}"] if base is not None and base.error else [],
        awsManagedPolicies=dict(result.snapshot),
        **({"base": {"ref": base.ref, "commit": base.commit}} if base is not None else {}),
    )


def render_sarif_problems(problems: Sequence[ManifestProblem], *, uri_of: UriOf = repository_uri) -> str:
    """Invalid manifests: one result of the rule MANIFEST per problem, located; the run itself succeeded."""
    results = _Results(uri_of, _rules())
    for p in problems:
        text = ": ".join(x for x in (p.resource, p.field, p.message) if x)
        results.add(
            MANIFEST_RULE,
            "error",
            text,
            (f"{p.file}:{p.line}:{p.col}",),
            _fingerprint(p.file, p.resource or "", p.field or "", p.message),
            properties={"resource": p.resource, "field": p.field},
        )
    return _log(results.items, success=True, notes=[f"{len(problems)} manifest problem(s): nothing was checked"])


def render_sarif_failure(message: str) -> str:
    """A check that could not run (an unknown --base revision, say): no result, the reason as a notification."""
    return _log([], success=False, notes=[message])
