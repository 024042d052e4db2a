"""The real CLI, in a process of its own, with its AWS calls counted (started by ``bench.apply_bench``).

    python -m bench.apply_measure RESULT.json -- --log-format json apply DIR --endpoint-url URL [...]

Runs ``reconciler.cli.run(ARGS)`` unchanged, after what ``reconciler.cli.main`` sets for the process
(``reconciler.cli.tune_for``), except that every ``ClientFactory`` the CLI makes gets a
``CallRecorder`` (one for read-only clients, one for writable ones) and counts how many calls are in
flight at once (the peak, for all calls and for mutating IAM/S3/SageMaker ones: proof that writes run in
parallel). The
CLI's exit status is this program's; RESULT.json gets the calls, the attempts, the peaks, the time
from ``cli.run`` entry to return (imports excluded) and the process's peak RSS (``VmHWM``).

With ``APPLY_BENCH_LATENCY_MS`` set, every HTTP attempt first sleeps that long (in the calling thread,
before it is sent): the round trip to a real AWS endpoint, which the emulator on 127.0.0.1 does not have.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from pathlib import Path
from typing import Any


class InFlight:
    """The peak number of logical calls in flight at once, all and mutating only."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.now = {"all": 0, "writes": 0}
        self.peak = {"all": 0, "writes": 0}

    def handlers(self, service: str) -> tuple[Any, Any]:
        from reconciler.aws.operations import is_read_only_operation

        def kinds(event_name: str) -> tuple[str, ...]:
            # The lease (DynamoDB, renewed by a thread of its own) is not one of the changes.
            write = service != "dynamodb" and not is_read_only_operation(service, event_name.rsplit(".", 1)[-1])
            return ("all", "writes") if write else ("all",)

        def start(event_name: str, **_: Any) -> None:
            with self._lock:
                for kind in kinds(event_name):
                    self.now[kind] += 1
                    self.peak[kind] = max(self.peak[kind], self.now[kind])

        def end(event_name: str, **_: Any) -> None:
            with self._lock:
                for kind in kinds(event_name):
                    self.now[kind] -= 1

        return start, end


def _hwm_mb() -> float:
    """This process's peak RSS (``VmHWM``, Linux), in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main(argv: list[str]) -> int:
    if len(argv) < 3 or argv[1] != "--":
        print(__doc__, file=sys.stderr)
        return 2
    out, cli_args = Path(argv[0]), argv[2:]

    from reconciler import cli
    from reconciler.aws.clients import CallRecorder, ClientFactory

    cli.tune_for(cli_args)  # as the command line's entry point (cli.main) does

    latency = float(os.environ.get("APPLY_BENCH_LATENCY_MS", "0")) / 1000
    recorders = {"read": CallRecorder(), "write": CallRecorder()}
    in_flight = InFlight()

    class RecordingFactory(ClientFactory):
        def __init__(self, config: Any, *, read_only: bool, recorder: CallRecorder | None = None) -> None:
            super().__init__(
                config, read_only=read_only, recorder=recorder or recorders["read" if read_only else "write"]
            )

        def _create(self, service_name: str) -> Any:
            client = super()._create(service_name)
            start, end = in_flight.handlers(client.meta.service_model.service_name)
            client.meta.events.register("before-call", start)
            client.meta.events.register("after-call", end)
            client.meta.events.register("after-call-error", end)
            if latency > 0:
                client.meta.events.register("before-send", lambda **_: time.sleep(latency))
            return client

    from reconciler.commands import accounts, common

    # where the commands make their factories (cli has none of its own)
    common.ClientFactory = RecordingFactory  # type: ignore[misc]
    accounts.ClientFactory = RecordingFactory  # type: ignore[misc]

    def named(counts: dict[tuple[str, str], int]) -> dict[str, int]:
        return {f"{s}:{o}": n for (s, o), n in sorted(counts.items())}

    status, error = 1, None
    started = time.perf_counter()
    try:
        status = cli.run(cli_args, out=sys.stdout)
    except Exception as exc:  # the CLI crashed (a traceback): record what it did before, then re-raise
        error = f"{type(exc).__module__}.{type(exc).__name__}: {str(exc)[:300]}"
        raise
    finally:
        out.write_text(
            json.dumps(
                {
                    "status": status,
                    "exception": error,
                    "seconds": time.perf_counter() - started,
                    "calls": {k: named(r.counts()) for k, r in recorders.items()},
                    "attempts": {k: named(r.attempts()) for k, r in recorders.items()},
                    "peakInFlight": in_flight.peak,
                    "latencyMs": latency * 1000,
                    "peakRssMb": _hwm_mb(),
                },
                indent=1,
            )
        )
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
