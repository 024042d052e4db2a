"""How the process runs: the pace of Python's cyclic garbage collector.

A plan allocates millions of objects that live until it ends (the account's answers, the manifests, the rules'
model), few of them in reference cycles. With CPython's default thresholds (a young collection every 700 net
allocations, a full one every 100 young ones once the old objects grew by a quarter), a plan at the benchmark's
scale 1 spent about 1.2 s of its 6-8 s of CPU in the collector, 0.9 s of it in 7-8 full collections, each walking
every object alive (``bench/`` and docs/benchmarks.md). Collecting the young generation every
:data:`YOUNG_THRESHOLD` allocations instead makes those full collections about 14 times rarer (one per million net
allocations, subject to the same growth rule) and the collector's share about 0.3 s; what is collected is the
same, later: the peak memory of a plan did not grow (what a collection frees is cyclic garbage, a small part of
it). Reference counting, which frees everything else at once, is untouched.

Set once per process, by the command line's entry point (:func:`reconciler.cli.main`), for every command; the
library never changes it on import (a program that imports the reconciler keeps its own settings).
"""

from __future__ import annotations

import gc

__all__ = ["YOUNG_THRESHOLD", "pace_collector"]

#: Net allocations of container objects between two collections of the youngest generation (CPython: 700).
YOUNG_THRESHOLD = 10_000


def pace_collector() -> tuple[int, int, int]:
    """Collect the young generation every :data:`YOUNG_THRESHOLD` net allocations, the older two at CPython's
    default ratios (every 10 collections of the one below). Returns the thresholds set."""
    thresholds = (YOUNG_THRESHOLD, 10, 10)
    gc.set_threshold(*thresholds)
    return thresholds
