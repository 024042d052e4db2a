"""``reconciler check --output sarif``: valid against the official SARIF 2.1.0 schema (vendored in
tests/fixtures/sarif/), every finding located at a real manifest line, the rules listed with id, title and help."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import jsonschema
import pytest
from checkdirs import REPO, SEED, TYPO, attach, example, except_rule
from clirun import cli_here

from reconciler.rules import BY_ID

SARIF_SCHEMA = json.loads((REPO / "tests" / "fixtures" / "sarif" / "sarif-schema-2.1.0.json").read_text("utf-8"))


def _sarif(*args: str) -> tuple[int, dict[str, Any]]:
    status, out = cli_here("check", *args, "--output", "sarif")
    data = json.loads(out)
    jsonschema.Draft4Validator(SARIF_SCHEMA).validate(data)
    return status, data


def _file(artifact: dict[str, Any]) -> Path:
    if artifact.get("uriBaseId") == "%SRCROOT%":
        return REPO / artifact["uri"]  # the check ran on a directory of this repository: its root
    return Path(unquote(urlparse(artifact["uri"]).path))


def _line(result: dict[str, Any]) -> str:
    location = result["locations"][0]["physicalLocation"]
    lines = _file(location["artifactLocation"]).read_text(encoding="utf-8").splitlines()
    region = location["region"]
    text = lines[region["startLine"] - 1]
    assert 1 <= region["startColumn"] <= len(text), (result["ruleId"], region, text)
    return text[region["startColumn"] - 1 :]


def test_the_official_schema_is_the_one_vendored() -> None:
    assert SARIF_SCHEMA["title"] == "Static Analysis Results Format (SARIF) Version 2.1.0 JSON Schema"
    assert SARIF_SCHEMA["id"].endswith("/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json")
    with pytest.raises(jsonschema.ValidationError):  # it does reject what is not SARIF
        jsonschema.Draft4Validator(SARIF_SCHEMA).validate({"version": "2.1.0", "runs": [{"results": []}]})


def test_valid_sarif_with_every_finding_at_its_manifest_line() -> None:
    status, data = _sarif(str(SEED))
    assert status == 3
    (run,) = data["runs"]
    results = run["results"]
    assert len(results) == 31  # 23 errors, 8 warnings
    assert {r["level"] for r in results} == {"error", "warning"}
    for result in results:
        artifact = result["locations"][0]["physicalLocation"]["artifactLocation"]
        assert artifact["uri"].startswith("tests/fixtures/seed/") and artifact["uriBaseId"] == "%SRCROOT%"
        _line(result)  # a real line and column
    by_rule = {(r["ruleId"], r["properties"]["resource"]): r for r in results}
    assert _line(by_rule["NB001", "NotebookInstance/notebook-for-engineer"]).startswith("Enabled")
    assert _line(by_rule["TR003", "Role/notebook-for-engineer-role"]) == "Effect: Allow"  # the statement
    assert len({r["partialFingerprints"]["reconcilerFinding/v1"] for r in results}) == len(results)


def test_the_rules_are_listed_with_id_title_help_and_level() -> None:
    _, data = _sarif(str(SEED))
    driver = data["runs"][0]["tool"]["driver"]
    assert driver["name"] == "reconciler"
    rules = driver["rules"]
    ids = [r["id"] for r in rules]
    assert "CHK001" in ids and "LP001" in ids and "MANIFEST" in ids
    assert not any(i.startswith("AUD") for i in ids)  # what only the account shows is not the check's
    for rule in rules:
        assert rule["shortDescription"]["text"] and rule["help"]["text"]
        assert rule["defaultConfiguration"]["level"] in ("error", "warning")
        if rule["id"] in BY_ID:
            assert rule["shortDescription"]["text"] == BY_ID[rule["id"]].title
            assert rule["defaultConfiguration"]["level"] == BY_ID[rule["id"]].severity.value
    for result in data["runs"][0]["results"]:
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]


def test_a_directory_outside_any_repository_gets_file_uris(tmp_path: Path) -> None:
    root = example(tmp_path / "m")
    attach(root, TYPO)
    status, data = _sarif(str(root))
    assert status == 3
    (result,) = [r for r in data["runs"][0]["results"] if r["ruleId"] == "CHK001"]
    artifact = result["locations"][0]["physicalLocation"]["artifactLocation"]
    assert artifact["uri"].startswith("file:///") and "uriBaseId" not in artifact
    assert _line(result) == TYPO
    assert result["level"] == "error" and "did you mean" in result["message"]["text"]


def test_an_excepted_finding_is_a_suppressed_result(tmp_path: Path) -> None:
    root = example(tmp_path / "m")
    attach(root, TYPO)
    except_rule(root, "CHK001", "Role/notebook-for-engineer-role", "ticket SEC-9")
    status, data = _sarif(str(root))
    assert status == 0
    (result,) = data["runs"][0]["results"]
    assert result["suppressions"] == [{"kind": "external", "justification": "ticket SEC-9"}]


def test_invalid_manifests_are_located_results_and_exit_1(tmp_path: Path) -> None:
    root = example(tmp_path / "m")
    attach(root, "notebook-no-such-policy")
    status, data = _sarif(str(root))
    assert status == 1
    (result,) = data["runs"][0]["results"]
    assert result["ruleId"] == "MANIFEST" and result["level"] == "error"
    assert "notebook-no-such-policy" in _line(result)


def test_a_check_that_cannot_run_is_still_valid_sarif(tmp_path: Path) -> None:
    status, data = _sarif(str(example(tmp_path / "m")), "--base", "main")  # not a git repository
    assert status == 1
    invocation = data["runs"][0]["invocations"][0]
    assert invocation["executionSuccessful"] is False
    assert "not inside a git work tree" in invocation["toolExecutionNotifications"][0]["message"]["text"]
