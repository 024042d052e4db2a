"""The emulator as a process of its own, for the benchmark: ``python -m bench.emulator [--lean-accounts]``.

Starts ``reconciler.sandbox.Emulator`` on a free 127.0.0.1 port, prints its URL on the first line of
stdout, and serves until stdin is closed (or SIGTERM/SIGINT). Running it in its own process keeps its
CPU and memory out of the measured programs, as a real AWS endpoint would be.

``--lean-accounts`` (for fleets of many accounts): accounts other than the default one get no copy of
the 1,582 AWS managed IAM policies. moto builds them for every account it sees, in every partition:
about 55 MB and 0.8 s of the emulator's CPU per account, 5 GB for 100 accounts. Only what the emulator
holds changes: a local policy, a role or a GetAccountAuthorizationDetails filtered to local policies
reads the same; an ``arn:aws:iam::aws:policy/...`` cannot be attached in such an account.
"""

from __future__ import annotations

import signal
import sys
import threading


def main(argv: list[str] | None = None) -> int:
    import os

    from reconciler.sandbox import Emulator

    lean = "--lean-accounts" in (sys.argv[1:] if argv is None else argv)

    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    with Emulator.start(port=0, host="127.0.0.1") as emulator:
        if lean:
            # read by moto each time it builds an account's IAM backend; the default account's are built
            os.environ["MOTO_IAM_LOAD_MANAGED_POLICIES"] = "false"
        print(emulator.url, flush=True)

        def watch_stdin() -> None:
            sys.stdin.read()  # returns at EOF: the parent closed the pipe or died
            stop.set()

        threading.Thread(target=watch_stdin, daemon=True).start()
        while not stop.wait(0.5):
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
