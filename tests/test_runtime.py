"""The process's garbage collector: paced by the command line's entry point, never by importing the library."""

from __future__ import annotations

import gc
import io
import os
import subprocess
import sys
import weakref
from collections.abc import Iterator
from pathlib import Path

import pytest

from reconciler import cli
from reconciler.runtime import ONE_SHOT_YOUNG_THRESHOLD, YOUNG_THRESHOLD, pace_collector, release_memory

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def thresholds() -> Iterator[None]:
    saved = gc.get_threshold()
    try:
        yield
    finally:
        gc.set_threshold(*saved)


def test_the_entry_point_paces_the_collector(thresholds: None, monkeypatch: pytest.MonkeyPatch) -> None:
    gc.set_threshold(700, 10, 10)
    monkeypatch.setattr(sys, "argv", ["reconciler", "--version"])
    with pytest.raises(SystemExit) as done:
        cli.main()
    assert done.value.code == 0
    assert gc.get_threshold() == (ONE_SHOT_YOUNG_THRESHOLD, 10, 10)


@pytest.mark.parametrize(
    ("argv", "young"),
    [
        (["plan", "desired-state"], ONE_SHOT_YOUNG_THRESHOLD),
        (["--log-format", "json", "apply", "desired-state", "--auto-approve"], ONE_SHOT_YOUNG_THRESHOLD),
        (["check", "desired-state"], ONE_SHOT_YOUNG_THRESHOLD),
        (["run", "--source", "repo", "--once"], ONE_SHOT_YOUNG_THRESHOLD),
        (["--help"], ONE_SHOT_YOUNG_THRESHOLD),
        (["run", "--source", "repo"], YOUNG_THRESHOLD),
        (["--log-level", "debug", "run", "--source", "repo", "--interval", "10s"], YOUNG_THRESHOLD),
        (["sandbox", "--port", "0"], YOUNG_THRESHOLD),
        (["demo"], YOUNG_THRESHOLD),
    ],
)
def test_one_piece_of_work_is_collected_rarely_a_service_often(thresholds: None, argv: list[str], young: int) -> None:
    cli.tune_for(argv)
    assert gc.get_threshold() == (young, 10, 10)


def test_running_a_command_from_the_library_leaves_the_collector_alone(thresholds: None) -> None:
    gc.set_threshold(700, 10, 10)
    assert cli.run(["validate", str(REPO / "desired-state")], out=io.StringIO()) == 0
    assert gc.get_threshold() == (700, 10, 10)


def test_importing_the_product_leaves_the_collector_alone() -> None:
    code = (
        "import gc; before = gc.get_threshold(); "
        "import reconciler.cli, reconciler.engine.converge, reconciler.controller.loop, reconciler.kinds; "
        "print(before == gc.get_threshold())"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "True"


def test_the_pace_collects_young_objects_less_often_and_still_collects_cycles(thresholds: None) -> None:
    assert pace_collector() == (YOUNG_THRESHOLD, 10, 10)
    assert 700 < YOUNG_THRESHOLD < ONE_SHOT_YOUNG_THRESHOLD

    class Node:
        other: object

    gc.collect()
    before = gc.get_count()[0]
    a, b = Node(), Node()
    a.other, b.other = b, a  # a reference cycle: only the collector frees it
    del a, b
    assert gc.get_count()[0] >= before  # not collected yet: fewer than YOUNG_THRESHOLD allocations since
    assert gc.collect() >= 2


def _glibc() -> bool:
    try:
        return bool(os.confstr("CS_GNU_LIBC_VERSION"))
    except (ValueError, OSError):
        return False


@pytest.mark.skipif(not sys.platform.startswith("linux") or not _glibc(), reason="glibc's allocator only")
def test_the_arenas_are_limited_unless_the_environment_says_otherwise() -> None:
    code = "from reconciler.runtime import limit_arenas; print(limit_arenas())"
    env = {k: v for k, v in os.environ.items() if k != "MALLOC_ARENA_MAX"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
    assert done.stdout.strip() == "True"
    env["MALLOC_ARENA_MAX"] = "4"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
    assert done.stdout.strip() == "False"  # the environment's choice stands


def test_releasing_memory_collects_cycles_whatever_the_pace(thresholds: None) -> None:
    class Node:
        other: object

    gc.disable()
    try:
        a, b = Node(), Node()
        a.other, b.other = b, a
        alive = weakref.ref(a)
        del a, b
        assert alive() is not None  # the collector is off: only a full collection frees the cycle
        released = release_memory()
    finally:
        gc.enable()
    assert alive() is None
    assert released.collected >= 2
    assert released.trimmed == (sys.platform.startswith("linux") and _glibc())


# Blocks too large for Python's own small-object allocator (malloc's), one in 64 kept, and the last one: the freed
# ones lie in whole pages inside the heap, below a block in use, which free() alone never gives back.
_FRAGMENTED = """
from pathlib import Path
from reconciler.runtime import release_memory

def rss():
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024

blocks = [bytes(1000) + bytes([i % 256]) for i in range(40_000)]
kept = blocks[::64] + [blocks[-1]]
del blocks
before = rss()
release_memory()
print(before - rss())
"""


@pytest.mark.skipif(not sys.platform.startswith("linux") or not _glibc(), reason="glibc's allocator only")
def test_releasing_memory_gives_freed_pages_inside_the_heap_back_to_the_system() -> None:
    env = {k: v for k, v in os.environ.items() if k != "MALLOC_ARENA_MAX"}
    done = subprocess.run([sys.executable, "-c", _FRAGMENTED], capture_output=True, text=True, check=True, env=env)
    assert float(done.stdout) > 20  # of the ~40 MB freed; a collection alone gives back none of it


# A thread's work: a large block glibc maps on its own, freed (glibc then raises its thresholds, unless fixed), then
# 30 MB of blocks in the thread's arena, freed: they end up at the top of that arena's heap.
_THREAD_ARENA = """
import sys, threading
from pathlib import Path
from reconciler.runtime import release_memory, tune_process

def rss():
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024

if sys.argv[1] == "service":
    tune_process(one_shot=False)
elif sys.argv[1] == "one-shot":
    tune_process(one_shot=True)
before = rss()

def work():
    big = bytearray(16 * 1024 * 1024)
    del big
    blocks = [bytes(1000) + bytes([i % 256]) for i in range(30_000)]
    del blocks

thread = threading.Thread(target=work)
thread.start()
thread.join()
release_memory()
print(rss() - before)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux") or not _glibc(), reason="glibc's allocator only")
def test_a_service_gives_back_what_a_thread_freed_at_the_top_of_its_arena() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}

    def kept(mode: str) -> float:
        done = subprocess.run(
            [sys.executable, "-c", _THREAD_ARENA, mode], capture_output=True, text=True, check=True, env=env
        )
        return float(done.stdout)

    assert kept("service") < 8  # the thread arena's top went back when it was freed
    # What the fixed threshold is for: with glibc's moving one, the top stays, and malloc_trim leaves it too.
    assert kept("one-shot") > 20


def test_the_environment_s_trim_threshold_stands() -> None:
    code = "from reconciler.runtime import fix_trim_threshold; print(fix_trim_threshold())"
    env = {**os.environ, "MALLOC_TRIM_THRESHOLD_": "1048576"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
    assert done.stdout.strip() == "False"
