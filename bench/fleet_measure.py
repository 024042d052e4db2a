"""One shard of the fleet benchmark, or one account's floor, in a process of its own (started by
``bench.fleet_bench``).

    python -m bench.fleet_measure RESULT.json [--count-calls] -- plan DIR --endpoint-url URL [...]
    python -m bench.fleet_measure RESULT.json --floor DIR --account NAME --endpoint URL

The first form runs the real CLI, ``reconciler.cli.run(ARGS)``, unchanged: its stdout goes to
``RESULT.json`` with ``.out`` for a suffix, and RESULT.json gets the exit status, this process's CPU
seconds (imports included: a shard's whole cost) and its own peak RSS (``VmHWM``, see
``bench.measure``). With ``--count-calls`` every ``ClientFactory`` the fleet commands make for an account
gets a ``CallRecorder`` of that account's (by the account id in the role it assumes), and the
sts:AssumeRole calls that botocore's credential fetcher makes for it, outside the product's clients and
counting, are counted on their own.

The second form issues ``bench.floor.read_floor`` for one account of the fleet, through the account's
read role, as the plan reaches it; what the floor knows of git comes from the loaded fleet.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

from bench.measure import _cpu, _hwm_mb


def _named(counts: dict[tuple[str, str], int]) -> dict[str, int]:
    return {f"{s}:{o}": n for (s, o), n in sorted(counts.items())}


def count_calls_per_account() -> tuple[dict[str, Any], Counter[str]]:
    """Give every account's client factory a recorder of that account's; returns them and the AssumeRole
    counts (by account id), filled as the CLI runs."""
    import threading

    from reconciler.aws import clients
    from reconciler.commands import accounts

    recorders: dict[str, Any] = {}
    assumed: Counter[str] = Counter()
    lock = threading.Lock()

    def recorder_for(account_id: str) -> Any:
        with lock:
            return recorders.setdefault(account_id, clients.CallRecorder())

    class AccountFactory(clients.ClientFactory):
        def __init__(self, config: Any, *, read_only: bool, recorder: Any = None) -> None:
            role = config.assume.role_arn if config.assume is not None else ""
            account_id = role.split(":")[4] if role.count(":") >= 5 else "caller"
            super().__init__(config, read_only=read_only, recorder=recorder or recorder_for(account_id))

    original_assume = clients._assume

    def assume(session: Any, config: Any) -> None:
        account_id = config.assume.role_arn.split(":")[4]

        def count(**_: Any) -> None:
            with lock:
                assumed[account_id] += 1

        # the fetcher's STS client is made from this botocore session later, and inherits its handlers
        session._session.register("before-call.sts.AssumeRole", count)
        original_assume(session, config)

    clients._assume = assume  # type: ignore[assignment]
    accounts.ClientFactory = AccountFactory  # type: ignore[misc]
    return recorders, assumed


def run_cli(result: Path, cli_args: list[str], *, count: bool) -> int:
    from reconciler import cli
    from reconciler.logs import configure_logging  # noqa: F401 - imported before the clock, as the CLI does

    recorders, assumed = count_calls_per_account() if count else ({}, Counter())
    status, error = 1, None
    out_path = result.with_suffix(".out")
    started = time.perf_counter()
    try:
        with out_path.open("w") as out:
            status = cli.run(cli_args, out=out)
    except Exception as exc:  # the CLI crashed: record it, then re-raise (a traceback on stderr)
        error = f"{type(exc).__name__}: {str(exc)[:300]}"
        raise
    finally:
        figures: dict[str, Any] = {
            "status": status,
            "exception": error,
            "seconds": time.perf_counter() - started,
            "cpuSeconds": _cpu(),
            "peakRssMb": _hwm_mb(),
        }
        if count:
            figures["callsByAccount"] = {a: _named(r.counts()) for a, r in sorted(recorders.items())}
            figures["attemptsByAccount"] = {a: r.total_attempts() for a, r in sorted(recorders.items())}
            figures["assumeRoleByAccount"] = dict(sorted(assumed.items()))
        result.write_text(json.dumps(figures, indent=1))
    return status


def run_floor(result: Path, directory: Path, account: str, endpoint: str) -> int:
    from bench.fleet_seed import floor_names
    from bench.floor import read_floor
    from reconciler.aws.clients import AssumedRole, AwsConfig, CallRecorder, ClientFactory
    from reconciler.kinds import load_fleet

    fleet = load_fleet(directory, select=lambda a: a.name == account)
    desired = fleet.states[0]
    git = floor_names(desired)
    spoke = desired.account
    assert spoke is not None
    role = spoke.role_for(read_only=True)
    assume = AssumedRole(role, AssumedRole.session_name_for("plan"), spoke.external_id) if role else None
    recorder = CallRecorder()
    config = AwsConfig(endpoint_url=endpoint, region=git["region"], assume=assume)
    started = time.perf_counter()
    seen = read_floor(ClientFactory(config, read_only=True, recorder=recorder), git)
    result.write_text(
        json.dumps(
            {
                "status": 0,
                "seconds": time.perf_counter() - started,
                "seen": seen,
                "calls": _named(recorder.counts()),
                "names": git["names"],
                "peakRssMb": _hwm_mb(),
            },
            indent=1,
        )
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    ours, cli_args = (argv[: argv.index("--")], argv[argv.index("--") + 1 :]) if "--" in argv else (argv, [])
    parser = argparse.ArgumentParser(prog="python -m bench.fleet_measure")
    parser.add_argument("result", type=Path)
    parser.add_argument("--count-calls", action="store_true")
    parser.add_argument("--floor", type=Path, metavar="DIR")
    parser.add_argument("--account")
    parser.add_argument("--endpoint")
    args = parser.parse_args(ours)
    if args.floor:
        return run_floor(args.result, args.floor, args.account, args.endpoint)
    return run_cli(args.result, cli_args, count=args.count_calls)


if __name__ == "__main__":
    sys.exit(main())
