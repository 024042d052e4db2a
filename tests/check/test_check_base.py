"""``reconciler check --base REF`` on real git repositories: which findings are new, fixed or unchanged, and the
access diff's section (the seam, with a stand-in, and the real one)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from checkdirs import FULL_ACCESS, TYPO, attach, boundary, example
from clirun import cli_here
from fleetdir import ACCOUNTS, account_manifests, example_fleet
from gitrepo import git
from test_check_cli import _validate

from reconciler.engine.check import BaseStates, run_check
from reconciler.engine.render_check import render_check_json, render_check_markdown, render_check_text
from reconciler.kinds import load_fleet
from reconciler.manifests import DesiredState

UNKNOWN_BOUNDARY = "arn:aws:iam::aws:policy/NoSuchBoundary"


def _commit(repo: Path, message: str) -> str:
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)
    return git(repo, "rev-parse", "HEAD")


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A repository whose main has, in manifests/: the example with a typo'd AWS managed policy on the engineers'
    role and an unknown permissions boundary on the administrators' role (two CHK001 errors)."""
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    manifests = example(root / "manifests")
    attach(manifests, TYPO)
    boundary(manifests, UNKNOWN_BOUNDARY)
    (root / "README.md").write_text("manifests\n")
    _commit(root, "base")
    git(root, "checkout", "-q", "-b", "feature")
    return root


def _change(repo: Path) -> None:
    """The pull request: fixes the typo (and so attaches AmazonSageMakerFullAccess: DATA001, LP002, SM003), keeps
    the unknown boundary, and moves it down two lines (a comment at the top of its file)."""
    roles = repo / "manifests" / "roles" / "notebook-roles.yaml"
    text = roles.read_text(encoding="utf-8").replace(TYPO, FULL_ACCESS)
    roles.write_text("# reviewed\n# by the team\n" + text, encoding="utf-8")


def _rules(findings: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return sorted((f["rule"], f["resource"]) for f in findings)


def test_new_fixed_and_unchanged_against_a_revision(repo: Path) -> None:
    _change(repo)
    _commit(repo, "fix the typo")
    status, out = cli_here("check", str(repo / "manifests"), "--base", "main", "--output", "json")
    assert status == 3
    data = json.loads(out)
    _validate(data)
    comparison = data["accounts"][0]["comparison"]
    assert _rules(comparison["new"]) == [
        ("DATA001", "Role/notebook-for-engineer-role"),
        ("ESC001", "Role/notebook-for-engineer-role"),  # it may pass any role to a notebook it creates
        ("LP002", "Role/notebook-for-engineer-role"),
        ("SM003", "Role/notebook-for-engineer-role"),
    ]
    assert _rules(comparison["fixed"]) == [("CHK001", "Role/notebook-for-engineer-role")]
    (unchanged,) = comparison["unchanged"]
    assert unchanged["rule"] == "CHK001" and UNKNOWN_BOUNDARY in unchanged["message"]
    main = git(repo, "rev-parse", "main")
    assert data["base"] == {"ref": "main", "commit": main, "error": None, "note": None}
    assert data["summary"]["new"] == 4 and data["summary"]["fixed"] == 1 and data["summary"]["unchanged"] == 1
    # located in each revision's own file: the fixed one where it was at main, the unchanged one where it is now
    fixed_line = int(comparison["fixed"][0]["location"].rsplit(":", 2)[1])
    now_line = int(unchanged["location"].rsplit(":", 2)[1])
    base_text = git(repo, "show", "main:manifests/roles/notebook-roles.yaml").splitlines()
    assert TYPO in base_text[fixed_line - 1]
    now_text = (repo / "manifests" / "roles" / "notebook-roles.yaml").read_text(encoding="utf-8").splitlines()
    assert UNKNOWN_BOUNDARY in now_text[now_line - 1]
    assert comparison["fixed"][0]["location"].startswith(str(repo / "manifests") + "/roles/")


def test_base_in_every_output(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _change(repo)  # uncommitted: the working tree against main
    monkeypatch.chdir(repo)
    status, text = cli_here("check", "manifests", "--base", "main")
    assert status == 3
    main = git(repo, "rev-parse", "main")
    assert f"Compared with main ({main[:12]}): 4 new, 1 fixed, 1 unchanged." in text
    assert "  new    error   LP002   Role/notebook-for-engineer-role  manifests/roles/notebook-roles.yaml:" in text
    assert "  fixed  error   CHK001  Role/notebook-for-engineer-role  manifests/roles/notebook-roles.yaml:" in text
    assert "(at main)" in text
    _, md = cli_here("check", "manifests", "--base", "main", "--output", "markdown")
    assert f"Compared with `main` (`{main[:12]}`): **4 new**, 1 fixed, 1 unchanged." in md
    assert "| 🆕 new | error | `LP002` |" in md and "| unchanged | error | `CHK001` |" in md
    assert "### Fixed since `main`" in md and "| ✔ fixed | error | `CHK001` |" in md
    _, out = cli_here("check", "manifests", "--base", "main", "--output", "sarif")
    results = json.loads(out)["runs"][0]["results"]
    states = sorted((r["ruleId"], r["baselineState"]) for r in results)
    assert states == [
        ("CHK001", "unchanged"),
        ("DATA001", "new"),
        ("ESC001", "new"),
        ("LP002", "new"),
        ("SM003", "new"),
    ]
    uris = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in results}
    assert uris == {"manifests/roles/notebook-roles.yaml"}  # relative to the repository's root


def test_the_sarif_paths_are_the_repository_s_from_a_subdirectory(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(repo / "manifests" / "roles")
    _, out = cli_here("check", "..", "--output", "sarif")
    uris = {
        r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in json.loads(out)["runs"][0]["results"]
    }
    assert uris == {"manifests/roles/notebook-roles.yaml"}


def test_a_directory_new_since_the_base_has_only_new_findings(repo: Path) -> None:
    example(repo / "other")
    attach(repo / "other", TYPO)
    status, out = cli_here("check", str(repo / "other"), "--base", "main", "--output", "json")
    assert status == 3
    data = json.loads(out)
    comparison = data["accounts"][0]["comparison"]
    assert _rules(comparison["new"]) == [("CHK001", "Role/notebook-for-engineer-role")]
    assert comparison["fixed"] == [] and comparison["unchanged"] == []
    assert "is not at main: every finding is new" in comparison["note"]


def test_base_manifests_that_do_not_load_are_said_not_compared(repo: Path) -> None:
    attach(repo / "manifests", "notebook-no-such-policy")
    _commit(repo, "broken")
    git(repo, "checkout", "-q", "-b", "repair")
    roles = repo / "manifests" / "roles" / "notebook-roles.yaml"
    roles.write_text(roles.read_text(encoding="utf-8").replace("    - notebook-no-such-policy\n", ""), encoding="utf-8")
    status, out = cli_here("check", str(repo / "manifests"), "--base", "feature", "--output", "json")
    assert status == 3  # the two CHK001 still stand
    data = json.loads(out)
    assert "do not load (1 problem(s)" in data["base"]["error"]
    assert data["accounts"][0]["comparison"] is None and data["summary"]["new"] is None
    _, text = cli_here("check", str(repo / "manifests"), "--base", "feature")
    assert "Not compared with feature (" in text


def test_an_unknown_revision_or_no_repository_is_exit_1(repo: Path, tmp_path: Path) -> None:
    status, text = cli_here("check", str(repo / "manifests"), "--base", "no-such-branch")
    assert status == 1 and "no such revision" in text and "fetch-depth: 0" in text
    status, text = cli_here("check", str(repo / "manifests"), "--base", "--upload-pack=touch /tmp/x")
    assert status == 1 and "no such revision" in text
    status, text = cli_here("check", str(example(tmp_path / "loose")), "--base", "main")
    assert status == 1 and "not inside a git work tree" in text
    status, md = cli_here("check", str(repo / "manifests"), "--base", "nope", "--output", "markdown")
    assert status == 1 and md.startswith("## ❌ Reconciler check could not run")


def test_a_fleet_compares_each_account_with_itself(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    fleet = example_fleet(repo / "fleet")
    _commit(repo, "two accounts")
    accounts = dict(ACCOUNTS, stage=("333333333333", {"env": "stage", "team": "ml"}, None))
    (fleet / "accounts.yaml").write_text(account_manifests(accounts), encoding="utf-8")
    attach(fleet, TYPO)
    status, out = cli_here("check", str(fleet), "--base", "main", "--output", "json")
    assert status == 3
    data = json.loads(out)
    _validate(data)
    by_name = {a["name"]: a["comparison"] for a in data["accounts"]}
    assert set(by_name) == {"dev", "prod", "stage"}
    for name in ("dev", "prod"):
        assert _rules(by_name[name]["new"]) == [("CHK001", "Role/notebook-for-engineer-role")], name
        assert by_name[name]["note"] is None
    assert by_name["stage"]["note"] == "account stage is not at main"
    status, out = cli_here("check", str(fleet), "--base", "main", "--accounts", "prod", "--output", "json")
    assert [a["name"] for a in json.loads(out)["accounts"]] == ["prod"]


# ---------------------------------------------------------------------------------------------- the seam


@dataclass(frozen=True)
class FakeAccess:
    before: str | None
    after: str

    def to_dict(self) -> dict[str, Any]:
        return {"gains": [f"{self.after} gains s3:PutObject"], "had": self.before}

    def render_text(self, *, color: bool = False) -> str:
        return f"Access changes:\n  {self.after} gains s3:PutObject"

    def render_markdown(self) -> str:
        return f"### Access changes\n\n- {self.after} gains `s3:PutObject`\n"


def _fake(before: DesiredState | None, after: DesiredState) -> FakeAccess:
    return FakeAccess(before.settings.name if before else None, after.settings.name)


def test_the_access_diff_section_goes_in_every_output(repo: Path) -> None:
    manifests = repo / "manifests"
    now = load_fleet(manifests, display_root="manifests")
    base = BaseStates("main", git(repo, "rev-parse", "main"), {None: now.states[0]})
    result = run_check(now.states, directory="manifests", fleet=False, base=base, diff=_fake)
    assert result.accounts[0].access_diff == FakeAccess("secure-sagemaker", "secure-sagemaker")
    assert render_check_text(result).rstrip().endswith("Access changes:\n  secure-sagemaker gains s3:PutObject")
    assert "### Access changes\n\n- secure-sagemaker gains `s3:PutObject`" in render_check_markdown(result)
    data = json.loads(render_check_json(result))
    jsonschema.Draft202012Validator({"type": "object"}).validate(data["accounts"][0]["accessDiff"])
    assert data["accounts"][0]["accessDiff"]["gains"] == ["secure-sagemaker gains s3:PutObject"]
    # the default is the rules' access diff (nothing changed here: an empty one); without --base it is not
    # computed at all
    plain = run_check(now.states, directory="manifests", fleet=False, base=base)
    assert plain.accounts[0].access_diff is not None
    assert json.loads(render_check_json(plain))["accounts"][0]["accessDiff"]["changes"] == []
    assert run_check(now.states, directory="manifests", fleet=False).accounts[0].access_diff is None
    assert run_check(now.states, directory="manifests", fleet=False, diff=_fake).accounts[0].access_diff is None


def test_check_base_shows_the_real_access_diff(repo: Path) -> None:
    """The engineers' policy gains s3:PutObject on raw data, and the raw-data bucket lets them write: the check
    says who gains what, by the same evaluator as plan's access diff."""
    _change(repo)
    manifests = repo / "manifests"
    policy = manifests / "policies" / "notebook-data.yaml"
    text = policy.read_text(encoding="utf-8")
    old = "        Action: s3:GetObject\n        Resource: arn:aws:s3:::sagemaker-rawdata/*"
    assert old in text
    policy.write_text(text.replace(old, old.replace("s3:GetObject", "[s3:GetObject, s3:PutObject]")), "utf-8")
    buckets = manifests / "buckets" / "buckets.yaml"
    text = buckets.read_text(encoding="utf-8")
    writers = "    write:\n      - Role/notebook-for-administrator-role\n"
    assert writers in text
    buckets.write_text(text.replace(writers, writers + "      - Role/notebook-for-engineer-role\n", 1), "utf-8")
    _, out = cli_here("check", str(manifests), "--base", "main", "--output", "json")
    access = json.loads(out)["accounts"][0]["accessDiff"]
    gains = [c for c in access["changes"] if c["change"] == "gain" and c["category"] == "data"]
    assert any(
        c["subject"] == "Role/notebook-for-engineer-role"
        and "s3:PutObject" in c["what"]
        and "sagemaker-rawdata" in c["on"]
        for c in gains
    ), access
    _, text_out = cli_here("check", str(manifests), "--base", "main")
    assert "Access changes:" in text_out
    assert "Role/notebook-for-engineer-role" in text_out.split("Access changes:", 1)[1]
    # without --base there is nothing to compare with: no section
    _, plain = cli_here("check", str(manifests))
    assert "Access changes" not in plain
