"""The Markdown tables of ``bench.fleet_bench`` from its raw figures (``--out`` JSON, or ``--report FILE``)."""

from __future__ import annotations

import statistics
from typing import Any

TARGET_SLACK = 1.3  # the issue: 4 shards within 1.3x of a quarter of one shard's time


def _mr(values: list[float], digits: int = 1) -> str:
    """Median (min-max)."""
    if not values:
        return "n/a"
    median = statistics.median(values)
    if len(values) == 1:
        return f"{median:.{digits}f}"
    return f"{median:.{digits}f} ({min(values):.{digits}f}-{max(values):.{digits}f})"


def shard_table(results: dict[str, Any]) -> list[str]:
    lines = [
        "| program | shards | fleet wall s, median (range) | speed-up over 1 shard | wall / (1-shard wall / N) "
        "| accounts per shard | CPU s per shard, median (max) | CPU s, all shards | peak RSS MB per shard, max "
        "| emulator CPU s | CPU-bound wall s here | load before -> after |",
        "|---|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|---|",
    ]
    cores = results["machine"].get("schedAffinity") or results["machine"]["cpuCount"] or 1
    for program, by_count in results["runs"].items():
        one = statistics.median(r["wallSeconds"] for r in by_count.get("1", [])) if "1" in by_count else None
        for count in sorted(by_count, key=int):
            runs = by_count[count]
            n = int(count)
            walls = [r["wallSeconds"] for r in runs]
            wall = statistics.median(walls)
            cpus = [s["cpuSeconds"] for r in runs for s in r["perShard"]]
            total_cpu = statistics.median(sum(s["cpuSeconds"] for s in r["perShard"]) for r in runs)
            peak = max(s["peakRssMb"] for r in runs for s in r["perShard"])
            accounts = "/".join(str(s["accounts"]) for s in runs[0]["perShard"])
            emulator = statistics.median(r["emulatorCpuSeconds"] for r in runs)
            # the least wall time the work's CPU (shards and emulator) needs on this machine's cores, alone on it
            bound = statistics.median(
                (sum(s["cpuSeconds"] for s in r["perShard"]) + r["emulatorCpuSeconds"]) / cores for r in runs
            )
            loads = f"{runs[0]['loadBefore'][0]:.1f} -> {runs[-1]['loadAfter'][0]:.1f}"
            speedup = f"{one / wall:.2f}x" if one else "n/a"
            ideal = f"{wall / (one / n):.2f}" if one else "n/a"
            lines.append(
                f"| {program} | {n} | {_mr(walls)} | {speedup} | {ideal} | {accounts} "
                f"| {statistics.median(cpus):.1f} ({max(cpus):.1f}) | {total_cpu:.1f} | {peak:.0f} "
                f"| {emulator:.0f} | {bound:.0f} | {loads} |"
            )
    return lines


def target_lines(results: dict[str, Any]) -> list[str]:
    out = []
    for count, runs in results["runs"].get("plan", {}).items():
        sizes = [s["accounts"] for s in runs[0]["perShard"]]
        if int(count) > 1 and sum(sizes):
            bound = max(sizes) / (sum(sizes) / len(sizes))
            out.append(
                f"- {count} shards: the largest holds {max(sizes)} of {sum(sizes)} accounts, {bound:.2f}x its even "
                f"share: with a core per shard and a free emulator, the fleet's wall time is at best {bound:.2f}x "
                f"(one shard's / {count})"
            )
    for program, by_count in results["runs"].items():
        if "1" in by_count and "4" in by_count:
            one = statistics.median(r["wallSeconds"] for r in by_count["1"])
            four = statistics.median(r["wallSeconds"] for r in by_count["4"])
            ratio = four / (one / 4)
            verdict = "met" if ratio <= TARGET_SLACK else "NOT met"
            out.append(
                f"- {program}: 4 shards {four:.1f}s against a quarter of one shard's {one:.1f}s = {one / 4:.1f}s: "
                f"**{ratio:.2f}x** (target <= {TARGET_SLACK}x: {verdict} on this machine)"
            )
    return out


def calls_table(calls: dict[str, Any]) -> list[str]:
    per = calls["perAccount"]
    floor_total = sum(calls["floor"].values())
    first_total = sum(calls["firstAccount"].values())
    average = calls["totalCalls"] / calls["accounts"]
    lines = [
        "| figure | calls |",
        "|---|---:|",
        f"| fleet plan: calls counted by the product's clients, all {calls['accounts']} accounts | "
        f"{calls['totalCalls']:,} |",
        f"| fleet plan: calls per account (total / accounts) | {average:.1f} |",
        f"| per account: min / median / max | {per['min']} / {per['median']:g} / {per['max']} |",
        f"| the first account's plan (in the fleet plan) | {first_total} |",
        f"| the floor for the first account's contents (`bench.floor`) | {floor_total} |",
        f"| fleet plan per account / floor | {average / floor_total:.3f}x |" if floor_total else "| ratio | n/a |",
        f"| sts:AssumeRole (botocore's credential fetcher, not in the counts above) | {calls['assumeRole']['total']} "
        f"for {calls['assumeRole']['accounts']} accounts |",
        f"| calls in the caller's own account (hub) | {sum(calls['callerCalls'].values())} |",
    ]
    ops = sorted(set(calls["firstAccount"]) | set(calls["floor"]))
    lines += ["", "| operation (first account) | fleet plan | floor |", "|---|---:|---:|"]
    for op in ops:
        plan, floor = calls["firstAccount"].get(op, 0), calls["floor"].get(op, 0)
        mark = "" if plan == floor else " (differs)"
        lines.append(f"| {op}{mark} | {plan} | {floor} |")
    return lines


def memory_table(memory: list[dict[str, Any]]) -> list[str]:
    lines = [
        "| fleet accounts | accounts in shard 0 of 4 | peak RSS MB, median (range) | CPU s, median | wall s, median |",
        "|---:|---:|---:|---:|---:|",
    ]
    for m in memory:
        lines.append(
            f"| {m['fleetAccounts']} | {m['shardAccounts']} | {_mr(m['peakRssMb'], 0)} "
            f"| {statistics.median(m['cpuSeconds']):.1f} | {statistics.median(m['wallSeconds']):.1f} |"
        )
    if len(memory) >= 2:
        small, large = memory[0], memory[-1]
        ratio = statistics.median(large["peakRssMb"]) / statistics.median(small["peakRssMb"])
        lines += [
            "",
            f"Peak RSS of shard 0 at {large['fleetAccounts']} accounts / at {small['fleetAccounts']}: "
            f"**{ratio:.2f}x** (target: flat) for {large['shardAccounts']} / {small['shardAccounts']} accounts "
            "in the shard.",
        ]
    return lines


def tables(results: dict[str, Any]) -> str:
    m = results["machine"]
    args = results["args"]
    lines = [
        f"Machine: os.cpu_count() = {m['cpuCount']}, sched_getaffinity = {m['schedAffinity']} cores; "
        f"Python {m['python']}; load average (1/5/15 min) {results['loadBefore']} before, "
        f"{results.get('loadAfter', 'n/a')} after. "
        f"Fleet: {args['accounts']} accounts, {args['extra_roles']} extra roles each; "
        f"{args['repeat']} run(s) of each shard count.",
    ]
    if results.get("runs"):
        lines += ["", "Plan and no-op apply, the shard processes started at once (every process exited 0):", ""]
        lines += [*shard_table(results), "", *target_lines(results)]
    if results.get("calls"):
        lines += ["", "Calls per account (one plan of the whole fleet, every account's calls counted; the floor of "]
        lines[-1] += "the first account):"
        lines += ["", *calls_table(results["calls"])]
    if results.get("memory"):
        lines += ["", "Peak memory of one shard as the fleet grows (plan, shard 0 of 4, alone):", ""]
        lines += memory_table(results["memory"])
    if results.get("moved"):
        lines += ["", "Accounts that move to another shard when the shard count changes:", ""]
        lines += ["| accounts | shards | moved | share | expected |", "|---:|---|---:|---:|---:|"]
    for mv in results.get("moved", []):
        lines.append(
            f"| {mv['accounts']} | {mv['from']} -> {mv['to']} | {mv['moved']} | {mv['share']:.1%} "
            f"| {1 / mv['to']:.1%} |"
        )
    lines += ["", "Seeding (not measured against any target):", ""]
    for s in results.get("seed", []):
        lines.append(
            f"- {s['accounts']} accounts: the example applied by `reconciler apply` ({s['applyShards']} shard "
            f"processes, {s.get('applyRuns', 1)} run(s)) in {s['applySeconds']:.0f}s, "
            f"then {s['extraRoles']} extra roles each "
            f"({s['extraRoleCalls']:,} calls) in {s['extraRoleSeconds']:.0f}s; emulator RSS afterwards "
            f"{s['emulatorRssMb']:.0f} MB"
        )
    if "emulatorRssMb" in results:
        lines.append(f"- emulator RSS at the end: {results['emulatorRssMb']:.0f} MB")
    return "\n".join(lines)
