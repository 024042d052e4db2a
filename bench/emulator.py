"""The emulator as a process of its own, for the benchmark: ``python -m bench.emulator``.

Starts ``reconciler.sandbox.Emulator`` on a free 127.0.0.1 port, prints its URL on the first line of
stdout, and serves until stdin is closed (or SIGTERM/SIGINT). Running it in its own process keeps its
CPU and memory out of the measured programs, as a real AWS endpoint would be.
"""

from __future__ import annotations

import signal
import sys
import threading


def main() -> int:
    from reconciler.sandbox import Emulator

    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    with Emulator.start(port=0, host="127.0.0.1") as emulator:
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
