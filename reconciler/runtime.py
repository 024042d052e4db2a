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
  does not grow over 200 cycles (``bench/controller_memory.py``, docs/benchmarks.md).

Reference counting, which frees everything else at once, is untouched.

glibc's allocator gives each thread that allocates an arena of its own, up to 8 per core, and keeps what each frees
for reuse by that arena only: a plan's 16 read threads, a pipeline per kind and the rules' thread spread the same
data over many arenas, and the controller, which starts them anew each cycle, settled 20-35 MB higher. Two arenas
(:func:`limit_arenas`, what ``MALLOC_ARENA_MAX=2`` does) keep the process's memory that much lower; the threads
mostly wait on AWS, so sharing arenas costs no measurable time.

A service keeps the allocator's trim threshold fixed (:func:`fix_trim_threshold`): glibc otherwise raises it as
the process runs, and a thread's arena then keeps up to 64 MiB free at the top of its heap. Between two cycles it
frees what it can (:func:`release_memory`): a full collection, then glibc's ``malloc_trim``, which gives back the
free pages inside every arena and the top of the main heap. The controller does it after every reconcile
(:meth:`reconciler.controller.loop.Controller.run_forever`). With the trim alone, its memory while it waited sat
on one of two levels 9 MB apart (by whether a thread arena's top had been trimmed); with both, the same level
after every cycle (``bench/controller_memory.py``, docs/benchmarks.md).

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
    "TRIM_THRESHOLD",
    "YOUNG_THRESHOLD",
    "Released",
    "fix_trim_threshold",
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
#: Free memory at the top of a heap of the C allocator beyond which it goes back to the system, in a service
#: (glibc's initial value, which it raises on its own, up to 64 MiB, unless set).
TRIM_THRESHOLD = 128 * 1024
# glibc's malloc.h
_M_TRIM_THRESHOLD = -1
_M_ARENA_MAX = -8


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


def _glibc_call(function: str, *args: int) -> int | None:
    """glibc's ``function(*args)``; None where the C library is not glibc or has no such function."""
    if not _glibc():
        return None
    import ctypes  # noqa: PLC0415 - only where there is a glibc to ask

    try:
        return int(getattr(ctypes.CDLL(None), function)(*args))
    except (OSError, AttributeError):
        return None


def _mallopt(parameter: int, value: int, variable: str) -> bool:
    """glibc's ``mallopt(parameter, value)``, unless the environment variable ``variable`` that sets the same is
    (the environment's choice stands) or the C library is not glibc. Returns whether it was set."""
    if os.environ.get(variable):
        return False
    return bool(_glibc_call("mallopt", parameter, value))


def limit_arenas(arenas: int = ARENAS) -> bool:
    """Let glibc's allocator use at most ``arenas`` arenas, as ``MALLOC_ARENA_MAX`` would (set it before any thread
    starts). Nothing is changed where ``MALLOC_ARENA_MAX`` is set or where the C library is not glibc. Returns
    whether the limit was set."""
    return _mallopt(_M_ARENA_MAX, arenas, "MALLOC_ARENA_MAX")


def fix_trim_threshold(threshold: int = TRIM_THRESHOLD) -> bool:
    """Keep glibc's trim threshold at ``threshold`` bytes, as ``MALLOC_TRIM_THRESHOLD_`` would: the free memory at
    the top of each heap beyond it goes back to the system when a block is freed there.

    Unless it is set, glibc moves it: every time a large block it had mapped on its own is freed, the size from which
    it maps blocks rises to that block's, and the trim threshold to twice that, up to 64 MiB. A thread's arena then
    keeps that much free memory at the top of its heap, which ``malloc_trim`` does not give back either (it trims the
    main heap's top, and the free pages inside every arena, not the top of a thread's): the controller's memory
    between cycles sat on one of two levels 9 MB apart, by whether that top had been trimmed. Fixed, it is trimmed
    as it is freed (and blocks from 128 KiB up are always mapped on their own). Nothing is changed where
    ``MALLOC_TRIM_THRESHOLD_`` is set or where the C library is not glibc. Returns whether it was set."""
    return _mallopt(_M_TRIM_THRESHOLD, threshold, "MALLOC_TRIM_THRESHOLD_")


def tune_process(*, one_shot: bool = False) -> None:
    """What the command line's entry point sets for the whole process: :func:`pace_collector`, for a command that
    does one piece of work and exits (``one_shot``) or for a service, :func:`limit_arenas`, and for a service
    :func:`fix_trim_threshold` (a command that exits gives everything back then)."""
    pace_collector(ONE_SHOT_YOUNG_THRESHOLD if one_shot else YOUNG_THRESHOLD)
    limit_arenas()
    if not one_shot:
        fix_trim_threshold()


@dataclass(frozen=True)
class Released:
    """What :func:`release_memory` did: the unreachable objects the full collection found, and whether the C
    allocator was asked to give its free memory back (glibc only)."""

    collected: int
    trimmed: bool


def release_memory() -> Released:
    """Free what the process no longer uses: a full collection of every generation, then, where the C library is
    glibc, ``malloc_trim(0)`` (free pages go back to the system; nothing in use moves). For a service between two
    pieces of work: at the benchmark's scale 1 both take 0.10-0.16 s after a reconcile (the controller's debug
    line "memory released" says how long, and how many objects the collection freed)."""
    collected = gc.collect()
    return Released(collected, trimmed=_glibc_call("malloc_trim", 0) is not None)
