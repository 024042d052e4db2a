"""The fleet benchmark's pure parts: its fleet directory loads as a fleet, and its moved-accounts figure.

No emulator, no timing: the benchmark itself (``python -m bench.fleet_bench``) is run by hand.
"""

from __future__ import annotations

import json
from pathlib import Path

from bench.fleet_bench import moved
from bench.fleet_report import tables
from bench.fleet_seed import fleet_accounts, floor_names, write_fleet
from reconciler.kinds import load_fleet
from reconciler.manifests.fleet import shard_of


def test_the_generated_fleet_loads_one_desired_state_per_account(tmp_path: Path) -> None:
    accounts = write_fleet(tmp_path / "fleet", 5)
    fleet = load_fleet(tmp_path / "fleet")
    assert fleet.is_fleet
    assert [a.name for a in fleet.accounts] == ["acct-000", "acct-001", "acct-002", "acct-003", "acct-004"]
    assert [d.settings.account_id for d in fleet.states] == [a.account_id for a in accounts]
    assert accounts[0].account_id == "100000000000" and accounts[4].account_id == "100000000004"
    assert [a.labels["env"] for a in accounts] == ["dev", "prod", "dev", "prod", "dev"]
    first, second = fleet.states[0], fleet.states[1]
    assert first.account is not None and first.account.role_for(read_only=True) == accounts[0].read_role_arn
    # per-account names where the example's would collide (S3 bucket names are global)
    assert "acct-000-sagemaker-rawdata" in first.of("Bucket")
    assert "acct-001-sagemaker-rawdata" in second.of("Bucket")
    assert set(first.of("Role")) == set(second.of("Role"))
    assert "123456789012" not in json.dumps(floor_names(first))


def test_a_shard_loads_only_its_accounts(tmp_path: Path) -> None:
    accounts = write_fleet(tmp_path / "fleet", 12)
    mine = {a.account_id for a in accounts if shard_of(a.account_id, 4) == 0}
    fleet = load_fleet(tmp_path / "fleet", select=lambda a: shard_of(a.account_id, 4) == 0)
    assert {d.settings.account_id for d in fleet.states} == mine
    assert len(fleet.accounts) == 12


def test_floor_names_are_what_the_floor_reads(tmp_path: Path) -> None:
    write_fleet(tmp_path / "fleet", 1)
    desired = load_fleet(tmp_path / "fleet").states[0]
    names = floor_names(desired)
    assert names["accountId"] == "100000000000"
    assert names["region"] == desired.settings.region
    assert set(names["names"]) >= {"Policy", "Role", "Group", "User", "Bucket", "NotebookInstance", "KmsKey"}
    assert names["names"]["Bucket"] == sorted(desired.of("Bucket"))


def test_going_from_four_to_five_shards_moves_about_a_fifth() -> None:
    ids = [a.account_id for a in fleet_accounts(400)]
    figures = moved(ids)
    assert figures["accounts"] == 400 and (figures["from"], figures["to"]) == (4, 5)
    # rendezvous hashing: only the accounts the new shard wins move, and each of them moves to it
    assert figures["moved"] == sum(1 for i in ids if shard_of(i, 5) == 4)
    assert 0.12 < figures["share"] < 0.28


def test_wide_fleets_keep_names_sorted() -> None:
    names = [a.name for a in fleet_accounts(1001)]
    assert names[0] == "acct-0000" and names[-1] == "acct-1000" and names == sorted(names)


def test_the_report_renders_saved_figures() -> None:
    shard = {"cpuSeconds": 2.0, "peakRssMb": 150.0, "accounts": 2, "endedAt": 3.0, "index": 0, "status": 0}
    run = {
        "wallSeconds": 3.0,
        "perShard": [shard],
        "emulatorCpuSeconds": 1.0,
        "loadBefore": [1.0, 1.0, 1.0],
        "loadAfter": [1.0, 1.0, 1.0],
    }
    calls = {"iam:ListRoles": 1}
    results = {
        "machine": {"cpuCount": 2, "schedAffinity": 2, "python": "3.11", "platform": "linux"},
        "args": {"accounts": "2", "extra_roles": "0", "repeat": "1"},
        "loadBefore": [1.0, 1.0, 1.0],
        "loadAfter": [1.0, 1.0, 1.0],
        "runs": {"plan": {"1": [run], "4": [dict(run, wallSeconds=1.0)]}},
        "calls": {
            "accounts": 2,
            "totalCalls": 2,
            "perAccount": {"min": 1, "median": 1, "max": 1},
            "callerCalls": {},
            "assumeRole": {"total": 2, "accounts": 2},
            "firstAccount": calls,
            "floor": calls,
        },
        "memory": [
            {"fleetAccounts": 2, "shardAccounts": 1, "peakRssMb": [100.0], "cpuSeconds": [1.0], "wallSeconds": [1.0]}
        ],
        "moved": [moved(["100000000000", "100000000001"])],
        "seed": [],
    }
    text = tables(results)
    assert "| plan | 4 | 1.0 | 3.00x | 1.33 |" in text
    assert "**1.33x** (target <= 1.3x: NOT met on this machine)" in text
    assert "| fleet plan per account / floor | 1.000x |" in text
