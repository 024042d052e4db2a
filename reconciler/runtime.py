"""How the process runs: the pace of Python's cyclic garbage collector, and the C allocator's arenas.

A plan allocates millions of objects that live until it ends (the account's answers, the manifests, the rules'
model), few of them in reference cycles. With CPython's default thresholds (a young collection every 700 net
allocations, a full one every 100 young ones once the old objects grew by a quarter), a plan at the benchmark's
scale 1 spent about 1.2 s of its 6-8 s of CPU in the collector, 0.9 s of it in 7-8 full collections, each walking
every object alive (``bench/`` and docs/benchmarks.md). Collecting the young generation every
:data:`YOUNG_THRESHOLD` allocations instead makes those full collections about 14 times rarer (one per million net
allocations, subject to the same growth rule) and the collector's share about 0.3 s; what is collected is the
same, later: the peak memory of a plan did not grow (what a collection frees is cyclic garbage, a small part of
it). Reference counting, which frees everything else at once, is untouched.

glibc's allocator gives each thread that allocates an arena of its own, up to 8 per core, and keeps what each frees
for reuse by that arena only: a plan's 16 read threads, a pipeline per kind and the rules' thread spread the same
data over many arenas, and the controller, which starts them anew each cycle, settled 20-35 MB higher. Two arenas
(:func:`limit_arenas`, what ``MALLOC_ARENA_MAX=2`` does) keep the process's memory that much lower; the threads
mostly wait on AWS, so sharing arenas costs no measurable time.

Both are set once per process, by the command line's entry point (:func:`reconciler.cli.main`), for every command;
the library never changes them on import (a program that imports the reconciler keeps its own settings).
"""

from __future__ import annotations

import gc
import os
import sys

__all__ = ["ARENAS", "YOUNG_THRESHOLD", "limit_arenas", "pace_collector", "tune_process"]

#: Net allocations of container objects between two collections of the youngest generation (CPython: 700).
YOUNG_THRESHOLD = 10_000
#: The C allocator's arenas (glibc's default: 8 per core).
ARENAS = 2
_M_ARENA_MAX = -8  # glibc's malloc.h


def pace_collector() -> tuple[int, int, int]:
    """Collect the young generation every :data:`YOUNG_THRESHOLD` net allocations, the older two at CPython's
    default ratios (every 10 collections of the one below). Returns the thresholds set."""
    thresholds = (YOUNG_THRESHOLD, 10, 10)
    gc.set_threshold(*thresholds)
    return thresholds


def limit_arenas(arenas: int = ARENAS) -> bool:
    """Let glibc's allocator use at most ``arenas`` arenas, as ``MALLOC_ARENA_MAX`` would (set it before any thread
    starts). Nothing is changed where ``MALLOC_ARENA_MAX`` is set (the environment's choice stands) or where the C
    library is not glibc. Returns whether the limit was set."""
    if os.environ.get("MALLOC_ARENA_MAX") or not sys.platform.startswith("linux"):
        return False
    try:
        if not os.confstr("CS_GNU_LIBC_VERSION"):
            return False
    except (ValueError, OSError):  # not glibc (musl has no such name)
        return False
    import ctypes  # noqa: PLC0415 - only where there is a glibc to ask

    try:
        return bool(ctypes.CDLL(None).mallopt(_M_ARENA_MAX, arenas))
    except (OSError, AttributeError):
        return False


def tune_process() -> None:
    """What the command line's entry point sets for the whole process: :func:`pace_collector` and
    :func:`limit_arenas`."""
    pace_collector()
    limit_arenas()
