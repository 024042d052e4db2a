"""Controllers sharing one --cache-dir never see each other's files (real processes, real git).

A ``main`` controller applies while controllers of a branch ``extra-admin`` (which adds a user
``mallory`` to the administrators) only plan, all at the same time, all with the same cache
directory and the same account. With one shared checkout, a plan could read the files of the other
branch, or the apply could apply ``mallory``; a concurrent ``checkout --force`` could fail a run.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import boto3
from gitrepo import git

from reconciler.aws.clients import AwsConfig

REPO = Path(__file__).resolve().parents[2]
ROUNDS = 20
CHILD_TIMEOUT = 120.0

MALLORY = """apiVersion: reconciler/v1
kind: User
metadata:
  name: mallory
spec:
  groups: [SageMakerAdministrator]
  consoleAccess: true
  tags:
    team: ml-platform
"""


def two_branches(root: Path) -> dict[str, str]:
    shutil.copytree(REPO / "desired-state", root / "desired-state")
    git(root, "init", "--quiet", "--initial-branch", "main")
    git(root, "add", "-A")
    git(root, "commit", "--quiet", "-m", "initial")
    git(root, "checkout", "--quiet", "-b", "extra-admin")
    (root / "desired-state" / "users" / "mallory.yaml").write_text(MALLORY)
    git(root, "add", "-A")
    git(root, "commit", "--quiet", "-m", "mallory joins the administrators")
    git(root, "checkout", "--quiet", "main")
    return {branch: git(root, "rev-parse", branch) for branch in ("main", "extra-admin")}


def start(repo: Path, cache: Path, aws: AwsConfig, branch: str, mode: str) -> subprocess.Popen[str]:
    argv = [
        sys.executable,
        "-m",
        "reconciler",
        "--log-format",
        "json",
        "run",
        "--source",
        str(repo),
        "--branch",
        branch,
        "--mode",
        mode,
        "--once",
        "--cache-dir",
        str(cache),
        "--endpoint-url",
        str(aws.endpoint_url),
    ]
    return subprocess.Popen(argv, env=dict(os.environ), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def users() -> list[str]:
    return sorted(u["UserName"] for u in boto3.client("iam").list_users()["Users"])


def check(run: tuple[str, str, int, str, str], shas: dict[str, str]) -> None:
    branch, mode, status, out, err = run
    where = f"{mode} of {branch} (exit {status}):\n{out}\n{err}"
    assert status in (0, 2), where
    assert mode == "plan" or status == 0, where
    lines = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    assert not any(e.get("level") == "error" for e in lines), where
    assert "fatal:" not in err and "GitError" not in err and "Traceback" not in err, where
    mine, theirs = shas[branch], ({*shas.values()} - {shas[branch]}).pop()
    assert theirs not in err, where  # no line names the other branch's commit
    commits = {e["commit"] for e in lines if "commit" in e} | {
        e["applied_commit"] for e in lines if "applied_commit" in e
    }
    assert commits == {mine}, where
    done = [e for e in lines if e.get("event") in ("planned", "reconciled", "applied")]
    assert done, where
    planned = " ".join(" ".join(e.get("resources", [])) for e in lines if e.get("event") == "drift or changes found")
    if branch == "extra-admin":  # it planned its own files: mallory is in them
        assert "User/mallory" in planned, where
    else:
        assert "mallory" not in err, where


def test_controllers_of_two_branches_sharing_a_cache_never_mix(aws: AwsConfig, tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    shas = two_branches(repo)
    cache = tmp_path / "cache"
    started = time.monotonic()
    runs: list[tuple[str, str, int, str, str]] = []
    # Each round: an apply of main and a plan of extra-admin start together, while the previous round's
    # are still running, so that any git step of one process can meet any step of another.
    pending: list[tuple[str, str, subprocess.Popen[str]]] = []
    for _ in range(ROUNDS):
        pending.append(("main", "apply", start(repo, cache, aws, "main", "apply")))
        pending.append(("extra-admin", "plan", start(repo, cache, aws, "extra-admin", "plan")))
        while len(pending) > 3:
            branch, mode, proc = pending.pop(0)
            out, err = proc.communicate(timeout=CHILD_TIMEOUT)
            runs.append((branch, mode, proc.returncode, out, err))
            assert "mallory" not in users()
    for branch, mode, proc in pending:
        out, err = proc.communicate(timeout=CHILD_TIMEOUT)
        runs.append((branch, mode, proc.returncode, out, err))
    elapsed = time.monotonic() - started
    for run in runs:
        check(run, shas)
    assert "mallory" not in users() and {"alice", "bob", "carol"} <= set(users())
    assert sum(1 for r in runs if r[1] == "apply") == ROUNDS
    assert not list((cache / ".reconciler-git" / "work").iterdir())  # every private directory removed
    print(f"{len(runs)} controllers in {elapsed:.1f}s")
