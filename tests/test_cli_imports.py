"""The command line imports only what a command needs: ``--version`` and ``validate`` load no AWS SDK, no
engine, no logging library. About what is imported, not about time (start-up time is in ``bench/startup.py``)."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import pytest

from reconciler import cli

REPO = Path(__file__).resolve().parents[1]

# Runs the CLI in a fresh interpreter, then prints the modules it imported as the last line.
_PROBE = """
import json, sys
from reconciler.cli import run
try:
    status = run(sys.argv[1:])
except SystemExit as exc:
    status = exc.code
print()
print(json.dumps({"status": status, "modules": sorted(sys.modules)}))
"""

#: What no command that makes no AWS call should load (the AWS SDK, the emulator, the diff library).
AWS_AND_ENGINE = ("boto3", "botocore", "moto", "deepdiff", "reconciler.engine", "reconciler.rules")


def _imported(*args: str) -> tuple[int, set[str]]:
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, *args], cwd=REPO, capture_output=True, text=True, timeout=60, check=False
    )
    result = json.loads(done.stdout.strip().splitlines()[-1])
    return int(result["status"]), set(result["modules"])


def _loaded(modules: set[str], packages: tuple[str, ...]) -> list[str]:
    return sorted(p for p in packages if any(m == p or m.startswith(p + ".") for m in modules))


def test_version_imports_no_library_and_no_command() -> None:
    status, modules = _imported("--version")
    assert status == 0
    assert _loaded(modules, (*AWS_AND_ENGINE, "jsonschema", "structlog", "yaml", "reconciler.kinds")) == []
    assert _loaded(modules, ("reconciler.commands.planapply", "reconciler.commands.run")) == []


def test_validate_imports_the_manifests_and_nothing_of_aws_or_logging() -> None:
    status, modules = _imported("validate", str(REPO / "desired-state"))
    assert status == 0
    assert _loaded(modules, (*AWS_AND_ENGINE, "structlog")) == []
    assert "reconciler.manifests.loader" in modules  # it did validate


def test_the_command_table_names_the_module_that_registers_each_command() -> None:
    registered: dict[str, str] = {}
    for module in cli.COMMAND_MODULES:
        parser = argparse.ArgumentParser()
        commands = parser.add_subparsers()
        __import__(f"reconciler.commands.{module}", fromlist=["register"]).register(commands)
        registered.update(dict.fromkeys(commands.choices, module))
    assert registered == cli.COMMANDS


@pytest.mark.parametrize(
    "argv",
    [
        ["validate"],
        ["--log-level", "debug", "plan", "somewhere", "--output", "json", "--adopt"],
        ["--log-format=json", "apply", "plan.json", "--auto-approve", "--workers", "2"],
        ["run", "--source", "repo", "--mode", "plan", "--once"],
        ["check", "--output", "sarif", "--base", "origin/main"],
        ["import", "--out", "x", "--kinds", "Role,user"],
        ["audit", "dir", "--output", "json"],
        ["sandbox", "--port", "0"],
        ["demo"],
    ],
)
def test_a_command_line_parses_the_same_with_only_its_module(argv: list[str]) -> None:
    assert len(cli._modules_for(argv)) <= 1
    assert cli._parser(cli._modules_for(argv)).parse_args(argv) == cli._parser().parse_args(argv)


@pytest.mark.parametrize("argv", [["--help"], ["bogus"], [], ["--log-level", "info"]])
def test_help_no_command_or_an_unknown_one_load_every_command(argv: list[str]) -> None:
    assert cli._modules_for(argv) == cli.COMMAND_MODULES
