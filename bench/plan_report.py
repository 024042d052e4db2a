"""The plan benchmark's results (``bench.plan_bench``): what one scale measured, its tables and its targets.

Programs: ``plan`` (what ``reconciler plan`` does), ``floor`` (the minimal reads through the product's client
factory) and ``bare`` (the same reads through plain boto3 clients); with ``--cli``, the real ``reconciler plan``
and ``reconciler apply`` with every refusing finding excepted in Settings (``cli-plan``, ``cli-apply``).

Targets (issue 19): plan's wall time within 1.15x the bare floor's, at every scale, with the same calls; its
client CPU within 1.4x the bare floor's; peak memory under 250 MB (plan, and the CLI's plan and apply with the
exceptions); IAM in one GetAccountAuthorizationDetails pass; wall time linear in N.
"""

from __future__ import annotations

import itertools
import statistics
from dataclasses import dataclass, field
from typing import Any

from bench.seed import Sizes

WALL_SLACK = 1.15
CPU_SLACK = 1.4
PEAK_MB = 250.0
LINEAR_SLACK = 1.1
PROGRAMS = ("plan", "floor", "bare")
CLI_PROGRAMS = ("cli-plan", "cli-apply")


@dataclass
class ScaleResult:
    scale: float
    sizes: Sizes
    noise: Sizes
    seed_seconds: float = 0.0
    seed_calls: int = 0
    emulator_rss_mb: float = 0.0
    runs: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: {p: [] for p in PROGRAMS})
    traced: dict[str, dict[str, Any]] = field(default_factory=dict)
    exceptions: int = 0

    def values(self, program: str, key: str = "seconds") -> list[float]:
        return [float(r[key]) for r in self.runs.get(program, [])]

    def median(self, program: str, key: str = "seconds") -> float:
        return statistics.median(self.values(program, key))

    def spread(self, program: str, key: str = "seconds", digits: int = 2) -> str:
        """``median (min-max)``."""
        values = self.values(program, key)
        if not values:
            return "not run"
        med = statistics.median(values)
        return f"{med:.{digits}f} ({min(values):.{digits}f}-{max(values):.{digits}f})"

    def most(self, program: str, key: str) -> float:
        return max(self.values(program, key))

    def calls(self, program: str) -> dict[str, int]:
        return dict(self.runs[program][0]["calls"])

    def total_calls(self, program: str) -> int:
        return sum(self.calls(program).values())

    def resources(self) -> int:
        return self.sizes.total() + self.noise.total()

    def loads(self) -> tuple[float, float]:
        loads = [x for runs in self.runs.values() for run in runs for x in run["loadavg"]]
        return min(loads), max(loads)

    def ratios(self, program: str, other: str, key: str = "seconds") -> list[float]:
        """Run by run (the runs of one round are back to back): ``program`` / ``other``."""
        return [a / b for a, b in zip(self.values(program, key), self.values(other, key), strict=False) if b]

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
            "exceptions": self.exceptions,
        }


def _ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}x" if b else "n/a"


def _ratio_spread(values: list[float]) -> str:
    if not values:
        return "n/a"
    return f"{statistics.median(values):.2f}x ({min(values):.2f}-{max(values):.2f})"


def tables(results: list[ScaleResult]) -> str:
    lines = [
        "Wall time, seconds: median (min-max) of the runs; the ratios are of the medians, and (in brackets) the "
        "range of the run-by-run ratios (plan and the floor back to back in each round):",
        "",
        "| scale | resources (git + noise) | plan wall s | floor wall s | bare floor wall s | plan / floor "
        "| plan / bare floor | floor / bare floor | plan calls | floor calls | bare calls | GAAD calls "
        "| plan changes |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        plan, floor, bare = r.median("plan"), r.median("floor"), r.median("bare")
        gaad = r.calls("plan").get("iam:GetAccountAuthorizationDetails", 0)
        lines.append(
            f"| {r.scale:g} | {r.sizes.total():,} + {r.noise.total():,} | {r.spread('plan')} | {r.spread('floor')} "
            f"| {r.spread('bare')} | {_ratio(plan, floor)} | {_ratio(plan, bare)} "
            f"[{_ratio_spread(r.ratios('plan', 'bare'))}] | {_ratio(floor, bare)} | {r.total_calls('plan'):,} "
            f"| {r.total_calls('floor'):,} | {r.total_calls('bare'):,} | {gaad} | {r.runs['plan'][0]['changes']} |"
        )
    lines += [
        "",
        "Client CPU (the measured process's own user + system seconds), memory, and where plan's time goes:",
        "",
        "| scale | plan CPU s | floor CPU s | bare CPU s | plan CPU / bare | plan peak MB | floor peak MB "
        "| bare peak MB | manifests loaded after s (the read's clients made first, then the read meanwhile) "
        "| read s (after the load) | diff s "
        "| invariants s (alongside the read) "
        "| emulator CPU s (plan / bare) | RSS after imports MB | tracemalloc peak MB (plan / floor) | load avg |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        preview, diff, access = (r.median("plan", k) for k in ("previewSeconds", "diffSeconds", "accessSeconds"))
        traced = (
            f"{r.traced['plan']['tracemallocPeakMb']:.0f} / {r.traced['floor']['tracemallocPeakMb']:.0f}"
            if r.traced
            else "not run"
        )
        low, high = r.loads()
        cpu_ratio = _ratio(r.median("plan", "cpuSeconds"), r.median("bare", "cpuSeconds"))
        lines.append(
            f"| {r.scale:g} | {r.spread('plan', 'cpuSeconds', 1)} | {r.spread('floor', 'cpuSeconds', 1)} "
            f"| {r.spread('bare', 'cpuSeconds', 1)} | {cpu_ratio} "
            f"[{_ratio_spread(r.ratios('plan', 'bare', 'cpuSeconds'))}] | {r.spread('plan', 'peakRssMb', 0)} "
            f"| {r.spread('floor', 'peakRssMb', 0)} | {r.spread('bare', 'peakRssMb', 0)} "
            f"| {r.median('plan', 'loadSeconds'):.2f} | {preview - diff - access:.2f} | {diff:.2f} "
            f"| {r.median('plan', 'rulesSeconds'):.2f} | {r.median('plan', 'emulatorCpuSeconds'):.1f} / "
            f"{r.median('bare', 'emulatorCpuSeconds'):.1f} | {r.median('plan', 'baselineRssMb'):.0f} | {traced} "
            f"| {low:.1f}-{high:.1f} |"
        )
    cli = [r for r in results if r.runs.get("cli-plan")]
    if cli:
        lines += [
            "",
            "The real CLI with every refusing finding excepted in Settings (`reconciler plan` and a no-op "
            "`reconciler apply --auto-approve`, each a fresh process):",
            "",
            "| scale | exceptions | program | exit | wall s | CPU s | peak RSS MB | load avg |",
            "|---:|---:|---|---|---:|---:|---:|---:|",
        ]
        for r in cli:
            for program in CLI_PROGRAMS:
                runs = r.runs[program]
                loads = [x for run in runs for x in run["loadavg"]]
                lines.append(
                    f"| {r.scale:g} | {r.exceptions:,} | {program.removeprefix('cli-')} "
                    f"| {', '.join(str(run['status']) for run in runs)} | {r.spread(program)} "
                    f"| {r.spread(program, 'cpuSeconds', 1)} | {r.spread(program, 'peakRssMb', 0)} "
                    f"| {min(loads):.1f}-{max(loads):.1f} |"
                )
    ops = sorted({op for r in results for p in PROGRAMS for op in r.calls(p)})
    header = " | ".join(f"plan @{r.scale:g} | floor @{r.scale:g} | bare @{r.scale:g}" for r in results)
    lines += ["", "Calls by operation:", "", f"| operation | {header} |", "|---|" + "---:|" * (3 * len(results))]
    for op in ops:
        cells = " | ".join(" | ".join(f"{r.calls(p).get(op, 0):,}" for p in PROGRAMS) for r in results)
        lines.append(f"| {op} | {cells} |")
    lines += ["", "Seeding (not measured against any target):", ""]
    for r in results:
        lines.append(
            f"- scale {r.scale:g}: {r.seed_calls:,} create calls in {r.seed_seconds:.0f}s "
            f"({r.seed_calls / max(r.seed_seconds, 1e-9):.0f} calls/s); emulator RSS afterwards "
            f"{r.emulator_rss_mb:.0f} MB"
        )
    return "\n".join(lines)


def checks(results: list[ScaleResult]) -> list[tuple[str, bool, str]]:
    out: list[tuple[str, bool, str]] = []
    for r in results:
        s = f"scale {r.scale:g}"
        plan, bare = r.calls("plan"), r.calls("bare")
        gaad = plan.get("iam:GetAccountAuthorizationDetails", 0)
        extra_iam = sorted(op for op in plan if op.startswith("iam:") and op not in bare)
        out.append(
            (
                f"{s}: IAM read in one GetAccountAuthorizationDetails pass",
                gaad == bare.get("iam:GetAccountAuthorizationDetails", 0) and gaad >= 1 and not extra_iam,
                f"{gaad} GAAD page(s), floor {bare.get('iam:GetAccountAuthorizationDetails', 0)}; IAM operations "
                f"the floor does not need: {', '.join(extra_iam) or 'none'}",
            )
        )
        differ = sorted(op for op in {*plan, *bare} if plan.get(op, 0) != bare.get(op, 0))
        out.append(
            (
                f"{s}: the same calls as the bare floor, operation by operation",
                not differ and r.calls("floor") == bare,
                f"{r.total_calls('plan')} vs {r.total_calls('bare')} (floor {r.total_calls('floor')})"
                + (f"; differing: {', '.join(differ)}" if differ else ""),
            )
        )
        wall, bare_wall = r.median("plan"), r.median("bare")
        out.append(
            (
                f"{s}: wall time within {WALL_SLACK}x of the bare floor",
                wall <= WALL_SLACK * bare_wall,
                f"{wall:.2f}s vs {bare_wall:.2f}s ({_ratio(wall, bare_wall)}; run by run "
                f"{_ratio_spread(r.ratios('plan', 'bare'))}); the product's floor {r.median('floor'):.2f}s "
                f"({_ratio(wall, r.median('floor'))}); once the manifests are loaded (the read starts before) "
                f"{_ratio(r.median('plan', 'previewSeconds'), bare_wall)}",
            )
        )
        cpu, bare_cpu = r.median("plan", "cpuSeconds"), r.median("bare", "cpuSeconds")
        out.append(
            (
                f"{s}: client CPU within {CPU_SLACK}x of the bare floor's",
                cpu <= CPU_SLACK * bare_cpu,
                f"{cpu:.1f}s vs {bare_cpu:.1f}s ({_ratio(cpu, bare_cpu)})",
            )
        )
        for program in ("plan", *(p for p in CLI_PROGRAMS if r.runs.get(p))):
            peak = r.most(program, "peakRssMb")
            extra = f" (bare floor {r.most('bare', 'peakRssMb'):.0f} MB)" if program == "plan" else ""
            out.append(
                (
                    f"{s}: {program} peak memory under {PEAK_MB:.0f} MB",
                    peak < PEAK_MB,
                    f"{peak:.0f} MB max RSS{extra}",
                )
            )
        for program in (p for p in CLI_PROGRAMS if r.runs.get(p)):
            statuses = sorted({run["status"] for run in r.runs[program]})
            out.append((f"{s}: {program} exits 0 (the exceptions let it through)", statuses == [0], f"{statuses}"))
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
        for program in PROGRAMS:
            growth = large.median(program) / small.median(program)
            label = (
                f"{program} wall time linear in N: {large.scale:g}N vs {small.scale:g}N within {LINEAR_SLACK * k:.1f}x"
            )
            out.append(
                (
                    label if program == "plan" else label + " (for reference)",
                    growth <= LINEAR_SLACK * k,
                    f"{growth:.2f}x",
                )
            )
    return out
