"""``reconciler check``: exit statuses, every output format, the unknown AWS managed policy (CHK001), fleets."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from checkdirs import FULL_ACCESS, SEED, TYPO, attach, boundary, example, except_rule, line_at
from clirun import cli_here
from fleetdir import example_fleet
from referencing import Registry, Resource

from reconciler.engine.check import AccountCheck, CheckResult, run_check
from reconciler.engine.render_check import render_check_markdown
from reconciler.kinds import load_fleet
from reconciler.rules import Finding, Report, Severity, evaluate

SCHEMAS = Path(__file__).resolve().parents[2] / "schemas"


def _validate(data: dict[str, object]) -> None:
    registry: Registry = Registry().with_resources(
        (p.name, Resource.from_contents(json.loads(p.read_text(encoding="utf-8")))) for p in SCHEMAS.glob("*.json")
    )
    schema = json.loads((SCHEMAS / "check.schema.json").read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator(schema, registry=registry).validate(data)


def test_exit_0_when_clean_3_on_error_findings_1_on_invalid_manifests(tmp_path: Path) -> None:
    status, text = cli_here("check", str(example(tmp_path / "ok")))
    assert status == 0, text
    assert "Invariants passed: 0 error(s), 0 warning(s)." in text
    assert "no AWS account" in text and "snapshot of " in text
    status, text = cli_here("check", str(SEED))
    assert status == 3
    assert "Invariants refused: 23 error(s), 8 warning(s)." in text
    bad = example(tmp_path / "bad")
    attach(bad, "notebook-no-such-policy")
    status, text = cli_here("check", str(bad))
    assert status == 1
    assert "no Policy manifest named 'notebook-no-such-policy'" in text
    assert "roles/notebook-roles.yaml:" in text


def test_an_unknown_aws_managed_policy_is_an_error_at_its_line(tmp_path: Path) -> None:
    root = example(tmp_path / "m")
    attach(root, TYPO)
    boundary(root, "arn:aws:iam::aws:policy/NoSuchBoundary")
    status, out = cli_here("check", str(root), "--output", "json")
    assert status == 3
    account = json.loads(out)["accounts"][0]
    found = account["findings"]["findings"]
    chk = [f for f in found if f["rule"] == "CHK001"]
    assert [f["resource"] for f in chk] == ["Role/notebook-for-administrator-role", "Role/notebook-for-engineer-role"]
    typo = chk[1]
    assert TYPO in line_at(typo["location"])
    assert FULL_ACCESS in typo["hint"]  # did you mean ...
    assert "NoSuchBoundary" in line_at(chk[0]["location"])
    assert "not an AWS managed policy (snapshot of " in typo["message"]
    assert not [f for f in found if f["rule"] == "LP008"]  # CHK001 says it, once


def test_a_known_aws_managed_policy_is_checked_from_the_snapshot(tmp_path: Path) -> None:
    root = example(tmp_path / "m")
    attach(root, FULL_ACCESS)
    status, out = cli_here("check", str(root), "--output", "json")
    assert status == 3
    rules = {(f["rule"], f["resource"]) for f in json.loads(out)["accounts"][0]["findings"]["findings"]}
    # the same findings plan makes with the document read from IAM
    assert ("LP002", "Role/notebook-for-engineer-role") in rules
    assert ("SM003", "Role/notebook-for-engineer-role") in rules
    assert not any(rule in ("CHK001", "LP008") for rule, _ in rules)


def test_an_exception_turns_chk001_off_and_plan_does_not_call_it_unused(tmp_path: Path) -> None:
    root = example(tmp_path / "m")
    attach(root, "arn:aws:iam::aws:policy/ReleasedAfterTheSnapshot")
    except_rule(root, "CHK001", "Role/notebook-for-engineer-role", "released 2026-12; snapshot too old (SEC-7)")
    status, text = cli_here("check", str(root))
    assert status == 0, text
    assert "CHK001 Role/notebook-for-engineer-role: released 2026-12" in text
    desired = load_fleet(root).states[0]
    report = evaluate(desired, {})  # what plan evaluates: CHK001 is the check's own, not an unused exception
    assert not report.of("EXC001")


def test_json_follows_its_schema(tmp_path: Path) -> None:
    for directory in (str(SEED), str(example(tmp_path / "ok"))):
        _, out = cli_here("check", directory, "--output", "json")
        data = json.loads(out)
        _validate(data)
        assert data["base"] is None and data["summary"]["new"] is None
        assert data["awsManagedPolicies"]["source"] == "moto"
    seed = json.loads(cli_here("check", str(SEED), "--output", "json")[1])
    assert seed["summary"] == {
        "accounts": 1,
        "refused": 1,
        "errors": 23,
        "warnings": 8,
        "new": None,
        "fixed": None,
        "unchanged": None,
        "exitStatus": 3,
    }


def test_invalid_manifests_in_json_are_the_usual_errors_object(tmp_path: Path) -> None:
    bad = example(tmp_path / "bad")
    attach(bad, "notebook-no-such-policy")
    status, out = cli_here("check", str(bad), "--output", "json")
    assert status == 1
    errors = json.loads(out)["errors"]
    assert errors[0]["file"].endswith("roles/notebook-roles.yaml") and errors[0]["line"] > 0


def test_markdown_for_a_pull_request_comment(tmp_path: Path) -> None:
    status, md = cli_here("check", str(SEED), "--output", "markdown")
    assert status == 3
    assert md.startswith("## ⛔ Reconciler check: 23 error finding(s), 8 warning(s)\n")
    assert "| Severity | Rule | Resource | Where | Finding |" in md
    assert "`NB001`" in md and "roles.yaml:17:7`" in md
    assert len(md) < 65_000
    _, ok = cli_here("check", str(example(tmp_path / "ok")), "--output", "markdown")
    assert ok.startswith("## ✅ Reconciler check: no error finding (0 warning(s))\n")
    bad = example(tmp_path / "bad")
    attach(bad, "notebook-no-such-policy")
    status, invalid = cli_here("check", str(bad), "--output", "markdown")
    assert status == 1
    assert invalid.startswith("## ❌ Reconciler check: the manifests of ")
    assert "no Policy manifest named 'notebook-no-such-policy'" in invalid


def _many_findings(n: int) -> CheckResult:
    findings = tuple(
        Finding("LP001", Severity.ERROR, f"Policy/p{i:05d}", f"m/p.yaml:{i + 1}:3", "allows * on * " * 20, "narrow it")
        for i in range(n)
    )
    account = AccountCheck(None, "123456789012", "eu-west-1", n, Report(findings))
    snap = {"source": "moto", "version": "5", "updatedAt": "2026-10-31", "generatedAt": "2026-12-06", "policies": 1}
    return CheckResult("m", (account,), False, snap)


def test_markdown_stays_under_the_comment_limit_and_says_what_it_left_out() -> None:
    md = render_check_markdown(_many_findings(2_000))
    assert len(md) <= 65_000
    assert "> ⚠ Output truncated: " in md and "of 2,000 table rows left out" in md
    assert "Policy/p00000" in md and "Policy/p01999" not in md
    small = render_check_markdown(_many_findings(3))
    assert "truncated" not in small
    assert len(render_check_markdown(_many_findings(2_000), limit=5_000)) <= 5_000


def test_text_output_shows_findings_as_plan_prints_them() -> None:
    _, text = cli_here("check", str(SEED))
    assert "error   NB001   NotebookInstance/notebook-for-administrator  " in text
    assert "        hint: rootAccess: Disabled" in text


def test_a_fleet_is_checked_account_by_account(tmp_path: Path) -> None:
    fleet = example_fleet(tmp_path / "fleet")
    # prod (only) gets an AWS managed policy with a typo
    path = fleet / "roles" / "notebook-roles.yaml"
    path.write_text(
        path.read_text(encoding="utf-8")
        + f"""---
apiVersion: reconciler/v1
kind: Role
metadata:
  name: prod-only
  accounts: [prod]
spec:
  trustedServices: [sagemaker.amazonaws.com]
  policies: [{TYPO}]
""",
        encoding="utf-8",
    )
    status, text = cli_here("check", str(fleet))
    assert status == 3
    assert "Fleet: 2 account(s): 1 refused, 1 passed." in text
    assert "=== Account dev (111111111111, ap-northeast-1): passed ===" in text
    assert "=== Account prod (222222222222, eu-west-1): refused ===" in text
    status, out = cli_here("check", str(fleet), "--output", "json")
    data = json.loads(out)
    _validate(data)
    assert [(a["name"], a["exitStatus"]) for a in data["accounts"]] == [("dev", 0), ("prod", 3)]
    assert data["summary"]["exitStatus"] == 3 and data["fleet"] is True
    assert cli_here("check", str(fleet), "--accounts", "env=dev")[0] == 0
    status, md = cli_here("check", str(fleet), "--output", "markdown")
    assert "| `dev` | `111111111111` | ap-northeast-1 | ✅ passed | 0 | 0 |" in md
    assert "### Account `prod` (`222222222222`)" in md
    status, text = cli_here("check", str(fleet), "--accounts", "nope")
    assert status == 1 and "matches none" in text


def test_accounts_is_refused_for_a_directory_of_one_account() -> None:
    status, text = cli_here("check", str(SEED), "--accounts", "prod")
    assert status == 1 and "has none" in text


def test_the_result_is_the_same_in_process_and_deterministic(tmp_path: Path) -> None:
    fleet = load_fleet(SEED, display_root="seed")
    one = run_check(fleet.states, directory="seed", fleet=False)
    two = run_check(fleet.states, directory="seed", fleet=False)
    assert one == two and one.exit_status == 3


@pytest.mark.parametrize("output", ["text", "json", "markdown", "sarif"])
def test_every_output_is_deterministic(output: str) -> None:
    assert cli_here("check", str(SEED), "--output", output) == cli_here("check", str(SEED), "--output", output)
