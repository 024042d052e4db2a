"""The apply benchmark: create 1,000 roles with their policies; a no-op apply against its plan.

    .venv/bin/python -m bench.apply_bench                       # the issue's figures (about 15-25 min here)
    .venv/bin/python -m bench.apply_bench --roles 100 --scale 0.1 --repeat 1   # a smoke run, about 2 min

From the issue: "Applying 1,000 new roles with their policies against the emulator: report wall time and
calls; writes must run in parallel, and a no-op apply of the large account from the preview benchmark
must take no longer than its plan plus 10%".

1. **Create.** Manifests of N roles (``--roles``, default 1,000), each attaching a customer managed policy
   of its own (N policies), on an empty account. For ``--workers`` 8 (the CLI's default) and 1, each on a
   FRESH emulator in a process of its own (``bench.emulator``): ``reconciler apply`` in a child process
   (``bench.apply_measure``: the real CLI, with a ``CallRecorder`` and an in-flight counter on its
   clients), timed by the wall clock around the child; then ``reconciler plan`` must find nothing to do.
   Reported: wall time, calls and HTTP attempts by operation, the peak number of writes in flight, and
   the speed-up of 8 workers over 1.
2. **No-op apply.** The large account of the plan benchmark (``bench.seed``, scale ``--scale``, default 1:
   2,970 resources + 5% noise) seeded into a fresh emulator, its invariant errors excepted in Settings
   (see ``except_refusing_findings``); then ``reconciler plan`` and
   ``reconciler apply`` (nothing to change), ``--repeat`` times each (default 3), alternating which goes
   first, each a fresh process timed by the wall clock. Target: median(apply) <= 1.10 x median(plan).

Prints markdown tables and PASS/FAIL; ``--json FILE`` keeps every figure; ``--check`` exits 1 on a FAIL.
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
import time
from collections import Counter
from pathlib import Path
from typing import Any

import yaml

from bench.plan_bench import EmulatorProcess, child_env, loadavg
from bench.seed import ACCOUNT_ID, OWNERSHIP_KEY, OWNERSHIP_VALUE, REGION, Sizes, generate, seed

REPO = Path(__file__).resolve().parents[1]
CHILD_TIMEOUT = 3600.0  # seconds; nothing here waits forever
NOOP_SLACK = 1.10
DOCS_PER_FILE = 250


# --------------------------------------------------------------------------------------------------
# manifests: N roles, each with its own policy
# --------------------------------------------------------------------------------------------------


def _doc(kind: str, name: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {"apiVersion": "reconciler/v1", "kind": kind, "metadata": {"name": name}, "spec": spec}


def role_manifests(root: Path, roles: int) -> Path:
    """``root``/manifests: Settings, ``roles`` Policy and ``roles`` Role manifests (role i attaches policy i)."""
    out = root / "manifests"
    shutil.rmtree(out, ignore_errors=True)
    (out / "policies").mkdir(parents=True)
    (out / "roles").mkdir()
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    settings = _doc(
        "Settings",
        "apply-bench",
        {
            "accountId": ACCOUNT_ID,
            "region": REGION,
            "ownershipTag": {"key": OWNERSHIP_KEY, "value": OWNERSHIP_VALUE},
            "prune": True,
            "maxDeletes": 10,
        },
    )
    (out / "settings.yaml").write_text(yaml.dump(settings, Dumper=dumper, sort_keys=False))
    policies, role_docs = [], []
    for i in range(roles):
        bucket = f"apply-bench-data-{i % 50:02d}"
        policies.append(
            _doc(
                "Policy",
                f"apply-bench-policy-{i:05d}",
                {
                    "description": f"Data access of apply-bench-role-{i:05d}",
                    "document": {
                        "Version": "2012-10-17",
                        "Statement": [
                            {
                                "Sid": "List",
                                "Effect": "Allow",
                                "Action": "s3:ListBucket",
                                "Resource": f"arn:aws:s3:::{bucket}",
                            },
                            {
                                "Sid": "Objects",
                                "Effect": "Allow",
                                "Action": ["s3:GetObject", "s3:PutObject"],
                                "Resource": f"arn:aws:s3:::{bucket}/team-{i:05d}/*",
                            },
                        ],
                    },
                    "tags": {"team": f"team-{i % 7}"},
                },
            )
        )
        role_docs.append(
            _doc(
                "Role",
                f"apply-bench-role-{i:05d}",
                {
                    "description": f"Benchmark role {i}",
                    "trustedServices": ["sagemaker.amazonaws.com"],
                    "policies": [f"apply-bench-policy-{i:05d}"],
                    "tags": {"team": f"team-{i % 7}"},
                },
            )
        )
    for directory, docs in (("policies", policies), ("roles", role_docs)):
        for start in range(0, len(docs), DOCS_PER_FILE):
            text = yaml.dump_all(docs[start : start + DOCS_PER_FILE], Dumper=dumper, sort_keys=False)
            (out / directory / f"{directory}-{start // DOCS_PER_FILE:03d}.yaml").write_text(text)
    return out


# --------------------------------------------------------------------------------------------------
# running the CLI
# --------------------------------------------------------------------------------------------------


def _children_cpu() -> float:
    """User + system CPU seconds of the waited-for children of this process so far."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def cli(args: list[str], workdir: Path, label: str, *, measure: bool = False) -> dict[str, Any]:
    """``reconciler --log-format json ARGS`` in a fresh process: exit status, wall seconds, change lines."""
    stdout, stderr = workdir / f"{label}.out", workdir / f"{label}.err"
    result_file = workdir / f"{label}.json"
    full = ["--log-format", "json", *args]
    command = (
        [sys.executable, "-m", "bench.apply_measure", str(result_file), "--", *full]
        if measure
        else [sys.executable, "-m", "reconciler", *full]
    )
    load_before = loadavg()
    with stdout.open("w") as out, stderr.open("w") as err:
        cpu_before = _children_cpu()
        started = time.perf_counter()
        done = subprocess.run(
            command,
            cwd=REPO,
            env=child_env(),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
            timeout=CHILD_TIMEOUT,
            check=False,
        )
        seconds = time.perf_counter() - started
        cpu_seconds = _children_cpu() - cpu_before
    events = []
    for line in stderr.read_text().splitlines():
        try:
            events.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    changes = [e for e in events if e.get("event") == "change"]
    run: dict[str, Any] = {
        "status": done.returncode,
        "seconds": seconds,
        "cpuSeconds": cpu_seconds,
        "changes": dict(Counter(f"{e.get('action')}:{e.get('status')}" for e in changes)),
        "planSeconds": [e.get("seconds") for e in events if e.get("event") == "plan computed"],
        "loadavg": [round(load_before, 2), round(loadavg(), 2)],
        "stderrTail": stderr.read_text()[-3000:] if done.returncode not in (0, 2) else "",
    }
    if measure and result_file.exists():
        run["measured"] = json.loads(result_file.read_text())
    return run


def endpoint(emulator: EmulatorProcess) -> list[str]:
    return ["--endpoint-url", emulator.url]


# --------------------------------------------------------------------------------------------------
# 1. create N roles
# --------------------------------------------------------------------------------------------------


def create_run(roles: int, workers: int, root: Path, log: Any) -> dict[str, Any]:
    """One fresh emulator; apply until it succeeds (at most 3 runs: an apply that crashes, e.g. on the
    emulator's HTML 500 under concurrent IAM writes, is run again as an operator would); then plan."""
    workdir = root / f"create-w{workers}"
    workdir.mkdir(parents=True, exist_ok=True)
    manifests = role_manifests(workdir, roles)
    runs: list[dict[str, Any]] = []
    with EmulatorProcess(workdir / "emulator.log") as emulator:
        print(f"[create x{roles}, workers {workers}] emulator {emulator.url}; applying...", file=log, flush=True)
        for attempt in range(3):
            cpu_before = emulator.cpu_seconds()
            run = cli(
                ["apply", "--auto-approve", str(manifests), *endpoint(emulator), "--workers", str(workers)],
                workdir,
                f"apply-{attempt}",
                measure=True,
            )
            run["emulatorCpuSeconds"] = emulator.cpu_seconds() - cpu_before
            runs.append(run)
            crash = run.get("measured", {}).get("exception")
            print(
                f"[create x{roles}, workers {workers}] apply #{attempt}: exit {run['status']} in "
                f"{run['seconds']:.1f}s {run['changes']}" + (f" CRASHED: {crash}" if crash else ""),
                file=log,
                flush=True,
            )
            if run["status"] == 0:
                break
        check = cli(["plan", str(manifests), *endpoint(emulator)], workdir, "plan-after")
    return {
        "roles": roles,
        "workers": workers,
        "runs": runs,
        "planAfter": {"status": check["status"], "seconds": check["seconds"]},
    }


# --------------------------------------------------------------------------------------------------
# 2. no-op apply vs plan on the large account
# --------------------------------------------------------------------------------------------------


def except_refusing_findings(manifests: Path, emulator: EmulatorProcess, workdir: Path) -> list[dict[str, str]]:
    """Add a Settings.exceptions entry for every error finding of the security invariants.

    The plan benchmark's account breaks some invariants (roles that may write buckets they are not
    writers of, groups without MFA): plan and apply would both stop at the invariant gate (exit 3), and
    apply would never reach its "nothing to do" path. Settings is not an AWS resource: excepting the
    findings changes nothing in the account or in what the plan reads.
    """
    done = subprocess.run(
        [sys.executable, "-m", "reconciler", "plan", str(manifests), *endpoint(emulator), "--output", "json"],
        cwd=REPO,
        env=child_env(),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=CHILD_TIMEOUT,
        check=False,
    )
    if done.returncode not in (0, 2, 3):
        raise RuntimeError(f"plan failed (exit {done.returncode}):\n{done.stderr[-3000:]}")
    findings = json.loads(done.stdout).get("invariants", {}).get("findings", [])
    refusing = sorted({(f["rule"], f["resource"]) for f in findings if f.get("severity") == "error"})
    exceptions = [
        {"rule": rule, "resource": resource, "reason": "measured, not deployed", "owner": "ml-platform"}
        for rule, resource in refusing
    ]
    if exceptions:
        path = manifests / "settings.yaml"
        settings = yaml.safe_load(path.read_text())
        settings["spec"]["exceptions"] = exceptions
        path.write_text(yaml.safe_dump(settings, sort_keys=False))
    (workdir / "exceptions.json").write_text(json.dumps(exceptions, indent=1))
    return exceptions


def noop_runs(scale: float, repeat: int, root: Path, log: Any) -> dict[str, Any]:
    workdir = root / f"noop-scale-{scale:g}"
    sizes = Sizes().scaled(scale)
    manifests = generate(workdir, sizes, seed=1)
    runs: dict[str, list[dict[str, Any]]] = {"plan": [], "apply": []}
    with EmulatorProcess(workdir / "emulator.log") as emulator:
        print(f"[no-op scale {scale:g}] {sizes.total()} manifests; seeding {emulator.url}...", file=log, flush=True)
        report = seed(
            manifests,
            emulator.url,
            noise=0.05,
            workers=16,
            progress=lambda line: print(f"[no-op scale {scale:g}] {line}", file=log, flush=True),
        )
        exceptions = except_refusing_findings(manifests, emulator, workdir)
        print(
            f"[no-op scale {scale:g}] {len(exceptions)} invariant findings excepted in Settings "
            f"({dict(Counter(e['rule'] for e in exceptions))})",
            file=log,
            flush=True,
        )
        for i in range(repeat):
            order = ("plan", "apply") if i % 2 == 0 else ("apply", "plan")
            for program in order:
                cpu_before = emulator.cpu_seconds()
                run = cli([program, str(manifests), *endpoint(emulator)], workdir, f"{program}-{i}")
                run["emulatorCpuSeconds"] = emulator.cpu_seconds() - cpu_before
                runs[program].append(run)
                print(
                    f"[no-op scale {scale:g}] {program} #{i}: exit {run['status']} in {run['seconds']:.1f}s "
                    f"(plan computed in {run['planSeconds']}s; load {run['loadavg']})",
                    file=log,
                    flush=True,
                )
    return {
        "scale": scale,
        "sizes": sizes.as_dict(),
        "seedSeconds": report.seconds,
        "seedCalls": report.calls,
        "exceptions": dict(Counter(e["rule"] for e in exceptions)),
        "runs": runs,
    }


# --------------------------------------------------------------------------------------------------
# report
# --------------------------------------------------------------------------------------------------


def _median(runs: list[dict[str, Any]], key: str = "seconds") -> float:
    return statistics.median(r[key] for r in runs)


def tables(creates: list[dict[str, Any]], noop: dict[str, Any] | None) -> str:
    lines: list[str] = []
    if creates:
        lines += [
            "| roles + policies | workers | apply runs to converge (exit, changes done, wall s) | total wall s "
            "| first run in-process s | calls (writes) | HTTP attempts | peak writes in flight | emulator CPU s "
            "| plan after | load avg |",
            "|---:|---:|---|---:|---:|---:|---:|---:|---:|---|---|",
        ]
        for c in creates:
            runs = c["runs"]
            measured = [r.get("measured", {}) for r in runs]
            writes = sum(sum(m.get("calls", {}).get("write", {}).values()) for m in measured)
            calls = writes + sum(sum(m.get("calls", {}).get("read", {}).values()) for m in measured)
            attempts = sum(sum(sum(v.values()) for v in m.get("attempts", {}).values()) for m in measured)
            peak = max(m.get("peakInFlight", {}).get("writes", 0) for m in measured)
            described = "; ".join(
                f"{r['status']}{' (crash)' if r.get('measured', {}).get('exception') else ''}, "
                f"{sum(n for k, n in r['changes'].items() if k.endswith(':done')):,}, {r['seconds']:.1f}"
                for r in runs
            )
            after = "empty" if c["planAfter"]["status"] == 0 else f"exit {c['planAfter']['status']}"
            latency = measured[0].get("latencyMs", 0)
            lines.append(
                f"| {c['roles']:,} + {c['roles']:,}{f' (+{latency:g} ms a request)' if latency else ''} "
                f"| {c['workers']} | {described} "
                f"| {sum(r['seconds'] for r in runs):.1f} | {measured[0].get('seconds', 0):.1f} "
                f"| {calls:,} ({writes:,}) | {attempts:,} | {peak} "
                f"| {sum(r['emulatorCpuSeconds'] for r in runs):.1f} | {after} "
                f"| {runs[0]['loadavg'][0]}-{runs[-1]['loadavg'][1]} |"
            )
        first = {c["workers"]: c["runs"][0] for c in creates}
        if 1 in first and 8 in first:
            rate = {
                w: sum(n for k, n in r["changes"].items() if k.endswith(":done")) / r["seconds"]
                for w, r in first.items()
            }
            lines += [
                "",
                f"Changes done per second in the first run: workers 8 {rate[8]:.1f}/s, workers 1 "
                f"{rate[1]:.1f}/s: a speed-up of {rate[8] / rate[1]:.2f}x.",
            ]
        workers = [c["workers"] for c in creates]
        ops: dict[str, dict[int, tuple[int, int]]] = {}
        for c in creates:
            for m in (r.get("measured", {}) for r in c["runs"]):
                for kind in ("read", "write"):
                    for op, n in m.get("calls", {}).get(kind, {}).items():
                        calls_before, tries_before = ops.setdefault(op, {}).get(c["workers"], (0, 0))
                        tries = m.get("attempts", {}).get(kind, {}).get(op, 0)
                        ops[op][c["workers"]] = (calls_before + n, tries_before + tries)
        lines += [
            "",
            "Calls by operation, all runs of each (HTTP attempts in brackets where botocore retried):",
            "",
            "| operation | " + " | ".join(f"workers {w}" for w in workers) + " |",
            "|---|" + "---:|" * len(workers),
        ]
        for op in sorted(ops):
            cells = []
            for w in workers:
                n, tries = ops[op].get(w, (0, 0))
                cells.append(f"{n:,}" + (f" [{tries:,}]" if tries and tries != n else ""))
            lines.append(f"| {op} | " + " | ".join(cells) + " |")
    if noop is not None:
        plan, apply = noop["runs"]["plan"], noop["runs"]["apply"]
        lines += [
            "",
            "| account (scale) | program | runs wall s | median wall s | runs CPU s | median CPU s | exit "
            "| plan computed in (s) | emulator CPU s | load avg |",
            "|---|---|---|---:|---|---:|---|---|---|---|",
        ]
        for name, runs in (("plan", plan), ("apply (no-op)", apply)):
            walls = " / ".join(f"{r['seconds']:.1f}" for r in runs)
            cpus = " / ".join(f"{r.get('cpuSeconds', float('nan')):.1f}" for r in runs)
            median_cpu = statistics.median(r.get("cpuSeconds", float("nan")) for r in runs)
            statuses = ", ".join(str(r["status"]) for r in runs)
            computed = " / ".join(str(r["planSeconds"]) for r in runs)
            cpu = " / ".join(f"{r['emulatorCpuSeconds']:.1f}" for r in runs)
            load = " / ".join(f"{r['loadavg'][0]}-{r['loadavg'][1]}" for r in runs)
            lines.append(
                f"| {sum(noop['sizes'].values()):,} + 5% noise ({noop['scale']:g}) | {name} | {walls} "
                f"| {_median(runs):.1f} | {cpus} | {median_cpu:.1f} | {statuses} | {computed} | {cpu} "
                f"| {load} |"
            )
        pairs = " / ".join(f"{a['seconds'] / p['seconds']:.3f}" for p, a in zip(plan, apply, strict=False))
        lines += ["", f"Apply / plan wall time, run by run (the two programs of a run ran back to back): {pairs}."]
    return "\n".join(lines)


def checks(creates: list[dict[str, Any]], noop: dict[str, Any] | None) -> list[tuple[str, bool, str]]:
    out: list[tuple[str, bool, str]] = []
    for c in creates:
        first, last = c["runs"][0], c["runs"][-1]
        expected = 2 * c["roles"]
        done = sum(n for k, n in first["changes"].items() if k.endswith(":done"))
        out.append(
            (
                f"workers {c['workers']}: one apply creates all {expected:,} resources",
                first["status"] == 0 and done == expected,
                f"exit {first['status']}, {done:,} change lines done"
                + (
                    f"; crashed: {first['measured']['exception']}" if first.get("measured", {}).get("exception") else ""
                ),
            )
        )
        out.append(
            (
                f"workers {c['workers']}: converged (plan empty) after {len(c['runs'])} apply run(s)",
                last["status"] == 0 and c["planAfter"]["status"] == 0,
                f"last apply exit {last['status']}, plan after exit {c['planAfter']['status']}",
            )
        )
        peak = max(r.get("measured", {}).get("peakInFlight", {}).get("writes", 0) for r in c["runs"])
        if c["workers"] > 1:
            out.append(
                (
                    f"workers {c['workers']}: writes run in parallel",
                    peak > 1,
                    f"up to {peak} mutating calls in flight at once",
                )
            )
    if noop is not None:
        plan, apply = _median(noop["runs"]["plan"]), _median(noop["runs"]["apply"])
        out.append(
            (
                f"no-op apply <= {NOOP_SLACK:.2f} x plan (scale {noop['scale']:g})",
                apply <= NOOP_SLACK * plan,
                f"median {apply:.2f}s vs {plan:.2f}s ({apply / plan:.3f}x)",
            )
        )
        if all("cpuSeconds" in r for r in noop["runs"]["plan"] + noop["runs"]["apply"]):
            plan_cpu = _median(noop["runs"]["plan"], "cpuSeconds")
            apply_cpu = _median(noop["runs"]["apply"], "cpuSeconds")
            out.append(
                (
                    f"no-op apply CPU <= {NOOP_SLACK:.2f} x plan CPU (scale {noop['scale']:g}; not the target, "
                    "the steadier figure on a shared machine)",
                    apply_cpu <= NOOP_SLACK * plan_cpu,
                    f"median {apply_cpu:.2f}s vs {plan_cpu:.2f}s ({apply_cpu / plan_cpu:.3f}x)",
                )
            )
        statuses = {r["status"] for r in noop["runs"]["apply"]}
        out.append(
            ("the no-op apply changes nothing and exits 0", statuses == {0}, f"exit statuses {sorted(statuses)}")
        )
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.apply_bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--roles", type=int, default=1000, help="roles (each with its own policy) to create")
    parser.add_argument(
        "--workers", type=int, action="append", help="apply --workers values to measure (repeatable; default 8 and 1)"
    )
    parser.add_argument(
        "--latency-ms",
        type=float,
        default=0.0,
        help="create part: add this much latency to every HTTP attempt (an AWS round trip; default 0)",
    )
    parser.add_argument("--scale", type=float, default=1.0, help="plan-benchmark account scale for the no-op part")
    parser.add_argument("--repeat", type=int, default=3, help="runs of plan and of no-op apply (default 3)")
    parser.add_argument("--skip-create", action="store_true", help="only the no-op part")
    parser.add_argument("--skip-noop", action="store_true", help="only the create part")
    parser.add_argument("--workdir", type=Path, help="where manifests and logs go (default: a temporary directory)")
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    parser.add_argument("--json", type=Path, help="write every figure to this file")
    parser.add_argument("--check", action="store_true", help="exit 1 when a target fails")
    parser.add_argument(
        "--report",
        type=Path,
        nargs="+",
        metavar="JSON",
        help="only print the tables of earlier --json results (creates and no-op are merged)",
    )
    args = parser.parse_args(argv)
    if args.latency_ms:
        os.environ["APPLY_BENCH_LATENCY_MS"] = str(args.latency_ms)  # read by bench.apply_measure (create part)
    if args.report:  # each file's tables in turn (the create runs of two files are not merged)
        for path in args.report:
            saved = json.loads(path.read_text())
            creates = [c for c in saved.get("creates") or [] if "runs" in c]
            print(f"{path}:\n\n{tables(creates, saved.get('noop'))}\n")
            for name, ok, detail in checks(creates, saved.get("noop")):
                print(f"{'PASS' if ok else 'FAIL'}  {name}: {detail}")
            print()
        return 0
    root = args.workdir or Path(tempfile.mkdtemp(prefix="apply-bench-"))
    root.mkdir(parents=True, exist_ok=True)
    log = sys.stderr
    try:
        creates = [] if args.skip_create else [create_run(args.roles, w, root, log) for w in (args.workers or [8, 1])]
        noop = None if args.skip_noop else noop_runs(args.scale, args.repeat, root, log)
    finally:
        if not args.keep and args.workdir is None:
            shutil.rmtree(root, ignore_errors=True)
    if args.json:
        args.json.write_text(json.dumps({"creates": creates, "noop": noop}, indent=1))
    print(tables(creates, noop))
    print()
    results = checks(creates, noop)
    for name, ok, detail in results:
        print(f"{'PASS' if ok else 'FAIL'}  {name}: {detail}")
    return 1 if args.check and not all(ok for _, ok, _ in results) else 0


if __name__ == "__main__":
    sys.exit(main())
