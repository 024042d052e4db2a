"""How the process runs: the pace of Python's cyclic garbage collector, and the C allocator's arenas.

A plan allocates millions of objects that live until it ends (the account's answers, the manifests, the rules'
model), few of them in reference cycles. CPython's collector examines the young generation every 700 net
allocations, each survivor again in the middle one, and everything alive in a full collection every 100 young
ones once the old objects grew by a quarter: a plan at the benchmark's scale 1 spent about 1.2 s of its 6-8 s of
CPU there, 0.9 s of it in 7-8 full collections (``bench/`` and docs/benchmarks.md), and found little to free.

How often to collect depends on how long the process lives (:func:`tune_process`):

- *A command that does one piece of work and exits* (plan, apply, check, audit, ``run --once``...): the young
  generation every :data:`ONE_SHOT_YOUNG_THRESHOLD` net allocations. A plan at scale 1 makes about 1.4 million,
  so it is collected about once, and none of the older generations; what it would free is the little garbage the
  reads leave in cycles (botocore's JMESPath interpreters, a few thousand objects at scale 1), freed later, at
  most a million allocations later. At scale 1 the collector's share went from 0.2 s to under 0.02 s with the
  same peak memory; at scale 4 about 1 s of CPU less, for a peak a few MB higher (docs/benchmarks.md).
- *A service* (the controller, the emulator): every :data:`YOUNG_THRESHOLD`. Each cycle's model dies by the next,
  and what dies in cycles after it has aged into the older generations is freed only when those are collected:
  they are collected at CPython's ratios (every 10 collections of the one below), and the controller's memory
  does not grow over 200 cycles (``bench/controller_memory.py``; a run may settle on one of two levels about 8 MB
  apart, docs/benchmarks.md).

Reference counting, which frees everything else at once, is untouched.

glibc's allocator gives each thread that allocates an arena of its own, up to 8 per core, and keeps what each frees
for reuse by that arena only: a plan's 16 read threads, a pipeline per kind and the rules' thread spread the same
data over many arenas, and the controller, which starts them anew each cycle, settled 20-35 MB higher. Two arenas
(:func:`limit_arenas`, what ``MALLOC_ARENA_MAX=2`` does) keep the process's memory that much lower; the threads
mostly wait on AWS, so sharing arenas costs no measurable time.

Between two cycles, a service frees what it can (:func:`release_memory`): a full collection, then glibc's
``malloc_trim``, which hands the free pages at the top of each arena and inside them back to the system. The
controller does it after every reconcile (:meth:`reconciler.controller.loop.Controller.run_forever`): without it,
its memory between cycles sat on one of two levels about 8 MB apart, depending on where the last cycle's
allocations had landed; with it, the memory it keeps while it sleeps is the same after every cycle
(``bench/controller_memory.py``, docs/benchmarks.md).

The pace and the arenas are set once per process, by the command line's entry point
(:func:`reconciler.cli.main`, through :func:`reconciler.cli.tune_for`), for every command; the library never
changes them on import (a program that imports the reconciler keeps its own settings).
"""

from __future__ import annotations

import gc
import os
import sys
from dataclasses import dataclass

__all__ = [
    "ARENAS",
    "ONE_SHOT_YOUNG_THRESHOLD",
    "YOUNG_THRESHOLD",
    "Released",
    "limit_arenas",
    "pace_collector",
    "release_memory",
    "tune_process",
]

#: Net allocations of container objects between two collections of the youngest generation, in a service (CPython:
#: 700).
YOUNG_THRESHOLD = 10_000
#: The same, in a command that does one piece of work and exits.
ONE_SHOT_YOUNG_THRESHOLD = 1_000_000
#: The C allocator's arenas (glibc's default: 8 per core).
ARENAS = 2
_M_ARENA_MAX = -8  # glibc's malloc.h


def pace_collector(young: int = YOUNG_THRESHOLD) -> tuple[int, int, int]:
    """Collect the young generation every ``young`` net allocations, the older two at CPython's default ratios
    (every 10 collections of the one below). Returns the thresholds set."""
    thresholds = (young, 10, 10)
    gc.set_threshold(*thresholds)
    return thresholds


def _glibc() -> bool:
    """Whether the C library is glibc (not musl, not another system's)."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        return bool(os.confstr("CS_GNU_LIBC_VERSION"))
    except (ValueError, OSError):  # not glibc (musl has no such name)
        return False


def limit_arenas(arenas: int = ARENAS) -> bool:
    """Let glibc's allocator use at most ``arenas`` arenas, as ``MALLOC_ARENA_MAX`` would (set it before any thread
    starts). Nothing is changed where ``MALLOC_ARENA_MAX`` is set (the environment's choice stands) or where the C
    library is not glibc. Returns whether the limit was set."""
    if os.environ.get("MALLOC_ARENA_MAX") or not _glibc():
        return False
    import ctypes  # noqa: PLC0415 - only where there is a glibc to ask

    try:
        return bool(ctypes.CDLL(None).mallopt(_M_ARENA_MAX, arenas))
    except (OSError, AttributeError):
        return False


def tune_process(*, one_shot: bool = False) -> None:
    """What the command line's entry point sets for the whole process: :func:`pace_collector`, for a command that
    does one piece of work and exits (``one_shot``) or for a service, and :func:`limit_arenas`."""
    pace_collector(ONE_SHOT_YOUNG_THRESHOLD if one_shot else YOUNG_THRESHOLD)
    limit_arenas()


@dataclass(frozen=True)
class Released:
    """What :func:`release_memory` did: the unreachable objects the full collection found, and whether the C
    allocator was asked to give its free memory back (glibc only)."""

    collected: int
    trimmed: bool


def release_memory() -> Released:
    """Free what the process no longer uses: a full collection of every generation, then, where the C library is
    glibc, ``malloc_trim(0)`` (free pages go back to the system; nothing in use moves). For a service between two
    pieces of work: the collection takes a few hundred milliseconds at the benchmark's scale 1."""
    collected = gc.collect()
    if not _glibc():
        return Released(collected, trimmed=False)
    import ctypes  # noqa: PLC0415 - only where there is a glibc to ask

    try:
        ctypes.CDLL(None).malloc_trim(0)
    except (OSError, AttributeError):
        return Released(collected, trimmed=False)
    return Released(collected, trimmed=True)
