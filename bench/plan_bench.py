"""The plan benchmark: ``plan`` against a large seeded account, next to the floor of bare minimal reads.

    .venv/bin/python -m bench.plan_bench --scale 1 --scale 4 [--repeat 3] [--tracemalloc] [--check]

For each scale N: write the manifests of an account N times the base sizes (``bench.seed``), start a
FRESH emulator in a process of its own (``bench.emulator``), seed it, then run ``plan`` (load the
manifests + ``preview``) and the floor (``bench.floor``) each in a fresh process (``bench.measure``),
``--repeat`` times, alternating which goes first, and keep the median wall time. Prints markdown
tables (figures, wall-time breakdown, calls by operation) and PASS/FAIL per target; with ``--check``
exits 1 when a target fails.

Targets (from the issue): IAM read in one GetAccountAuthorizationDetails pass; total calls within 5%
of the floor; wall time within 1.3x of the floor; peak memory under 300 MB; wall time linear in N
(wall(kN) <= 1.1 * k * wall(N), i.e. 4.4x for 4N).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import selectors
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from bench.seed import Sizes, add_size_arguments, generate, noise_sizes, seed, sizes_from

REPO = Path(__file__).resolve().parents[1]

# Targets
CALLS_SLACK = 1.05
WALL_SLACK = 1.3
PEAK_MB = 300.0
LINEAR_SLACK = 1.1

# Bounds: nothing here waits forever.
EMULATOR_START_TIMEOUT = 120.0
CHILD_TIMEOUT = 1800.0

_AWS_ENV_TO_CLEAR = (
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_REGION",
    "AWS_ROLE_ARN",
    "AWS_ROLE_SESSION_NAME",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_ENDPOINT_URL",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN",
    "AWS_MAX_ATTEMPTS",
    "AWS_RETRY_MODE",
    "MOTO_ACCOUNT_ID",
)


def child_env() -> dict[str, str]:
    """The environment of every child: dummy credentials, no profile, nothing but 127.0.0.1."""
    env = {k: v for k, v in os.environ.items() if k not in _AWS_ENV_TO_CLEAR and not k.startswith("AWS_ENDPOINT_URL_")}
    env.update(
        {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "ap-northeast-1",
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            "AWS_EC2_METADATA_DISABLED": "true",
            "NO_PROXY": "127.0.0.1,localhost",
            "PYTHONPATH": str(REPO) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else ""),
        }
    )
    return env


def loadavg() -> float:
    return os.getloadavg()[0]


class EmulatorProcess:
    """``python -m bench.emulator`` as a child process: its URL, its CPU time, and a bounded stop."""

    def __init__(self, log: Path, args: tuple[str, ...] = ()) -> None:
        self._log = log.open("w")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bench.emulator", *args],
            cwd=REPO,
            env=child_env(),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log,
            text=True,
        )
        assert self.proc.stdout is not None
        with selectors.DefaultSelector() as selector:
            selector.register(self.proc.stdout, selectors.EVENT_READ)
            if not selector.select(timeout=EMULATOR_START_TIMEOUT):
                self.stop()
                raise RuntimeError(f"the emulator did not start within {EMULATOR_START_TIMEOUT:.0f}s; see {log}")
        self.url = self.proc.stdout.readline().strip()
        if not self.url.startswith("http://127.0.0.1:"):
            self.stop()
            raise RuntimeError(f"the emulator did not report a 127.0.0.1 URL ({self.url!r}); see {log}")

    def cpu_seconds(self) -> float:
        """User + system CPU time of the emulator process so far (Linux /proc)."""
        try:
            stat = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return float("nan")
        return (int(stat[11]) + int(stat[12])) / os.sysconf("SC_CLK_TCK")

    def rss_mb(self) -> float:
        try:
            for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
        except OSError:
            pass
        return float("nan")

    def stop(self) -> None:
        if self.proc.poll() is None:
            try:
                if self.proc.stdin is not None:
                    self.proc.stdin.close()  # bench.emulator stops at EOF on stdin
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.terminate()
                try:
                    self.proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait(timeout=10)
        self._log.close()

    def __enter__(self) -> EmulatorProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def run_child(program: str, workdir: Path, emulator: EmulatorProcess, *, trace: bool = False) -> dict[str, Any]:
    """One fresh process of ``bench.measure``; its result plus the emulator's CPU time meanwhile."""
    out = workdir / f"result-{program}.json"
    out.unlink(missing_ok=True)
    command = [
        sys.executable,
        "-m",
        "bench.measure",
        program,
        "--workdir",
        str(workdir),
        "--endpoint",
        emulator.url,
        "--out",
        str(out),
    ]
    if trace:
        command.append("--tracemalloc")
    load_before = loadavg()
    cpu_before = emulator.cpu_seconds()
    started = time.perf_counter()
    done = subprocess.run(
        command, cwd=REPO, env=child_env(), capture_output=True, text=True, timeout=CHILD_TIMEOUT, check=False
    )
    process_seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"{program} failed (exit {done.returncode}):\n{done.stderr[-4000:]}")
    result: dict[str, Any] = json.loads(out.read_text())
    result["processSeconds"] = process_seconds
    result["emulatorCpuSeconds"] = emulator.cpu_seconds() - cpu_before
    result["loadavg"] = [round(load_before, 2), round(loadavg(), 2)]
    return result


@dataclass
class ScaleResult:
    scale: float
    sizes: Sizes
    noise: Sizes
    seed_seconds: float = 0.0
    seed_calls: int = 0
    emulator_rss_mb: float = 0.0
    runs: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: {"plan": [], "floor": []})
    traced: dict[str, dict[str, Any]] = field(default_factory=dict)

    def median(self, program: str, key: str = "seconds") -> float:
        return statistics.median(r[key] for r in self.runs[program])

    def most(self, program: str, key: str) -> float:
        return max(r[key] for r in self.runs[program])

    def calls(self, program: str) -> dict[str, int]:
        return dict(self.runs[program][0]["calls"])

    def total_calls(self, program: str) -> int:
        return sum(self.calls(program).values())

    def resources(self) -> int:
        return self.sizes.total() + self.noise.total()

    def as_json(self) -> dict[str, Any]:
        return {
            "scale": self.scale,
            "sizes": self.sizes.as_dict(),
            "noise": self.noise.as_dict(),
            "seedSeconds": self.seed_seconds,
            "seedCalls": self.seed_calls,
            "emulatorRssMb": self.emulator_rss_mb,
            "runs": self.runs,
            "traced": self.traced,
        }


def measure_scale(scale: float, base: Sizes, args: argparse.Namespace, root: Path, log: TextIO) -> ScaleResult:
    sizes = base.scaled(scale)
    result = ScaleResult(scale, sizes, noise_sizes(sizes, args.noise))
    workdir = root / f"scale-{scale:g}"
    manifest_dir = generate(workdir, sizes, seed=args.seed)
    print(
        f"[scale {scale:g}] {sizes.total()} manifests + {result.noise.total()} noise resources in {workdir}",
        file=log,
        flush=True,
    )
    with EmulatorProcess(workdir / "emulator.log") as emulator:
        print(
            f"[scale {scale:g}] emulator at {emulator.url} (pid {emulator.proc.pid}); seeding...", file=log, flush=True
        )
        report = seed(
            manifest_dir,
            emulator.url,
            noise=args.noise,
            workers=args.workers,
            progress=lambda line: print(f"[scale {scale:g}]   {line}", file=log, flush=True),
        )
        result.seed_seconds, result.seed_calls = report.seconds, report.calls
        print(f"[scale {scale:g}] seeded with {report.calls} calls in {report.seconds:.0f}s", file=log, flush=True)
        for i in range(args.repeat):
            order = ("plan", "floor") if i % 2 == 0 else ("floor", "plan")
            for program in order:
                run = run_child(program, workdir, emulator)
                result.runs[program].append(run)
                print(
                    f"[scale {scale:g}] run {i + 1}/{args.repeat} {program}: {run['seconds']:.2f}s, "
                    f"{sum(run['calls'].values())} calls, peak {run['peakRssMb']:.0f} MB, "
                    f"emulator CPU {run['emulatorCpuSeconds']:.1f}s, load {run['loadavg']}",
                    file=log,
                    flush=True,
                )
        if args.tracemalloc:
            for program in ("plan", "floor"):
                run = run_child(program, workdir, emulator, trace=True)
                result.traced[program] = run
                print(
                    f"[scale {scale:g}] tracemalloc {program}: peak {run['tracemallocPeakMb']:.0f} MB",
                    file=log,
                    flush=True,
                )
        result.emulator_rss_mb = emulator.rss_mb()
    if not args.keep:
        shutil.rmtree(workdir / "manifests", ignore_errors=True)
    return result


# --------------------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------------------


def _ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}x" if b else "n/a"


def tables(results: list[ScaleResult]) -> str:
    lines = [
        "| scale | resources (git + noise) | plan wall s | floor wall s | ratio | plan calls | floor calls "
        "| calls ratio | GAAD calls | plan peak MB | floor peak MB | plan changes |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        plan, floor = r.median("plan"), r.median("floor")
        gaad = r.calls("plan").get("iam:GetAccountAuthorizationDetails", 0)
        lines.append(
            f"| {r.scale:g} | {r.sizes.total():,} + {r.noise.total():,} | {plan:.2f} | {floor:.2f} | "
            f"{_ratio(plan, floor)} | {r.total_calls('plan'):,} | {r.total_calls('floor'):,} | "
            f"{_ratio(r.total_calls('plan'), r.total_calls('floor'))} | {gaad} | {r.most('plan', 'peakRssMb'):.0f} | "
            f"{r.most('floor', 'peakRssMb'):.0f} | {r.runs['plan'][0]['changes']} |"
        )
    lines += [
        "",
        "Where plan's time goes (medians; CPU seconds are the client's own, and the emulator's while it ran):",
        "",
        "| scale | load manifests s | read s | diff s | access diff s | invariants s (alongside the read) "
        "| preview/floor "
        "| plan CPU s | floor CPU s "
        "| emulator CPU s (plan / floor) | RSS after imports MB | plan ru_maxrss MB "
        "| tracemalloc peak MB (plan / floor) | load avg |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        rules = r.median("plan", "rulesSeconds")
        load, preview, diff, access = (
            r.median("plan", "loadSeconds"),
            r.median("plan", "previewSeconds"),
            r.median("plan", "diffSeconds"),
            r.median("plan", "accessSeconds"),
        )
        traced = (
            f"{r.traced['plan']['tracemallocPeakMb']:.0f} / {r.traced['floor']['tracemallocPeakMb']:.0f}"
            if r.traced
            else "not run"
        )
        loads = [x for p in ("plan", "floor") for run in r.runs[p] for x in run["loadavg"]]
        lines.append(
            f"| {r.scale:g} | {load:.2f} | {preview - diff - access:.2f} | {diff:.2f} | {access:.2f} | {rules:.2f} | "
            f"{_ratio(preview, r.median('floor'))} | {r.median('plan', 'cpuSeconds'):.1f} | "
            f"{r.median('floor', 'cpuSeconds'):.1f} | {r.median('plan', 'emulatorCpuSeconds'):.1f} / "
            f"{r.median('floor', 'emulatorCpuSeconds'):.1f} | {r.median('plan', 'baselineRssMb'):.0f} | "
            f"{r.most('plan', 'ruMaxrssMb'):.0f} | {traced} | "
            f"{min(loads):.1f}-{max(loads):.1f} |"
        )
    ops = sorted({op for r in results for p in ("plan", "floor") for op in r.calls(p)})
    header = " | ".join(f"plan @{r.scale:g} | floor @{r.scale:g}" for r in results)
    lines += ["", "Calls by operation:", "", f"| operation | {header} |", "|---|" + "---:|" * (2 * len(results))]
    for op in ops:
        cells = " | ".join(f"{r.calls('plan').get(op, 0):,} | {r.calls('floor').get(op, 0):,}" for r in results)
        lines.append(f"| {op} | {cells} |")
    lines += ["", "Seeding (not measured against any target):", ""]
    for r in results:
        lines.append(
            f"- scale {r.scale:g}: {r.seed_calls:,} create calls in {r.seed_seconds:.0f}s "
            f"({r.seed_calls / r.seed_seconds:.0f} calls/s); emulator RSS afterwards "
            f"{r.emulator_rss_mb:.0f} MB"
        )
    return "\n".join(lines)


def checks(results: list[ScaleResult]) -> list[tuple[str, bool, str]]:
    out: list[tuple[str, bool, str]] = []
    for r in results:
        s = f"scale {r.scale:g}"
        plan, floor = r.calls("plan"), r.calls("floor")
        gaad = plan.get("iam:GetAccountAuthorizationDetails", 0)
        extra_iam = sorted(op for op in plan if op.startswith("iam:") and op not in floor)
        out.append(
            (
                f"{s}: IAM read in one GetAccountAuthorizationDetails pass",
                gaad == floor.get("iam:GetAccountAuthorizationDetails", 0) and gaad >= 1 and not extra_iam,
                f"{gaad} GAAD page(s), floor {floor.get('iam:GetAccountAuthorizationDetails', 0)}; IAM operations "
                f"the floor does not need: {', '.join(extra_iam) or 'none'}",
            )
        )
        total, floor_total = r.total_calls("plan"), r.total_calls("floor")
        out.append(
            (
                f"{s}: calls within 5% of the floor",
                total <= CALLS_SLACK * floor_total,
                f"{total} vs {floor_total} ({_ratio(total, floor_total)})",
            )
        )
        wall, floor_wall = r.median("plan"), r.median("floor")
        out.append(
            (
                f"{s}: wall time within {WALL_SLACK}x of the floor",
                wall <= WALL_SLACK * floor_wall,
                f"{wall:.2f}s vs {floor_wall:.2f}s ({_ratio(wall, floor_wall)}); without loading the manifests "
                f"{r.median('plan', 'previewSeconds'):.2f}s "
                f"({_ratio(r.median('plan', 'previewSeconds'), floor_wall)})",
            )
        )
        peak = r.most("plan", "peakRssMb")
        out.append(
            (
                f"{s}: peak memory under {PEAK_MB:.0f} MB",
                peak < PEAK_MB,
                f"{peak:.0f} MB max RSS (floor {r.most('floor', 'peakRssMb'):.0f} MB)",
            )
        )
        if r.runs["plan"][0]["changes"] or r.runs["plan"][0]["mutating"]:
            out.append(
                (
                    f"{s}: the seeded account matches git (sanity)",
                    False,
                    f"{r.runs['plan'][0]['changesByAction']}; mutating calls {r.runs['plan'][0]['mutating']}",
                )
            )
    ordered = sorted(results, key=lambda r: r.scale)
    for small, large in itertools.pairwise(ordered):
        k = large.scale / small.scale
        for program in ("plan", "floor"):
            growth = large.median(program) / small.median(program)
            label = (
                f"{program} wall time linear in N: {large.scale:g}N vs {small.scale:g}N within {LINEAR_SLACK * k:.1f}x"
            )
            out.append(
                (
                    label if program == "plan" else label + " (the floor, for reference)",
                    growth <= LINEAR_SLACK * k,
                    f"{growth:.2f}x",
                )
            )
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.plan_bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, action="append", help="scale factor N (repeatable; default 1 and 4)")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each program per scale (default 3)")
    parser.add_argument("--workers", type=int, default=16, help="seeding threads (default 16)")
    parser.add_argument(
        "--tracemalloc",
        action="store_true",
        help="one more, untimed, run of each program with tracemalloc for its allocation peak",
    )
    parser.add_argument("--check", action="store_true", help="exit 1 when a target fails")
    parser.add_argument("--workdir", type=Path, help="where to write manifests and results (default: a temp dir)")
    parser.add_argument("--keep", action="store_true", help="keep the generated manifests")
    parser.add_argument("--json", type=Path, help="also write every raw result to this file")
    add_size_arguments(parser)
    args = parser.parse_args(argv)
    scales = args.scale or [1.0, 4.0]
    if args.repeat < 1 or any(s <= 0 for s in scales):
        parser.error("--repeat and --scale must be positive")
    root = args.workdir or Path(tempfile.mkdtemp(prefix="bench-plan-"))
    root.mkdir(parents=True, exist_ok=True)
    base = sizes_from(args)
    log = sys.stderr
    print(
        f"python {platform.python_version()} on {platform.machine()}, {os.cpu_count()} CPUs; work dir {root}",
        file=log,
        flush=True,
    )
    results = [measure_scale(scale, base, args, root, log) for scale in scales]
    results_json = {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "base": base.as_dict(),
        "noise": args.noise,
        "repeat": args.repeat,
        "scales": [r.as_json() for r in results],
    }
    (root / "results.json").write_text(json.dumps(results_json, indent=1))
    if args.json:
        args.json.write_text(json.dumps(results_json, indent=1))
    print(tables(results))
    print()
    failed = 0
    for label, ok, detail in checks(results):
        failed += not ok
        print(f"{'PASS' if ok else 'FAIL'}  {label}: {detail}")
    print(f"\nraw results: {root / 'results.json'}")
    return 1 if failed and args.check else 0


if __name__ == "__main__":
    sys.exit(main())
