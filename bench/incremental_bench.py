"""The controller between full reads, on IAMbic's workload: what a one-role commit and an unchanged commit cost.

    .venv/bin/python -m bench.incremental_bench                        # 1,000 roles, 3 runs, the table below
    .venv/bin/python -m bench.incremental_bench --roles 20 --repeat 1 --plan-scale 0   # a smoke run, seconds

The workload is IAMbic's own benchmark: ``--roles`` roles (default 1,000), one manifest file each, each with a
SageMaker trust policy, one inline policy and two tags, in a real git repository, and an emulator (a process of
its own, ``bench.emulator``) seeded to match them from the roles' desired views. Every AWS call of the
controller is counted, the state table's included (a ``CallRecorder`` on every client it makes).

- **(a) a one-role commit**: a commit changes one role's inline policy; a controller that made its full read
  (``--resync 1h``: the first cycle) converges it (``reconcile_once``: fetch, load the head, the targeted
  plan under the lease, the change, the record). Against it, **a full plan-and-apply** of the same kind of
  commit: a controller that reads everything every cycle (``resync=None``, the behaviour before), also warm
  (its first cycle done).
- **(b) an unchanged commit** between full reads: a cycle at the same head.
- **(c) a full plan against the floor's calls**: ``make_plan`` and ``bench.floor.read_floor`` on the workload,
  and on the plan benchmark's account at ``--plan-scale`` (``bench.seed``: 2,000 roles, 500 policies, 300
  users, ... at scale 1; 0 leaves it out), calls only.

Each of (a) and (b) runs ``--repeat`` times (a new one-role commit each time); the median and the range of the
wall times are reported, with the 1-minute load average around the runs. Targets (issue 17): (a) at most 8 calls
and at least 5x less wall time than the full plan-and-apply; (b) at most 2 calls; (c) within 1.05x the floor's
calls. ``--check`` exits 1 when one fails.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import yaml

from bench.plan_bench import EmulatorProcess, child_env, loadavg

REGION = "ap-northeast-1"
ACCOUNT_ID = "123456789012"

# Targets
TARGETED_CALLS = 8
SPEEDUP = 5.0
UNCHANGED_CALLS = 2
CALLS_SLACK = 1.05


def role_name(i: int) -> str:
    return f"iambic-role-{i:05d}"


def role_manifest(i: int, *, actions: list[str] | None = None) -> dict[str, Any]:
    """Role ``i`` as IAMbic's benchmark declares it: SageMaker may assume it, one inline policy, two tags."""
    return {
        "apiVersion": "reconciler/v1",
        "kind": "Role",
        "metadata": {"name": role_name(i)},
        "spec": {
            "trustedServices": ["sagemaker.amazonaws.com"],
            "inlinePolicies": {
                "data": {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Action": actions or ["s3:GetObject"],
                            "Resource": [f"arn:aws:s3:::iambic-data-{i % 10}/*"],
                        }
                    ],
                }
            },
            "tags": {"team": f"team-{i % 5}", "cost-center": f"cc-{i % 7}"},
        },
    }


def write_workload(repo: Path, roles: int) -> Path:
    """The manifest directory ``repo/desired-state``: a Settings and one file per role. Returns it."""
    root = repo / "desired-state"
    (root / "roles").mkdir(parents=True, exist_ok=True)
    settings = {
        "apiVersion": "reconciler/v1",
        "kind": "Settings",
        "metadata": {"name": "iambic-workload"},
        "spec": {"accountId": ACCOUNT_ID, "region": REGION},
    }
    (root / "settings.yaml").write_text(yaml.safe_dump(settings, sort_keys=False))
    for i in range(roles):
        (root / "roles" / f"{role_name(i)}.yaml").write_text(yaml.safe_dump(role_manifest(i), sort_keys=False))
    return root


def git(repo: Path, *args: str) -> str:
    env = dict(os.environ, GIT_AUTHOR_NAME="b", GIT_AUTHOR_EMAIL="b@example.invalid")
    env.update(GIT_COMMITTER_NAME="b", GIT_COMMITTER_EMAIL="b@example.invalid")
    done = subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True, env=env)
    return done.stdout.strip()


def commit_one_role(repo: Path, i: int, run: int) -> None:
    """A commit that changes role ``i``'s inline policy (a different action list for each ``run``)."""
    actions = ["s3:GetObject", "s3:GetObjectTagging" if run % 2 == 0 else "s3:GetObjectVersion"]
    path = repo / "desired-state" / "roles" / f"{role_name(i)}.yaml"
    path.write_text(yaml.safe_dump(role_manifest(i, actions=actions), sort_keys=False))
    git(repo, "commit", "--quiet", "-am", f"role {i}, run {run}")


def seed_roles(root: Path, endpoint: str, workers: int = 16) -> float:
    """Create every role of the manifests in the emulator, from its desired view. Returns the seconds taken."""
    from bench.seed import _clients, _Seeder
    from reconciler.engine.differ import context
    from reconciler.kinds import REGISTRY, load_directory

    started = time.monotonic()
    desired = load_directory(root)
    ctx = context(desired, REGION)
    seeder = _Seeder(_clients(endpoint, REGION, workers), REGION)
    kind = REGISTRY["Role"]

    def one(name: str) -> None:
        seeder.role(name, kind.desired_view(desired.of("Role")[name], ctx))

    with ThreadPoolExecutor(max_workers=workers) as pool:
        list(pool.map(one, sorted(desired.of("Role"))))
    return time.monotonic() - started


class Run:
    """A controller of the workload's repository, its calls counted."""

    def __init__(self, repo: Path, cache: Path, emulator: EmulatorProcess, *, resync: float | None) -> None:
        from reconciler.aws.clients import AwsConfig, CallRecorder
        from reconciler.controller.loop import Controller, ControllerConfig

        endpoint = emulator.url
        self.emulator = emulator
        self.recorder = CallRecorder()
        config = ControllerConfig(source=str(repo), cache_dir=cache, resync=resync, region=REGION)
        aws = AwsConfig(endpoint_url=endpoint, region=REGION)
        self.controller = Controller(config, aws, stop=threading.Event(), recorder=self.recorder)

    def cycle(self) -> dict[str, Any]:
        self.recorder.reset()
        load = loadavg()
        cpu, emulator_cpu = _cpu(), self.emulator.cpu_seconds()
        started = time.perf_counter()
        status = self.controller.reconcile_once()
        seconds = time.perf_counter() - started
        cpu, emulator_cpu = _cpu() - cpu, self.emulator.cpu_seconds() - emulator_cpu
        if status != 0:
            raise RuntimeError(f"the controller's cycle ended with status {status}")
        counts = {f"{s}:{o}": n for (s, o), n in sorted(self.recorder.counts().items())}
        return {
            "seconds": seconds,
            "cpuSeconds": cpu,
            "emulatorCpuSeconds": emulator_cpu,
            "calls": self.recorder.total(),
            "byOperation": counts,
            "load": [load, loadavg()],
        }


def _cpu() -> float:
    """This process's CPU time (the controller's, every thread)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def full_plan_calls(root: Path, endpoint: str, names: dict[str, Any]) -> dict[str, Any]:
    """Calls of ``make_plan`` on the manifests at ``root`` and of the floor for ``names``."""
    from bench.floor import read_floor
    from reconciler.aws.clients import AwsConfig, CallRecorder, ClientFactory
    from reconciler.engine.converge import make_plan
    from reconciler.kinds import load_directory

    out: dict[str, Any] = {}
    for program in ("plan", "floor"):
        recorder = CallRecorder()
        factory = ClientFactory(AwsConfig(endpoint_url=endpoint, region=REGION), read_only=True, recorder=recorder)
        if program == "plan":
            make_plan(load_directory(root), factory, REGION)
        else:
            read_floor(factory, names)
        out[program] = {
            "calls": recorder.total(),
            "byOperation": {f"{s}:{o}": n for (s, o), n in sorted(recorder.counts().items())},
        }
    return out


def workload_names(root: Path) -> dict[str, Any]:
    from bench.fleet_seed import floor_names
    from reconciler.kinds import load_directory

    return floor_names(load_directory(root))


def plan_scale_calls(scale: float, workdir: Path, progress: Callable[[str], None]) -> dict[str, Any]:
    """(c) on the plan benchmark's account at ``scale``, in an emulator of its own."""
    from bench.seed import Sizes, generate, seed

    sizes = Sizes().scaled(scale)
    root = generate(workdir, sizes)
    with EmulatorProcess(workdir / "emulator.log") as emulator:
        progress(f"seeding the plan benchmark's account at scale {scale} ({sizes.total()} resources)")
        report = seed(root, emulator.url)
        progress(f"seeded in {report.seconds:.0f}s")
        names = json.loads((workdir / "names.json").read_text())
        result = full_plan_calls(root, emulator.url, names)
    result["scale"] = scale
    result["resources"] = sizes.total()
    return result


def measure(args: argparse.Namespace, progress: Callable[[str], None]) -> dict[str, Any]:
    work = Path(args.workdir or tempfile.mkdtemp(prefix="incremental-bench-"))
    repo = work / "repo"
    shutil.rmtree(repo, ignore_errors=True)
    root = write_workload(repo, args.roles)
    git(repo, "init", "--quiet", "--initial-branch", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "--quiet", "-m", "IAMbic's workload")
    result: dict[str, Any] = {"roles": args.roles, "repeat": args.repeat, "cpus": os.cpu_count()}
    with EmulatorProcess(work / "emulator.log") as emulator:
        progress(f"seeding {args.roles} roles")
        result["seedSeconds"] = seed_roles(root, emulator.url)
        result["workloadPlan"] = full_plan_calls(root, emulator.url, workload_names(root))
        targeted = Run(repo, work / "cache", emulator, resync=3600.0)
        result["firstFullCycle"] = targeted.cycle()
        progress(f"first (full) cycle: {result['firstFullCycle']['seconds']:.2f}s")
        result["unchanged"], result["oneRole"] = [], []
        for run in range(args.repeat):
            commit_one_role(repo, (run * 37) % args.roles, run)
            result["oneRole"].append(targeted.cycle())
            result["unchanged"].append(targeted.cycle())
            progress(f"run {run + 1}: one-role commit {result['oneRole'][-1]['seconds']:.3f}s")
        full = Run(repo, work / "cache", emulator, resync=None)
        full.cycle()  # warm: its clients made, the account in sync
        result["fullPlanAndApply"] = []
        for run in range(args.repeat):
            commit_one_role(repo, (run * 37 + 11) % args.roles, run + 1)
            result["fullPlanAndApply"].append(full.cycle())
            progress(f"run {run + 1}: full plan-and-apply {result['fullPlanAndApply'][-1]['seconds']:.3f}s")
    if args.plan_scale:
        result["planScale"] = plan_scale_calls(args.plan_scale, work / "plan-scale", progress)
    if not args.workdir:
        shutil.rmtree(work, ignore_errors=True)
    return result


def _median_range(runs: list[dict[str, Any]], key: str = "seconds") -> str:
    values = [r[key] for r in runs]
    return f"{statistics.median(values):.3f} ({min(values):.3f}-{max(values):.3f})"


def _total_cpu(run: dict[str, Any]) -> float:
    return float(run["cpuSeconds"] + run["emulatorCpuSeconds"])


def _cpu_of(runs: list[dict[str, Any]]) -> str:
    return f"{statistics.median(_total_cpu(r) for r in runs):.3f}"


def report(result: dict[str, Any]) -> tuple[str, list[str]]:
    """The markdown table, and the failed targets."""
    one, unchanged, full = result["oneRole"], result["unchanged"], result["fullPlanAndApply"]
    loads = [x for r in (*one, *unchanged, *full) for x in r["load"]]
    speedup = statistics.median(r["seconds"] for r in full) / statistics.median(r["seconds"] for r in one)
    cpu_ratio = statistics.median(_total_cpu(r) for r in full) / statistics.median(_total_cpu(r) for r in one)
    lines = [
        f"IAMbic's workload: {result['roles']} roles (SageMaker trust, one inline policy, two tags), one file each; "
        f"{result['repeat']} runs; {result['cpus']} CPUs, 1-minute load {min(loads):.1f}-{max(loads):.1f}.",
        "",
        "| cycle | AWS calls (all: IAM, STS, the state table) | wall s, median (range) | CPU s, controller + "
        "emulator, median |",
        "|---|---:|---:|---:|",
        f"| first cycle: full read and apply (nothing to change) | {result['firstFullCycle']['calls']} | "
        f"{result['firstFullCycle']['seconds']:.3f} | {_cpu_of([result['firstFullCycle']])} |",
        f"| (a) one-role commit, targeted | {max(r['calls'] for r in one)} | {_median_range(one)} | {_cpu_of(one)} |",
        f"| (a') one-role commit, full plan-and-apply (every cycle reads everything) | "
        f"{max(r['calls'] for r in full)} | {_median_range(full)} | {_cpu_of(full)} |",
        f"| (b) unchanged commit between full reads | {max(r['calls'] for r in unchanged)} | "
        f"{_median_range(unchanged)} | {_cpu_of(unchanged)} |",
        "",
        f"Speed-up of (a) over (a'): {speedup:.1f}x in wall time (medians), {cpu_ratio:.1f}x in CPU time "
        "(controller + emulator, medians: what the machine's load does not change).",
        "",
        "Calls by operation:",
        "",
        f"- (a) {one[0]['byOperation']}",
        f"- (a') {full[0]['byOperation']}",
        f"- (b) {unchanged[0]['byOperation']}",
    ]
    plans = [("the workload", result["workloadPlan"])]
    if "planScale" in result:
        plans.append((f"the plan benchmark at scale {result['planScale']['scale']}", result["planScale"]))
    lines += ["", "| full plan of | plan calls | floor calls | ratio |", "|---|---:|---:|---:|"]
    failed = []
    for label, calls in plans:
        ratio = calls["plan"]["calls"] / max(1, calls["floor"]["calls"])
        lines.append(f"| {label} | {calls['plan']['calls']} | {calls['floor']['calls']} | {ratio:.3f}x |")
        if ratio > CALLS_SLACK:
            failed.append(f"(c) {label}: {ratio:.3f}x the floor's calls (target {CALLS_SLACK}x)")
        if calls["plan"]["byOperation"] != calls["floor"]["byOperation"]:
            lines.append(f"  - plan {calls['plan']['byOperation']}")
            lines.append(f"  - floor {calls['floor']['byOperation']}")
    if max(r["calls"] for r in one) > TARGETED_CALLS:
        failed.append(f"(a) {max(r['calls'] for r in one)} calls (target {TARGETED_CALLS})")
    if speedup < SPEEDUP:
        failed.append(f"(a) {speedup:.1f}x less wall time than a full plan-and-apply (target {SPEEDUP}x)")
    if max(r["calls"] for r in unchanged) > UNCHANGED_CALLS:
        failed.append(f"(b) {max(r['calls'] for r in unchanged)} calls (target {UNCHANGED_CALLS})")
    return "\n".join(lines), failed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.incremental_bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--roles", type=int, default=1000, help="roles in the workload (default 1000)")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each measured cycle (default 3)")
    parser.add_argument(
        "--plan-scale", type=float, default=1.0, help="(c) also at this scale of the plan benchmark (0: not)"
    )
    parser.add_argument("--workdir", type=Path, default=None, help="keep everything here (default: a temporary one)")
    parser.add_argument("--json", type=Path, default=None, help="also write the raw figures here")
    parser.add_argument("--check", action="store_true", help="exit 1 when a target fails")
    args = parser.parse_args(argv)
    os.environ.update(child_env())
    from reconciler.logs import configure_logging

    configure_logging(fmt="json", level="warning")
    result = measure(args, lambda line: print(line, file=sys.stderr, flush=True))
    if args.json:
        args.json.write_text(json.dumps(result, indent=1))
    table, failed = report(result)
    print(table)
    for line in failed:
        print(f"FAIL  {line}")
    return 1 if failed and args.check else 0


if __name__ == "__main__":
    sys.exit(main())
