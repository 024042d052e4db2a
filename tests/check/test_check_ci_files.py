"""What teams copy: .pre-commit-hooks.yaml is valid for pre-commit's own schema, and every reconciler command and
configuration in docs/ci.md is one the CLI (and pre-commit, and YAML) accepts."""

from __future__ import annotations

import re
import shlex
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml
from checkdirs import REPO
from pre_commit.clientlib import load_config, load_manifest

from reconciler.cli import _parser

DOC = (REPO / "docs" / "ci.md").read_text(encoding="utf-8")
BLOCKS = re.findall(r"^```(\w*)\n(.*?)^```", DOC, re.M | re.S)


def _commands() -> list[list[str]]:
    """Every ``reconciler ...`` command line of the doc's code blocks, as argv (shell redirections and ``||`` cut;
    ``${{ ... }}`` expressions of GitHub Actions made a plain word)."""
    found = []
    for _lang, body in BLOCKS:
        for line in body.splitlines():
            text = re.sub(r"\$\{\{[^}]*\}\}", "X", line.strip().removeprefix("- ").removeprefix("run: "))
            if not text.startswith("reconciler "):
                continue
            words = shlex.split(text, comments=True)
            cut = next((i for i, w in enumerate(words) if w in (">", ">>", "||", "&&", "|", ";")), len(words))
            found.append(words[1:cut])
    return found


def test_the_hook_is_valid_for_pre_commit() -> None:
    (hook,) = load_manifest(str(REPO / ".pre-commit-hooks.yaml"))  # pre-commit's schema: raises if invalid
    assert hook["id"] == "reconciler-check"
    assert hook["language"] == "python" and hook["pass_filenames"] is False
    files = re.compile(hook["files"])
    assert files.search("desired-state/roles/x.yaml") and files.search("a.yml") and not files.search("a.json")
    entry = shlex.split(hook["entry"])
    scripts = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]["scripts"]
    assert entry[0] in scripts  # installed by language: python
    args = _parser().parse_args([*entry[1:], *hook["args"], "desired-state"])
    assert args.command == "check" and args.output == "text"


def test_every_command_of_the_ci_doc_is_accepted_by_the_cli() -> None:
    commands = _commands()
    assert len(commands) >= 6
    for argv in commands:
        _parser().parse_args(argv)  # argparse exits (SystemExit) on what it does not accept
    checks = [_parser().parse_args(argv) for argv in commands if argv[0] == "check"]
    assert {a.output for a in checks} == {"text", "markdown", "sarif"}
    assert any(a.base == "origin/main" and a.output == "markdown" for a in checks)
    assert any(a.base == "origin/main" and a.output == "sarif" for a in checks)


def test_the_bad_command_would_be_caught() -> None:
    with pytest.raises(SystemExit):
        _parser().parse_args(["check", "desired-state", "--output", "html"])


def _workflow() -> dict[str, Any]:
    (body,) = [b for lang, b in BLOCKS if lang == "yaml" and "jobs:" in b]
    data: dict[str, Any] = yaml.safe_load(body)
    return data


def test_the_workflow_posts_the_markdown_and_uploads_the_sarif() -> None:
    job = _workflow()["jobs"]["check"]
    assert job["permissions"]["security-events"] == "write" and job["permissions"]["pull-requests"] == "write"
    steps = {step.get("uses", "").split("@")[0]: step for step in job["steps"]}
    assert steps["actions/checkout"]["with"]["fetch-depth"] == 0
    assert steps["github/codeql-action/upload-sarif"]["with"]["sarif_file"] == "check.sarif"
    assert steps["marocchino/sticky-pull-request-comment"]["with"]["path"] == "check.md"
    run = next(step["run"] for step in job["steps"] if step.get("id") == "check")
    assert "--output markdown > check.md" in run and "--output sarif > check.sarif" in run
    assert "AWS_" not in str(_workflow())  # no credentials


def test_the_pre_commit_configuration_of_the_doc_is_valid(tmp_path: Path) -> None:
    (body,) = [b for lang, b in BLOCKS if lang == "yaml" and "repos:" in b]
    config = tmp_path / ".pre-commit-config.yaml"
    config.write_text(body, encoding="utf-8")
    loaded = load_config(str(config))
    (hook,) = loaded["repos"][0]["hooks"]
    assert hook["id"] == "reconciler-check"
    _parser().parse_args(["check", *hook["args"]])


def test_the_readme_and_the_doc_describe_the_command() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert "| `reconciler check [DIR]` |" in readme and "docs/ci.md" in readme
    check = _parser()._subparsers._group_actions[0].choices["check"]  # type: ignore[union-attr]
    options = {o for action in check._actions for o in action.option_strings if o.startswith("--") and o != "--help"}
    assert options == {"--output", "--base", "--region", "--accounts"}
    for option in options:
        assert f"`{option}" in DOC, option
