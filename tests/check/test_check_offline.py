"""``reconciler check`` needs no AWS and no network: a child process with every AWS variable unset, proxies on a
closed port, and a socket layer that records and refuses any connection or name lookup; and, where the machine
allows it, the same in a network namespace with no interface but loopback (``unshare -n``)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from checkdirs import FULL_ACCESS, TYPO, attach, example
from gitrepo import git

#: Imported by every Python started with this directory on PYTHONPATH: any connection or name lookup is written
#: to $NETWORK_LOG, then refused.
SITECUSTOMIZE = """
import os, socket

_LOG = os.environ["NETWORK_LOG"]

def _refuse(what):
    def refused(*args, **kwargs):
        with open(_LOG, "a", encoding="utf-8") as log:
            log.write(f"{what} {args[1:2] if what.startswith('socket.') else args[:1]!r}\\n")
        raise OSError(f"{what}: networking is disabled in this test")
    return refused

socket.socket.connect = _refuse("socket.connect")
socket.socket.connect_ex = _refuse("socket.connect_ex")
socket.socket.sendto = _refuse("socket.sendto")
socket.create_connection = _refuse("create_connection")
socket.getaddrinfo = _refuse("getaddrinfo")
socket.gethostbyname = _refuse("gethostbyname")
"""


def _offline_env(tmp_path: Path) -> dict[str, str]:
    guard = tmp_path / "guard"
    guard.mkdir(exist_ok=True)
    (guard / "sitecustomize.py").write_text(SITECUSTOMIZE, encoding="utf-8")
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "BOTO", "HTTP", "HTTPS", "NO_PROXY"))}
    env = {k: v for k, v in env.items() if k.lower() not in ("http_proxy", "https_proxy", "all_proxy", "no_proxy")}
    env.update(
        HOME=str(home),  # no ~/.aws
        PYTHONPATH=str(guard),
        NETWORK_LOG=str(tmp_path / "network.log"),
        AWS_EC2_METADATA_DISABLED="true",
        HTTP_PROXY="http://127.0.0.1:9",  # the discard port: closed
        HTTPS_PROXY="http://127.0.0.1:9",
        ALL_PROXY="http://127.0.0.1:9",
        GIT_CONFIG_NOSYSTEM="1",
    )
    return env


def _run(cmd: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True, timeout=300, check=False)


def _repository(tmp_path: Path) -> Path:
    """A repository whose main is the example; the working tree attaches an AWS managed policy and a typo'd one."""
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    example(repo / "manifests")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "base")
    attach(repo / "manifests", FULL_ACCESS)
    attach(repo / "manifests", TYPO, role="notebook-for-administrator-role")
    return repo


def _assert_checked(done: subprocess.CompletedProcess[str]) -> None:
    assert done.returncode == 3, done.stdout + done.stderr
    results = json.loads(done.stdout)["runs"][0]["results"]
    rules = {r["ruleId"] for r in results}
    assert {"CHK001", "LP002", "SM003"} <= rules  # the snapshot's document was judged, the typo reported
    assert {r["baselineState"] for r in results} == {"new"}


def test_the_guard_does_catch_a_connection(tmp_path: Path) -> None:
    """The control: the same environment does stop and record a connection attempt."""
    env = _offline_env(tmp_path)
    code = "import urllib.request\ntry:\n urllib.request.urlopen('http://example.com', timeout=2)\nexcept OSError: pass"
    done = _run([sys.executable, "-c", code], env, tmp_path)
    assert done.returncode == 0, done.stderr
    assert Path(env["NETWORK_LOG"]).read_text(encoding="utf-8")


def test_check_never_connects_and_needs_no_aws_variables(tmp_path: Path) -> None:
    repo = _repository(tmp_path)
    env = _offline_env(tmp_path)
    assert not [k for k in env if k.startswith("AWS_") and k != "AWS_EC2_METADATA_DISABLED"]
    cmd = [sys.executable, "-m", "reconciler", "check", "manifests", "--base", "main", "--output", "sarif"]
    _assert_checked(_run(cmd, env, repo))
    assert not Path(env["NETWORK_LOG"]).exists(), Path(env["NETWORK_LOG"]).read_text(encoding="utf-8")


def _unshare_works() -> bool:
    if shutil.which("unshare") is None:
        return False
    return subprocess.run(["unshare", "-n", "true"], capture_output=True, check=False).returncode == 0


@pytest.mark.skipif(not _unshare_works(), reason="unshare -n (a network namespace) is not allowed here")
def test_check_passes_with_no_network_at_all(tmp_path: Path) -> None:
    repo = _repository(tmp_path)
    env = _offline_env(tmp_path)
    cmd = ["unshare", "-n", sys.executable, "-m", "reconciler", "check", "manifests", "--base", "main"]
    _assert_checked(_run([*cmd, "--output", "sarif"], env, repo))
    assert not Path(env["NETWORK_LOG"]).exists()
    # and without the guard, only the namespace: still the same answer
    del env["PYTHONPATH"]
    done = _run([*cmd, "--output", "text"], env, repo)
    assert done.returncode == 3 and "Compared with main" in done.stdout, done.stdout + done.stderr
