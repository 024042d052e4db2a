"""One measured run of ``plan`` or of the floor, in a process of its own (started by ``bench.plan_bench``).

    python -m bench.measure plan  --workdir DIR --endpoint URL --out result.json [--tracemalloc]
    python -m bench.measure floor --workdir DIR --endpoint URL --out result.json [--tracemalloc]
    python -m bench.measure bare  --workdir DIR --endpoint URL --out result.json [--tracemalloc]

Both programs import boto3 and the reconciler before the clock starts, so the wall time is the work
alone: for ``plan``, what ``reconciler plan`` does: loading the manifests (``DIR/manifests``) while the
account's read starts from their Settings (``EarlyRead``), ``preview`` with a ``CallRecorder`` (read-only
clients, the CLI's ``AwsConfig``) and the invariant rules (which run alongside the read, as in ``plan``), and
the text rendering; for the floor,
``bench.floor.read_floor`` on ``DIR/names.json`` (``bare``: the same through plain boto3 clients). Peak
memory is this process's own peak RSS
(``VmHWM``; ``ru_maxrss`` is reported too, but on Linux it also counts the parent's RSS at fork,
which exec carries over); with ``--tracemalloc`` the peak of Python allocations during the work is
measured too (that run is slower, so it is not timed).
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
import tracemalloc
from contextlib import nullcontext
from pathlib import Path
from typing import Any


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _maxrss_mb() -> float:
    """``ru_maxrss`` (KiB on Linux). It includes the parent's RSS at fork: Linux carries the forked
    address space's high-water mark over exec into the child's ``ru_maxrss``."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _hwm_mb() -> float:
    """This program's own peak RSS: ``VmHWM`` of the address space made at exec (Linux)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return _maxrss_mb()


def _time_calls(module: Any, name: str) -> list[float]:
    """Wrap ``module.name`` so that its calls add their wall time to the returned one-item list."""
    total = [0.0]
    original = getattr(module, name)

    def timed(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            total[0] += time.perf_counter() - started

    setattr(module, name, timed)
    return total


def run_plan(workdir: Path, endpoint: str) -> dict[str, Any]:
    import reconciler.engine.preview as preview_module
    from reconciler.aws.clients import AwsConfig, CallRecorder, ClientFactory
    from reconciler.engine.converge import make_plan
    from reconciler.engine.render import render_text
    from reconciler.kinds import load_directory
    from reconciler.kinds.read import EarlyRead
    from reconciler.manifests.peek import peek_settings
    from reconciler.runtime import tune_process

    tune_process(one_shot=True)  # as the command line's entry point does for plan

    # time the diff inside preview() (it logs the read time but returns only the total), the invariant
    # rules, which preview() runs on a thread of their own alongside the read, and the access diff after it
    diff_seconds = _time_calls(preview_module, "build_plan")
    rules_seconds = _time_calls(preview_module, "desired_findings")
    access_seconds = _time_calls(preview_module, "plan_access")

    recorder = CallRecorder()
    started = time.perf_counter()
    # as `reconciler plan` does (``load_reading``): the account's read starts from the Settings while the
    # manifests load; the invariant rules run alongside the read, then the verdict
    peek = peek_settings(workdir / "manifests")
    region = (peek.region if peek is not None else None) or "ap-northeast-1"
    factory = ClientFactory(AwsConfig(endpoint_url=endpoint, region=region), read_only=True, recorder=recorder)
    early = None
    if peek is not None:
        tag = peek.ownership_tag
        early = EarlyRead(factory, peek.account_id, region, (tag.key, tag.value))
    with early or nullcontext():
        desired = load_directory(workdir / "manifests")
        loaded = time.perf_counter()
        assert (desired.settings.region or "ap-northeast-1") == region
        planned = make_plan(desired, factory, region, early=early)
    result, report = planned.preview, planned.preview.report
    assert report is not None
    render_text(result.plan, color=False)
    seconds = time.perf_counter() - started
    return {
        "seconds": seconds,
        "loadSeconds": loaded - started,
        "previewSeconds": result.seconds,
        "diffSeconds": diff_seconds[0],
        "rulesSeconds": rules_seconds[0],
        "accessSeconds": access_seconds[0],
        "findings": len(report.findings),
        "changes": len(result.plan.changes),
        "changesByAction": _count(c.action.value for c in result.plan.changes),
        "unchanged": sum(result.plan.unchanged.values()),
        "manifests": desired.count(),
        "live": {
            kind: len(result.live.of(kind))
            for kind in ("Policy", "Role", "Group", "User", "Bucket", "NotebookInstance")
        },
        "calls": {f"{s}:{o}": n for (s, o), n in sorted(recorder.counts().items())},
        "attempts": recorder.total_attempts(),
        "mutating": [f"{s}:{o}" for s, o in recorder.mutating()],
    }


def run_floor(workdir: Path, endpoint: str) -> dict[str, Any]:
    from bench.floor import read_floor
    from reconciler.aws.clients import AwsConfig, CallRecorder, ClientFactory

    recorder = CallRecorder()
    started = time.perf_counter()
    git = json.loads((workdir / "names.json").read_text())
    factory = ClientFactory(AwsConfig(endpoint_url=endpoint, region=git["region"]), read_only=True, recorder=recorder)
    seen = read_floor(factory, git)
    seconds = time.perf_counter() - started
    return {
        "seconds": seconds,
        "live": seen,
        "calls": {f"{s}:{o}": n for (s, o), n in sorted(recorder.counts().items())},
        "attempts": recorder.total_attempts(),
    }


def run_bare(workdir: Path, endpoint: str) -> dict[str, Any]:
    """The floor's calls through plain boto3 clients (``bench.floor.BareClients``)."""
    from bench.floor import BareClients, read_floor

    started = time.perf_counter()
    git = json.loads((workdir / "names.json").read_text())
    clients = BareClients(endpoint, git["region"])
    seen = read_floor(clients, git)
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "live": seen, "calls": dict(sorted(clients.counts.items()))}


def _count(items: Any) -> dict[str, int]:
    out: dict[str, int] = {}
    for item in items:
        out[item] = out.get(item, 0) + 1
    return out


PROGRAMS = {"plan": run_plan, "floor": run_floor, "bare": run_bare}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.measure")
    parser.add_argument("program", choices=tuple(PROGRAMS))
    parser.add_argument("--workdir", type=Path, required=True)
    parser.add_argument("--endpoint", required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--tracemalloc", action="store_true")
    args = parser.parse_args(argv)

    # Everything either program imports, imported before the clock starts.
    import boto3  # noqa: F401
    import botocore.session  # noqa: F401

    import bench.floor  # noqa: F401
    import reconciler.engine.preview
    import reconciler.manifests  # noqa: F401
    from reconciler.logs import configure_logging

    configure_logging(fmt="json", level="warning")
    baseline_mb = _hwm_mb()
    if args.tracemalloc:
        tracemalloc.start()
    cpu = _cpu()
    result = PROGRAMS[args.program](args.workdir, args.endpoint)
    result["cpuSeconds"] = _cpu() - cpu
    result["peakRssMb"] = _hwm_mb()
    result["ruMaxrssMb"] = _maxrss_mb()
    result["baselineRssMb"] = baseline_mb
    if args.tracemalloc:
        result["tracemallocPeakMb"] = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
    result["program"] = args.program
    args.out.write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
