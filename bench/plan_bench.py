"""The plan benchmark: ``plan`` against a large seeded account, next to floors of minimal reads.

    .venv/bin/python -m bench.plan_bench --scale 1 --scale 4 [--repeat 3] [--tracemalloc] [--cli] [--check]

For each scale N: write the manifests of an account N times the base sizes (``bench.seed``), start a
FRESH emulator in a process of its own (``bench.emulator``), seed it, then run ``plan`` (load the
manifests + ``preview``), the floor (``bench.floor``, through the product's client factory) and the bare
floor (the same reads through plain boto3 clients), each in a fresh process (``bench.measure``),
``--repeat`` times, the order rotated every round, and keep the median wall time. With ``--cli``, then the
real ``reconciler plan`` and a no-op ``reconciler apply`` with every refusing finding excepted in Settings
(their peak memory). Prints markdown tables (``bench.plan_report``) and PASS/FAIL per target; with
``--check`` exits 1 when a target fails.

``--endpoint URL --workdir DIR`` measures against an emulator already seeded with ``DIR/scale-N`` (one
scale; ``--emulator-pid`` for its CPU time): no generation, no seeding.

Targets (issue 19, ``bench.plan_report``): plan within 1.15x the bare floor's wall time with the same
calls, client CPU within 1.4x the bare floor's, peak memory under 250 MB, one GetAccountAuthorizationDetails
pass, wall time linear in N.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import selectors
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, TextIO

from bench.plan_report import PROGRAMS, ScaleResult, checks, tables
from bench.seed import Sizes, add_size_arguments, generate, noise_sizes, seed, sizes_from

REPO = Path(__file__).resolve().parents[1]

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


class _Seeded:
    """An emulator someone else started and seeded (``--endpoint``): its URL, its CPU time when its pid is known."""

    def __init__(self, url: str, pid: int | None) -> None:
        self.url, self.pid = url, pid

    def cpu_seconds(self) -> float:
        if self.pid is None:
            return float("nan")
        try:
            stat = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return float("nan")
        return (int(stat[11]) + int(stat[12])) / os.sysconf("SC_CLK_TCK")

    def rss_mb(self) -> float:
        return float("nan")


def measure_scale(scale: float, base: Sizes, args: argparse.Namespace, root: Path, log: TextIO) -> ScaleResult:
    sizes = base.scaled(scale)
    result = ScaleResult(scale, sizes, noise_sizes(sizes, args.noise))
    workdir = root / f"scale-{scale:g}"
    if args.endpoint:
        _measure(result, workdir, _Seeded(args.endpoint, args.emulator_pid), args, log)  # type: ignore[arg-type]
        return result
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
        _measure(result, workdir, emulator, args, log)
        result.emulator_rss_mb = emulator.rss_mb()
    if not args.keep:
        shutil.rmtree(workdir / "manifests", ignore_errors=True)
        shutil.rmtree(workdir / "manifests-excepted", ignore_errors=True)
    return result


def _measure(
    result: ScaleResult, workdir: Path, emulator: EmulatorProcess, args: argparse.Namespace, log: TextIO
) -> None:
    scale = result.scale
    for i in range(args.repeat):
        order = PROGRAMS[i % len(PROGRAMS) :] + PROGRAMS[: i % len(PROGRAMS)]  # each program first once in 3 rounds
        for program in order:
            run = run_child(program, workdir, emulator)
            result.runs[program].append(run)
            print(
                f"[scale {scale:g}] run {i + 1}/{args.repeat} {program}: {run['seconds']:.2f}s, "
                f"CPU {run['cpuSeconds']:.1f}s, {sum(run['calls'].values())} calls, peak {run['peakRssMb']:.0f} MB, "
                f"emulator CPU {run['emulatorCpuSeconds']:.1f}s, load {run['loadavg']}",
                file=log,
                flush=True,
            )
    if args.tracemalloc:
        for program in ("plan", "floor"):
            run = run_child(program, workdir, emulator, trace=True)
            result.traced[program] = run
            print(
                f"[scale {scale:g}] tracemalloc {program}: peak {run['tracemallocPeakMb']:.0f} MB", file=log, flush=True
            )
    if args.cli:
        _measure_cli(result, workdir, emulator, args, log)


def _measure_cli(
    result: ScaleResult, workdir: Path, emulator: EmulatorProcess, args: argparse.Namespace, log: TextIO
) -> None:
    """The real ``reconciler plan`` and no-op ``apply``, every refusing finding excepted (Settings changes, the
    account does not): their peak memory with the exceptions."""
    from bench.apply_bench import cli, except_refusing_findings

    # A copy: the exceptions go into its Settings, and the manifests the plan programs read stay as generated
    # (measured again against the same work directory, they would otherwise carry the exceptions).
    manifests = workdir / "manifests-excepted"
    shutil.rmtree(manifests, ignore_errors=True)
    shutil.copytree(workdir / "manifests", manifests)
    result.exceptions = len(except_refusing_findings(manifests, emulator, workdir))  # type: ignore[arg-type]
    commands = {
        "cli-plan": ["plan", str(manifests)],
        "cli-apply": ["apply", str(manifests), "--auto-approve"],
    }
    for i in range(args.repeat):
        for program in commands if i % 2 == 0 else reversed(commands):
            cpu_before = emulator.cpu_seconds()
            run = cli([*commands[program], "--endpoint-url", emulator.url], workdir, f"{program}-{i}", measure=True)
            run["emulatorCpuSeconds"] = emulator.cpu_seconds() - cpu_before
            run["peakRssMb"] = run.get("measured", {}).get("peakRssMb", float("nan"))
            result.runs.setdefault(program, []).append(run)
            print(
                f"[scale {scale_label(result)}] {program} #{i + 1}: exit {run['status']} in {run['seconds']:.1f}s, "
                f"peak {run['peakRssMb']:.0f} MB, load {run['loadavg']}",
                file=log,
                flush=True,
            )


def scale_label(result: ScaleResult) -> str:
    return f"{result.scale:g}"


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
    parser.add_argument(
        "--cli", action="store_true", help="also the real plan and no-op apply with the findings excepted (memory)"
    )
    parser.add_argument("--endpoint", help="an emulator already seeded with --workdir's scale-N (one --scale)")
    parser.add_argument("--emulator-pid", type=int, help="with --endpoint: its pid, for its CPU time")
    parser.add_argument("--workdir", type=Path, help="where to write manifests and results (default: a temp dir)")
    parser.add_argument("--keep", action="store_true", help="keep the generated manifests")
    parser.add_argument("--json", type=Path, help="also write every raw result to this file")
    add_size_arguments(parser)
    args = parser.parse_args(argv)
    scales = args.scale or [1.0, 4.0]
    if args.repeat < 1 or any(s <= 0 for s in scales):
        parser.error("--repeat and --scale must be positive")
    if args.endpoint and (len(scales) != 1 or not args.workdir):
        parser.error("--endpoint measures one --scale, seeded from --workdir")
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
