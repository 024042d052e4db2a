"""Memory of a long-running controller: does ``reconciler run`` stay flat over hundreds of reconciles?

    python -m bench.controller_memory --cycles 200 --interval 10s   # about 35-60 min at scale 1 here
    python -m bench.controller_memory --cycles 6 --trace             # where memory grows, by line
    python -m bench.controller_memory --workdir W --endpoint URL     # an emulator already seeded from W/manifests

The plan benchmark's account (``bench.seed``, scale 1 by default) is seeded into a fresh emulator
(``bench.emulator``), its manifests committed to a git repository, and every refusing finding excepted in
Settings (``bench.apply_bench.except_refusing_findings``: the account is in sync and apply reaches its "nothing to
do" path, the controller's steady state). Then:

- by default, ``reconciler run --mode apply --resync 0`` in a process of its own with ``MALLOC_ARENA_MAX=2``, as
  the container runs it (``--resync 0``: every cycle reads the whole account, the most memory a cycle takes):
  the process's RSS is read from ``/proc`` at each reconcile's end (its "reconciled" log line, the cycle's
  working set still held) and again ``--settle`` seconds later, while it waits for the next cycle (after the
  controller gave back what the cycle freed); the figure is the waiting RSS after cycle ``--cycles`` against the
  waiting RSS after cycle 20 (target: within 5%), the slope between them, and the medians of the first and last
  20 cycles, both for the waiting RSS and the RSS at the reconcile's end;
- with ``--trace``, the same controller in this process with ``tracemalloc``: a snapshot after each cycle, and the
  allocations that grew between the second cycle and the last, by source line (what to fix).

A benchmark, not a test: nothing here runs in the suite.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.plan_bench import REPO, EmulatorProcess, child_env, loadavg
from bench.seed import Sizes, generate, seed

TARGET = 1.05
FIRST = 20


def _rss_mb(pid: int) -> tuple[float, float]:
    """(VmRSS, VmHWM) of ``pid`` in MB."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            fields[key] = int(value.split()[0]) / 1024
    return fields["VmRSS"], fields["VmHWM"]


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)


def prepare(workdir: Path, url: str, *, scale: float, seeded: bool) -> Path:
    """The git repository the controller follows: the account's manifests (seeded into ``url`` unless ``seeded``),
    every refusing finding excepted. Returns the repository."""
    from bench.apply_bench import except_refusing_findings

    manifests = workdir / "manifests"
    if not manifests.is_dir():
        generate(workdir, Sizes().scaled(scale), seed=1)
    if not seeded:
        report = seed(manifests, url, noise=0.05, workers=16, progress=lambda line: print(line, file=sys.stderr))
        print(f"seeded with {report.calls} calls in {report.seconds:.0f}s", file=sys.stderr)

    class _At:
        def __init__(self, url: str) -> None:
            self.url = url

    repo = workdir / "repo"
    shutil.rmtree(repo, ignore_errors=True)
    repo.mkdir()
    _git(repo, "init", "-q", "-b", "main")
    # The exceptions go into the repository's copy of the Settings: WORKDIR/manifests stays as generated (the plan
    # benchmark may read the same directory).
    shutil.copytree(manifests, repo / "manifests")
    exceptions = except_refusing_findings(repo / "manifests", _At(url), workdir)  # type: ignore[arg-type]
    print(f"{len(exceptions)} refusing findings excepted in Settings", file=sys.stderr)
    _git(repo, "add", "-A")
    _git(repo, "-c", "user.name=bench", "-c", "user.email=bench@example.com", "commit", "-q", "-m", "account")
    return repo


def _state_table() -> str:
    """A state table of this run's own: the repository is made anew each run, and a commit another run applied
    in the same emulator would be a rewind."""
    return f"bench-controller-{os.getpid()}-{int(time.time())}"


def run_child(
    repo: Path, workdir: Path, url: str, *, cycles: int, interval: str, resync: str, arenas: str, settle: float
) -> dict[str, Any]:
    """``reconciler run`` until ``cycles`` reconciles are done; the RSS at the end of each and ``settle`` seconds
    later. ``resync``: its ``--resync`` ("0": every cycle reads the whole account); ``arenas``:
    ``MALLOC_ARENA_MAX`` ("": glibc's default)."""
    command = [
        sys.executable,
        "-m",
        "reconciler",
        "--log-format",
        "json",
        "run",
        "--source",
        str(repo),
        "--path",
        "manifests",
        "--interval",
        interval,
        "--resync",
        resync,
        "--mode",
        "apply",
        "--cache-dir",
        str(workdir / "cache"),
        "--state-table",
        _state_table(),
        "--endpoint-url",
        url,
    ]
    samples: list[dict[str, Any]] = []
    errors: list[str] = []
    started = time.monotonic()
    env = child_env()
    env.pop("MALLOC_ARENA_MAX", None)
    if arenas:
        env["MALLOC_ARENA_MAX"] = arenas  # as the container sets it (Dockerfile)
    proc = subprocess.Popen(command, cwd=REPO, env=env, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stderr is not None
        for line in proc.stderr:
            try:
                event = json.loads(line)
            except json.JSONDecodeError:
                errors.append(line.strip()[:300])
                continue
            if event.get("level") in ("error", "critical"):
                errors.append(str(event.get("event")))
            if event.get("event") not in ("reconciled", "plan refused", "reconcile failed", "reconcile incomplete"):
                continue
            rss, hwm = _rss_mb(proc.pid)
            # The controller waits for the interval now (seconds at least): the output it writes meanwhile waits in
            # the pipe.
            time.sleep(settle)
            waiting, _ = _rss_mb(proc.pid)
            samples.append(
                {
                    "cycle": len(samples) + 1,
                    "event": event.get("event"),
                    "rssMb": round(waiting, 1),
                    "rssAtEndMb": round(rss, 1),
                    "hwmMb": round(hwm, 1),
                    "at": round(time.monotonic() - started, 1),
                    "load": round(loadavg(), 2),
                }
            )
            print(json.dumps(samples[-1]), file=sys.stderr, flush=True)
            if len(samples) >= cycles:
                break
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return {"samples": samples, "errors": errors[:50], "seconds": time.monotonic() - started}


def trace_in_process(repo: Path, workdir: Path, url: str, *, cycles: int) -> list[str]:
    """The controller in this process, ``tracemalloc`` snapshots between cycles: what grew, by line."""
    import gc
    import tracemalloc

    from reconciler.aws.clients import AwsConfig
    from reconciler.controller.loop import Controller, ControllerConfig
    from reconciler.logs import configure_logging

    configure_logging(fmt="json", level="warning")
    os.environ.update({k: v for k, v in child_env().items() if k.startswith("AWS_")})
    config = ControllerConfig(
        source=str(repo), path="manifests", cache_dir=workdir / "trace-cache", interval=0, state_table=_state_table()
    )
    controller = Controller(config, AwsConfig(endpoint_url=url, region="ap-northeast-1"))
    tracemalloc.start(12)
    snapshots = []
    lines = []
    for cycle in range(1, cycles + 1):
        status = controller.reconcile_once()
        gc.collect()
        snapshots.append(tracemalloc.take_snapshot())
        current, peak = tracemalloc.get_traced_memory()
        lines.append(f"cycle {cycle}: status {status}, traced {current / 2**20:.1f} MB (peak {peak / 2**20:.1f} MB)")
        print(lines[-1], file=sys.stderr, flush=True)
    first, last = snapshots[min(1, len(snapshots) - 1)], snapshots[-1]
    lines.append(f"grown between cycle {min(2, cycles)} and cycle {cycles}, by traceback (top 15):")
    for stat in last.compare_to(first, "traceback")[:15]:
        lines.append(f"  {stat.size_diff / 1024:+.0f} KiB in {stat.count_diff:+d} blocks")
        lines.extend(f"      {frame}" for frame in stat.traceback.format()[-8:])
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.controller_memory", description=__doc__.split("\n\n")[0])
    parser.add_argument("--cycles", type=int, default=200)
    parser.add_argument("--interval", default="10s", help="the controller's --interval (default 10s)")
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument(
        "--resync", default="0", help="the controller's --resync (default 0: every cycle a full read, the worst case)"
    )
    parser.add_argument(
        "--malloc-arena-max", default="2", help="MALLOC_ARENA_MAX of the controller (default 2, as in the container)"
    )
    parser.add_argument(
        "--settle",
        type=float,
        default=3.0,
        help="seconds after a reconcile's end to read the waiting RSS (default 3; less than the interval)",
    )
    parser.add_argument("--trace", action="store_true", help="in this process, with tracemalloc (slow)")
    parser.add_argument("--workdir", type=Path, help="work directory (default: a temporary one)")
    parser.add_argument("--endpoint", help="an emulator already seeded from WORKDIR/manifests")
    parser.add_argument("--json", type=Path, help="write the samples here")
    args = parser.parse_args(argv)
    if not args.trace and args.cycles <= FIRST:
        parser.error(f"--cycles must be over {FIRST}: the figure compares the last cycle with cycle {FIRST}")
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="bench-controller-"))
    workdir.mkdir(parents=True, exist_ok=True)
    emulator = None if args.endpoint else EmulatorProcess(workdir / "emulator.log")
    try:
        url = args.endpoint or emulator.url  # type: ignore[union-attr]
        repo = prepare(workdir, url, scale=args.scale, seeded=bool(args.endpoint))
        if args.trace:
            print("\n".join(trace_in_process(repo, workdir, url, cycles=args.cycles)))
            return 0
        result = run_child(
            repo,
            workdir,
            url,
            cycles=args.cycles,
            interval=args.interval,
            resync=args.resync,
            arenas=args.malloc_arena_max,
            settle=args.settle,
        )
    finally:
        if emulator is not None:
            emulator.stop()
    samples = result["samples"]
    result.update(
        cycles=args.cycles,
        interval=args.interval,
        scale=args.scale,
        resync=args.resync,
        mallocArenaMax=args.malloc_arena_max,
        settleSeconds=args.settle,
    )
    if args.json:
        args.json.write_text(json.dumps(result, indent=1))
    if len(samples) < max(FIRST, args.cycles):
        print(f"only {len(samples)} reconciles were seen; errors: {result['errors'][:5]}")
        return 1
    at_first, at_last = samples[FIRST - 1]["rssMb"], samples[args.cycles - 1]["rssMb"]
    ratio = at_last / at_first
    slope = (at_last - at_first) / (args.cycles - FIRST)
    loads = [s["load"] for s in samples]
    # One cycle's RSS moves within a band from one cycle to the next; medians of 20 cycles are the steadier figure.
    early = statistics.median(s["rssMb"] for s in samples[FIRST - 1 : 2 * FIRST - 1])
    late = statistics.median(s["rssMb"] for s in samples[args.cycles - FIRST : args.cycles])
    after = [s["rssMb"] for s in samples[FIRST - 1 :]]
    print(
        f"RSS waiting after cycle {FIRST}: {at_first:.1f} MB; after cycle {args.cycles}: {at_last:.1f} MB "
        f"({ratio:.3f}x, {slope * 1000:+.0f} KB a cycle); peak {max(s['hwmMb'] for s in samples):.1f} MB; "
        f"RSS after cycle 1 {samples[0]['rssMb']:.1f} MB, min/max after {FIRST} {min(after):.1f}/{max(after):.1f} MB; "
        f"{result['seconds'] / 60:.1f} min; load {min(loads):.1f}-{max(loads):.1f}; errors: {len(result['errors'])}"
    )
    print(
        f"median RSS waiting of cycles {FIRST}-{2 * FIRST - 1}: {early:.1f} MB; of cycles {args.cycles - FIRST + 1}-"
        f"{args.cycles}: {late:.1f} MB ({late / early:.3f}x)"
    )
    end_first, end_last = samples[FIRST - 1]["rssAtEndMb"], samples[args.cycles - 1]["rssAtEndMb"]
    end_early = statistics.median(s["rssAtEndMb"] for s in samples[FIRST - 1 : 2 * FIRST - 1])
    end_late = statistics.median(s["rssAtEndMb"] for s in samples[args.cycles - FIRST : args.cycles])
    print(
        f"RSS at a reconcile's end (before the wait): cycle {FIRST} {end_first:.1f} MB, cycle {args.cycles} "
        f"{end_last:.1f} MB ({end_last / end_first:.3f}x); medians {end_early:.1f} -> {end_late:.1f} MB "
        f"({end_late / end_early:.3f}x)"
    )
    print(f"{'PASS' if ratio <= TARGET else 'FAIL'}  memory after cycle {args.cycles} within 5% of cycle {FIRST}")
    return 0 if ratio <= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
