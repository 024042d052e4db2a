"""The fleet benchmark: ``plan`` and a no-op ``apply`` over a fleet of N accounts, split over 1, 2 and 4 shard
processes started at the same time; calls per account against the floor; one shard's peak memory as the fleet
grows; the accounts that move when the shard count goes from 4 to 5.

    .venv/bin/python -m bench.fleet_bench [--accounts 100] [--extra-roles 300] [--shards 1,2,4] [--repeat 3]
                                          [--memory-accounts 100,400] [--out results.json]

1. A FRESH emulator in a process of its own (``bench.emulator --lean-accounts``: no per-account copy of the
   AWS managed policies, see there); a fleet directory of N accounts (``bench.fleet_seed``: the shipped
   example, per account); its live state made by the product itself: ``reconciler apply DIR --auto-approve``
   (over ``--seed-shards`` shard processes at once), then ``--extra-roles`` unmanaged roles per account created
   through assumed-role boto3 clients.
2. For each shard count N, ``--repeat`` times: N processes of ``reconciler plan DIR --shard-index i
   --shard-count N --output json`` started at once (``bench.fleet_measure``: each process's CPU and peak RSS);
   the fleet's wall time runs from the start of the first to the end of the last; then the same for a no-op
   ``reconciler apply DIR --auto-approve``. Every process must exit 0 (nothing to change).
3. Calls per account: one ``plan`` of the whole fleet with every account's calls counted, against the floor
   (``bench.floor``) for the first account's contents.
4. Peak RSS of shard 0 of 4 over fleets of each ``--memory-accounts`` size (the first accounts are the same;
   the emulator gets the missing ones, seeded the same way with ``--memory-extra-roles`` extra roles each).
5. ``moved_accounts(ids, 4, 5)``: how many accounts another shard takes over when a fifth shard is added.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, TextIO

from bench.fleet_seed import FleetAccount, fleet_accounts, seed_extra_roles, write_fleet
from bench.plan_bench import EmulatorProcess, child_env

REPO = Path(__file__).resolve().parents[1]
CHILD_TIMEOUT = 3600.0  # seconds; nothing here waits forever
TARGET_SPEEDUP_SLACK = 1.3  # 4 shards within 1.3x of a quarter of one shard's time


def machine() -> dict[str, Any]:
    affinity = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    return {
        "cpuCount": os.cpu_count(),
        "schedAffinity": affinity,
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def load3() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def shard_processes(
    command: list[str],
    directory: Path,
    count: int,
    *,
    emulator: EmulatorProcess,
    workdir: Path,
    label: str,
    only: int | None = None,
) -> dict[str, Any]:
    """``count`` shard processes of ``command`` (plan or apply) started at once (or only shard ``only``); the
    fleet's figures."""
    workdir.mkdir(parents=True, exist_ok=True)
    load_before, cpu_before = load3(), emulator.cpu_seconds()
    procs = []
    started = time.perf_counter()
    for index in range(count) if only is None else [only]:
        result = workdir / f"{label}-shard{index}of{count}.json"
        argv = [*command[:1], str(directory), *command[1:]]
        argv += ["--endpoint-url", emulator.url, "--shard-index", str(index), "--shard-count", str(count)]
        with result.with_suffix(".err").open("w") as err:
            proc = subprocess.Popen(
                [sys.executable, "-m", "bench.fleet_measure", str(result), "--", "--log-format", "json", *argv],
                cwd=REPO,
                env=child_env(),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=err,
            )
        procs.append((index, result, proc))
    shards = []
    for index, result, proc in procs:
        proc.wait(timeout=CHILD_TIMEOUT)
        ended = time.perf_counter() - started
        figures = json.loads(result.read_text()) if result.exists() else {"status": proc.returncode}
        figures.update(index=index, endedAt=ended, accounts=_accounts_in(result.with_suffix(".err")))
        shards.append(figures)
    wall = max(s["endedAt"] for s in shards)
    problems = [f"shard {s['index']}: exit {s['status']}" for s in shards if s["status"] != 0]
    if problems:
        raise RuntimeError(f"{label} {count} shard(s): {'; '.join(problems)} (see {workdir}/{label}-*.err)")
    return {
        "shards": count,
        "wallSeconds": wall,
        "perShard": shards,
        "emulatorCpuSeconds": emulator.cpu_seconds() - cpu_before,
        "loadBefore": load_before,
        "loadAfter": load3(),
    }


def _accounts_in(err: Path) -> int | None:
    """How many accounts a shard planned: its "plan computed" log lines, one per account."""
    try:
        return err.read_text().count('"event": "plan computed"')
    except OSError:
        return None


def run_program(args: list[str], emulator: EmulatorProcess, log_path: Path) -> subprocess.CompletedProcess[str]:
    with log_path.open("w") as err:
        return subprocess.run(
            [sys.executable, "-m", "reconciler", "--log-format", "json", *args, "--endpoint-url", emulator.url],
            cwd=REPO,
            env=child_env(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=err,
            text=True,
            timeout=CHILD_TIMEOUT,
            check=False,
        )


def seed_fleet(
    accounts: list[FleetAccount], extra_roles: int, *, emulator: EmulatorProcess, work: Path, args: Any, log: TextIO
) -> dict[str, Any]:
    """The example applied by the product to ``accounts`` (a fleet directory of just them), then extra roles."""
    directory = work / f"seed-{accounts[0].name}-{accounts[-1].name}"
    write_fleet(directory, accounts)
    started, cpu = time.perf_counter(), emulator.cpu_seconds()
    print(f"[seed] applying the example to {len(accounts)} accounts...", file=log, flush=True)
    for attempt in range(3):
        # moto answers a concurrent IAM write with an HTML 500 now and then, which the product does not retry
        # (docs/benchmarks.md, apply): the change fails, and the next apply makes it, as an operator would
        try:
            shard_processes(
                ["apply", "--auto-approve"],
                directory,
                args.seed_shards,
                emulator=emulator,
                workdir=work / "seed",
                label=f"apply{attempt}-{directory.name}",
            )
            break
        except RuntimeError as exc:
            if attempt == 2:
                raise
            print(f"[seed] {exc}; applying again", file=log, flush=True)
    applied = time.perf_counter() - started
    print(f"[seed] applied in {applied:.0f}s; {extra_roles} extra roles each...", file=log, flush=True)
    roles = seed_extra_roles(
        emulator.url, accounts, extra_roles, progress=lambda line: print(f"[seed]   {line}", file=log, flush=True)
    )
    shutil.rmtree(directory, ignore_errors=True)
    return {
        "accounts": len(accounts),
        "extraRoles": extra_roles,
        "applySeconds": applied,
        "applyShards": args.seed_shards,
        "applyRuns": attempt + 1,
        "extraRoleCalls": roles["calls"],
        "extraRoleSeconds": roles["seconds"],
        "seconds": time.perf_counter() - started,
        "emulatorCpuSeconds": emulator.cpu_seconds() - cpu,
        "emulatorRssMb": emulator.rss_mb(),
    }


def count_calls(directory: Path, emulator: EmulatorProcess, work: Path, first: str) -> dict[str, Any]:
    """One plan of the whole fleet, calls counted per account; and the floor of the first account."""
    work.mkdir(parents=True, exist_ok=True)
    plan_result, floor_result = work / "plan-counted.json", work / "floor.json"
    for result, argv in (
        (plan_result, ["--count-calls", "--", "--log-format", "json", "plan", str(directory), "--output", "json"]),
        (floor_result, ["--floor", str(directory), "--account", first, "--endpoint", emulator.url]),
    ):
        if argv[0] != "--floor":
            argv += ["--endpoint-url", emulator.url]
        with result.with_suffix(".err").open("w") as err:
            done = subprocess.run(
                [sys.executable, "-m", "bench.fleet_measure", str(result), *argv],
                cwd=REPO,
                env=child_env(),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=err,
                timeout=CHILD_TIMEOUT,
                check=False,
            )
        if done.returncode != 0:
            raise RuntimeError(f"{result.stem} failed (exit {done.returncode}); see {result.with_suffix('.err')}")
    plan, floor = json.loads(plan_result.read_text()), json.loads(floor_result.read_text())
    by_account = plan["callsByAccount"]
    spokes = {a: c for a, c in by_account.items() if a != "caller"}
    totals = sorted(sum(c.values()) for c in spokes.values())
    first_id = fleet_accounts(1)[0].account_id
    return {
        "accounts": len(spokes),
        "totalCalls": sum(totals),
        "perAccount": {"min": totals[0], "median": statistics.median(totals), "max": totals[-1]},
        "callerCalls": by_account.get("caller", {}),
        "assumeRole": {
            "total": sum(plan["assumeRoleByAccount"].values()),
            "accounts": len(plan["assumeRoleByAccount"]),
        },
        "firstAccount": spokes.get(first_id, {}),
        "floor": floor["calls"],
        "floorSeen": floor["seen"],
        "planSeconds": plan["seconds"],
        "floorSeconds": floor["seconds"],
    }


def memory_runs(
    sizes: list[int], seeded: int, *, emulator: EmulatorProcess, work: Path, args: Any, log: TextIO
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Shard 0 of 4, ``plan``, over fleets of each size; the emulator is topped up to the largest first."""
    seeds = []
    largest = max(sizes)
    if largest > seeded:
        seeds.append(
            seed_fleet(
                fleet_accounts(largest)[seeded:],
                args.memory_extra_roles,
                emulator=emulator,
                work=work,
                args=args,
                log=log,
            )
        )
    runs = []
    for size in sizes:
        directory = work / f"fleet-{size}"
        write_fleet(directory, size)
        command = ["plan", "--output", "json"]
        reps = [
            shard_processes(
                command, directory, 4, emulator=emulator, workdir=work / "memory", label=f"mem{size}-{i}", only=0
            )
            for i in range(args.repeat)
        ]
        shard0 = [r["perShard"][0] for r in reps]
        runs.append(
            {
                "fleetAccounts": size,
                "shardAccounts": shard0[0]["accounts"],
                "peakRssMb": [s["peakRssMb"] for s in shard0],
                "cpuSeconds": [s["cpuSeconds"] for s in shard0],
                "wallSeconds": [s["endedAt"] for s in shard0],
            }
        )
        print(f"[memory] {size} accounts: shard 0 peak {[round(x) for x in runs[-1]['peakRssMb']]} MB", file=log)
        shutil.rmtree(directory, ignore_errors=True)
    return runs, seeds


def moved(ids: list[str], before: int = 4, after: int = 5) -> dict[str, Any]:
    from reconciler.manifests.fleet import moved_accounts

    count = len(moved_accounts(ids, before, after))
    return {"accounts": len(ids), "from": before, "to": after, "moved": count, "share": count / len(ids)}


def measure(args: argparse.Namespace, root: Path, log: TextIO) -> dict[str, Any]:
    results: dict[str, Any] = {"machine": machine(), "args": {k: str(v) for k, v in vars(args).items()}}

    def checkpoint() -> None:  # what is measured so far survives a run that is stopped
        if args.out:
            args.out.write_text(json.dumps(results, indent=1))

    results["loadBefore"] = load3()
    accounts = fleet_accounts(args.accounts)
    directory = root / "fleet"
    with EmulatorProcess(root / "emulator.log", ("--lean-accounts",)) as emulator:
        print(f"[fleet] emulator {emulator.url}; work dir {root}", file=log, flush=True)
        results["seed"] = [seed_fleet(accounts, args.extra_roles, emulator=emulator, work=root, args=args, log=log)]
        write_fleet(directory, args.accounts)
        print(f"[seed] {results['seed'][0]}", file=log, flush=True)
        runs: dict[str, dict[int, list[dict[str, Any]]]] = {"plan": {}, "apply": {}}
        for rep in range(0 if args.skip_runs else args.repeat):
            order = args.shards if rep % 2 == 0 else list(reversed(args.shards))
            for count in order:
                for program, command in (
                    ("plan", ["plan", "--output", "json"]),
                    ("apply", ["apply", "--auto-approve"]),
                ):
                    label = f"{program}-r{rep}"
                    run = shard_processes(
                        command, directory, count, emulator=emulator, workdir=root / "runs", label=label
                    )
                    runs[program].setdefault(count, []).append(run)
                    shards = run["perShard"]
                    print(
                        f"[run {rep + 1}/{args.repeat}] {program} x{count}: {run['wallSeconds']:.1f}s; accounts "
                        f"{[s['accounts'] for s in shards]}; peak MB {[round(s['peakRssMb']) for s in shards]}; "
                        f"emulator CPU {run['emulatorCpuSeconds']:.0f}s; load {run['loadBefore'][0]}",
                        file=log,
                        flush=True,
                    )
                    results["runs"] = {p: {str(n): r for n, r in by.items()} for p, by in runs.items()}
                    checkpoint()
        results["runs"] = {p: {str(n): r for n, r in by.items()} for p, by in runs.items() if by}
        if not args.skip_runs:
            print("[calls] counting one plan of the fleet, and the floor...", file=log, flush=True)
            results["calls"] = count_calls(directory, emulator, root / "calls", accounts[0].name)
            checkpoint()
        results["memory"], more = memory_runs(
            args.memory_accounts, args.accounts, emulator=emulator, work=root, args=args, log=log
        )
        results["seed"] += more
        results["emulatorRssMb"] = emulator.rss_mb()
    ids = [a.account_id for a in fleet_accounts(max([args.accounts, *args.memory_accounts]))]
    results["moved"] = [moved(ids[: args.accounts]), *([moved(ids)] if len(ids) > args.accounts else [])]
    results["loadAfter"] = load3()
    return results


def main(argv: list[str] | None = None) -> int:
    from bench.fleet_report import tables

    parser = argparse.ArgumentParser(prog="python -m bench.fleet_bench", description=__doc__.split("\n\n")[0])
    ints = lambda text: [int(x) for x in text.split(",") if x.strip()]  # noqa: E731
    parser.add_argument("--accounts", type=int, default=100, help="accounts in the fleet (default 100)")
    parser.add_argument("--extra-roles", type=int, default=300, help="unmanaged roles per account (default 300)")
    parser.add_argument("--shards", type=ints, default=[1, 2, 4], help="shard counts (default 1,2,4)")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each shard count (default 3)")
    parser.add_argument(
        "--memory-accounts", type=ints, default=[100, 400], help="fleet sizes for shard 0 of 4 (default 100,400)"
    )
    parser.add_argument(
        "--memory-extra-roles",
        type=int,
        help="extra roles of the accounts seeded for the memory part only (default: --extra-roles)",
    )
    parser.add_argument(
        "--skip-runs", action="store_true", help="only seed, the memory part and the moved accounts (no shard runs)"
    )
    parser.add_argument("--seed-shards", type=int, default=2, help="apply processes that seed the fleet (default 2)")
    parser.add_argument("--workdir", type=Path, help="work directory (default: a temporary one, removed)")
    parser.add_argument("--out", type=Path, help="also write the raw figures to this JSON file")
    parser.add_argument("--report", type=Path, nargs="+", help="only print the tables of earlier --out files")
    args = parser.parse_args(argv)
    if args.report:
        print("\n\n".join(tables(json.loads(path.read_text())) for path in args.report))
        return 0
    if args.memory_extra_roles is None:
        args.memory_extra_roles = args.extra_roles
    if args.accounts < 1 or args.repeat < 1 or not args.shards or min(args.shards) < 1:
        parser.error("--accounts, --repeat and every shard count must be positive")
    root = args.workdir or Path(tempfile.mkdtemp(prefix="fleet-bench-"))
    root.mkdir(parents=True, exist_ok=True)
    try:
        results = measure(args, root, sys.stderr)
    finally:
        if args.workdir is None:
            shutil.rmtree(root, ignore_errors=True)
    if args.out:
        args.out.write_text(json.dumps(results, indent=1))
    print(tables(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
