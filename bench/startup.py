"""How long the command line takes to start: ``reconciler --version`` and ``reconciler validate`` of the example.

    python -m bench.startup                 # 15 runs of each, interleaved; min, median, max; load average
    python -m bench.startup --repeat 30 --json out.json
    python -m bench.startup --pythonpath /tmp/old   # the same against another checkout (``git archive``)
    python -m bench.startup --baseline /tmp/old     # this checkout and another, interleaved

Each run is a fresh ``python -m reconciler`` process (wall time around the child, as a user sees it, and its CPU
time, which a loaded machine changes less); the programs alternate, so a change in the load touches both alike.
The targets (issue 19): ``--version`` under 0.15 s and ``validate`` of ``desired-state/`` under 0.4 s. Also
printed: which of the heavy libraries each command imports (``python -X importtime``), what laziness removes.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
HEAVY = ("boto3", "botocore", "moto", "deepdiff", "jsonschema", "structlog", "yaml", "rich", "prometheus_client")
COMMANDS: dict[str, tuple[str, ...]] = {
    "--version": ("--version",),
    "validate": ("validate", str(REPO / "desired-state")),
    "--help": ("--help",),
}
TARGETS = {"--version": 0.15, "validate": 0.4}
#: The children run outside the repository, so that ``--pythonpath`` decides which ``reconciler`` they import.
_CWD = "/"


def _env(pythonpath: str | None) -> dict[str, str]:
    # As installed (pip compiles the modules): the children write and read the bytecode cache, even where the
    # environment says not to write it (the first, untimed run of each command writes it).
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    if pythonpath:
        env["PYTHONPATH"] = pythonpath
    return env


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _once(args: tuple[str, ...], env: dict[str, str]) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one ``reconciler ARGS``: the CPU time tells the same on a loaded machine."""
    cpu = _children_cpu()
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "reconciler", *args], env=env, cwd=_CWD, capture_output=True, check=False
    )
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"reconciler {' '.join(args)} failed ({done.returncode}): {done.stderr.decode()[-500:]}")
    return elapsed, _children_cpu() - cpu


def heavy_imports(args: tuple[str, ...], env: dict[str, str]) -> list[str]:
    """The heavy libraries ``reconciler ARGS`` imports (top-level packages, from ``-X importtime``)."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "reconciler", *args],
        env=env,
        cwd=_CWD,
        capture_output=True,
        check=False,
    )
    names = {line.rsplit("|", 1)[-1].strip() for line in done.stderr.decode().splitlines() if "|" in line}
    return [h for h in HEAVY if h in names]


def _load() -> float:
    return float(Path("/proc/loadavg").read_text().split()[0])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--pythonpath", default=None, help="PYTHONPATH of the children (another checkout)")
    parser.add_argument(
        "--baseline", default=None, metavar="DIR", help="also run another checkout (git archive), interleaved"
    )
    parser.add_argument("--json", default=None, metavar="OUT")
    args = parser.parse_args(argv)
    programs = {"": _env(args.pythonpath)}
    if args.baseline:
        programs["baseline "] = _env(args.baseline)
    runs = [(label, name, command, env) for label, env in programs.items() for name, command in COMMANDS.items()]
    times: dict[tuple[str, str], list[float]] = {(label, name): [] for label, name, _, _ in runs}
    cpus: dict[tuple[str, str], list[float]] = {(label, name): [] for label, name, _, _ in runs}
    loads = [_load()]
    for _, _, command, env in runs:  # warm the file cache and write the bytecode
        _once(command, env)
    for i in range(args.repeat):
        for label, name, command, env in runs if i % 2 == 0 else reversed(runs):
            wall, cpu = _once(command, env)
            times[(label, name)].append(wall)
            cpus[(label, name)].append(cpu)
        loads.append(_load())
    result: dict[str, object] = {"load": [min(loads), max(loads)], "commands": {}}
    print(f"load average (1 min) during the runs: {min(loads):.2f}-{max(loads):.2f} on {os.cpu_count()} cores")
    print("| command | wall min s | wall median s | wall max s | CPU median s | target | heavy libraries imported |")
    print("|---|---:|---:|---:|---:|---|---|")
    for label, name, command, env in runs:
        measured = times[(label, name)]
        heavy = heavy_imports(command, env)
        target = TARGETS.get(name)
        met = target is not None and statistics.median(measured) < target
        verdict = "" if target is None else f"< {target} s: {'met' if met else 'NOT met'}"
        shown = " ".join(command).replace(str(REPO) + "/", "")
        print(
            f"| {label}reconciler {shown} | {min(measured):.3f} | {statistics.median(measured):.3f} | "
            f"{max(measured):.3f} | {statistics.median(cpus[(label, name)]):.3f} | {verdict} | "
            f"{', '.join(heavy) or 'none'} |"
        )
        result["commands"][f"{label}{name}"] = {"runs": measured, "cpu": cpus[(label, name)], "heavy": heavy}  # type: ignore[index]
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
