"""How the in-process engines use the CPU: how many threads they compute with, and how those threads
wait for each other. Both are settled before an engine's OpenMP runtime is loaded.

Why. llama.cpp (ggml built with OpenMP, the default on Linux) and torch compute each operation with an
OpenMP team of threads that meet at a barrier when it ends: hundreds of times per generated token. GNU
libgomp, the runtime of both here (llama-cpp-python links the system's, torch ships its own under the
same name, so a process has one), lets a thread that reaches a barrier first spin for GOMP_SPINCOUNT
pauses before it sleeps: 300,000 by default, milliseconds. On a machine with nothing else running that
is the fastest way to wait. When other processes hold the cores, the partner the spinning thread waits
for has been descheduled, and the spinning thread holds the very core that partner needs; beside
another engine that spins too, both teams spin at each other. perf/contention.py, on a 2-core AMD EPYC
(2026-12-06, medians of 3 rounds; docs/performance.md, "Busy machines", has the tables): llama.cpp generated
59.4 tokens/s on a quiet machine, 10.7 beside two busy loops and 13.0 beside a second engine;
transformers 43.9, 9.7 and 12.8.

What bench does:
- **A short spin**: `SPIN_COUNT` pauses (microseconds), long enough for a partner that is running to
  arrive, too short to keep a core from one that is not; then the thread sleeps. Same run: llama.cpp
  61.0 tokens/s quiet, 27.7 beside busy loops, 32.8 beside a second engine; transformers 40.4, 20.6,
  23.3. Not OMP_WAIT_POLICY=PASSIVE (no spin at all): every barrier then waits for a kernel wake-up,
  and llama.cpp generated 41.0 tokens/s on a quiet machine against 72.4 with the default and 69.3 with
  this (transformers: the same with all three). libgomp reads the setting once, when
  it loads (at the first import of llama_cpp or torch), so `prepare()` writes it into this process's
  environment before that: `benchmark/__init__.py` calls it, and every path to an engine imports
  `benchmark` first (the CLI, `benchmark.run`, the providers package, tests, perf/); child processes
  (the engine's self-test, llama.cpp's server in the tests, perf/'s children) inherit it. A user's own
  OMP_WAIT_POLICY or GOMP_SPINCOUNT is kept.
- **Too late**: when an OpenMP runtime is already in the process (a notebook imported torch before
  bench), its threads keep the wait they started with; bench says so in one line, once, when an engine
  loads, with the fix, and goes on.
- **Threads**: the CPUs this process may run on (its affinity mask: `taskset`, a container's cpuset),
  capped by a cgroup CPU quota rounded up (`docker --cpus=1.5` on a 64-core host: 2 threads, not 64),
  not the machine's core count; `--threads N` sets it. The count does not change the numbers
  (tests/e2e/test_engine_threads.py and tests/e2e/test_hf_gemma.py compare both engines at 1 and 2
  threads, bit for bit), so it is not part of the response cache's key.

GGML's own thread pool (builds without OpenMP, e.g. macOS with Apple's compiler) spins at its barriers
with no limit and no setting; there the thread count is what bench controls.
"""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

SPIN_COUNT = 300
"""Pauses a libgomp thread spins at a barrier before it sleeps (libgomp's default: 300,000). Chosen with
`perf/contention.py --spin` on a 2-core AMD EPYC: on a quiet machine both engines were as fast as with
the default from about 300 up (100 cost llama.cpp a quarter of its generation speed); beside busy loops
and a second engine, 100-300 kept both within about 2.5x of quiet, and from 1,000 up llama.cpp's
generation beside a second engine fell away again (2.7x at 1,000, 4.4x at 3,000)."""
WAIT_VARIABLES = ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")
"""Environment variables of the wait that bench leaves alone when the user has set them."""
MARK = "BENCH_ENGINE_WAIT"
"""Set beside GOMP_SPINCOUNT when bench set it: a child process that inherits the setting knows it is
bench's, not the user's."""
RUNTIMES = ("libgomp", "libomp", "libiomp5")
"""OpenMP runtimes (GNU, LLVM, Intel) whose presence in the process means it is too late to set a wait."""

_prepared: Wait | None = None
_noted = False


@dataclass(frozen=True)
class Wait:
    """How the engines' threads in this process wait at a barrier."""

    setting: str
    """What is in effect, as an environment assignment (GOMP_SPINCOUNT=300), or 'unknown'."""
    source: str
    """'bench', 'yours' (the environment had it), or 'too late' (a runtime was already loaded)."""
    loaded: tuple[str, ...] = ()
    """The runtimes found loaded when it was too late."""


def _loaded_runtimes(maps: Path = Path("/proc/self/maps")) -> list[str]:
    """OpenMP runtimes already mapped into this process (on systems without /proc: guessed from the
    modules that load one)."""
    try:
        text = maps.read_text(errors="replace")
    except OSError:
        return [name for name in ("torch", "llama_cpp") if name in sys.modules]
    return sorted({name for name in RUNTIMES if f"/{name}" in text or f"/{name}-" in text})


def prepare() -> Wait:
    """Set the engines' wait in this process's environment before an OpenMP runtime loads (see the
    module's docstring); idempotent. Returns what is in effect."""
    global _prepared
    if _prepared is not None:
        return _prepared
    given = " ".join(f"{name}={os.environ[name]}" for name in WAIT_VARIABLES if os.environ.get(name))
    if given and os.environ.get(MARK) == given:  # inherited from a bench process
        _prepared = Wait(given, "bench")
    elif given:
        _prepared = Wait(given, "yours")
    elif loaded := _loaded_runtimes():
        _prepared = Wait("unknown", "too late", tuple(loaded))
    else:
        os.environ["GOMP_SPINCOUNT"] = str(SPIN_COUNT)
        os.environ[MARK] = f"GOMP_SPINCOUNT={SPIN_COUNT}"
        _prepared = Wait(os.environ[MARK], "bench")
    return _prepared


def _note_once(wait: Wait) -> None:
    """One line on stderr, the first time an engine loads with a wait bench could not set."""
    global _noted
    if _noted or wait.source != "too late":
        return
    _noted = True
    sys.stderr.write(
        f"bench: note: an OpenMP runtime ({', '.join(wait.loaded)}) was loaded before bench (torch "
        "imported first?): its threads keep spinning while they wait, so on a busy machine this "
        f"engine can run several times slower; import benchmark before torch, or set GOMP_SPINCOUNT="
        f"{SPIN_COUNT} before Python starts\n"
    )


def cgroup_cpu_limit(
    cgroup_root: Path = Path("/sys/fs/cgroup"), proc_cgroup: Path = Path("/proc/self/cgroup")
) -> float | None:
    """The CPUs a cgroup quota allows this process (1.5 for `cpu.max` "150000 100000"), the smallest
    along its cgroup's path up to the root (cgroup v2, else v1's cpu controller); None when there is
    none or it cannot be read (a file it may not read, bytes that are not text: no quota is known)."""
    try:
        return _cgroup_cpu_limit(cgroup_root, proc_cgroup)
    except (OSError, ValueError):
        return None


def _cgroup_cpu_limit(cgroup_root: Path, proc_cgroup: Path) -> float | None:
    lines = proc_cgroup.read_text().splitlines()
    limits = []
    for line in lines:
        hierarchy, _, rest = line.partition(":")
        controllers, _, path = rest.partition(":")
        if hierarchy == "0" and controllers == "":  # v2; under /unified on a hybrid (v1 + v2) system
            for mount in (cgroup_root, cgroup_root / "unified"):
                if (mount / "cgroup.controllers").is_file():
                    limits += _quotas(mount, path, _v2_quota)
                    break
        elif "cpu" in controllers.split(","):
            for mount in (cgroup_root / controllers, cgroup_root / "cpu,cpuacct", cgroup_root / "cpu"):
                if mount.is_dir():
                    limits += _quotas(mount, path, _v1_quota)
                    break
    return min(limits, default=None)


def _quotas(mount: Path, path: str, read: Callable[[Path], float | None]) -> list[float]:
    """The quota of each cgroup from `path` up to the mount's root (a container sees its own as /)."""
    found = []
    parts = [p for p in path.strip("/").split("/") if p and p != ".."]
    for depth in range(len(parts), -1, -1):
        folder = mount.joinpath(*parts[:depth])
        quota = read(folder)
        if quota is not None:
            found.append(quota)
    return found


def _v2_quota(folder: Path) -> float | None:
    try:
        quota, _, period = (folder / "cpu.max").read_text().strip().partition(" ")
        return None if quota == "max" else int(quota) / int(period or 100000)
    except (OSError, ValueError, ZeroDivisionError):
        return None


def _v1_quota(folder: Path) -> float | None:
    try:
        quota = int((folder / "cpu.cfs_quota_us").read_text())
        period = int((folder / "cpu.cfs_period_us").read_text())
        return quota / period if quota > 0 and period > 0 else None
    except (OSError, ValueError):
        return None


def usable_cpus() -> int:
    """The CPUs this process may run on (affinity), capped by a cgroup quota rounded up; at least 1."""
    try:
        count = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not Linux
        count = os.cpu_count() or 1
    quota = cgroup_cpu_limit()
    if quota is not None:
        count = min(count, math.ceil(quota))
    return max(1, count)


def thread_count(asked: int | None = None) -> int:
    """The threads an engine computes with: `asked` (--threads) when given, else `usable_cpus()`."""
    return asked if asked is not None else usable_cpus()


def described(threads: int) -> str:
    """What a model's details say of its threads: the count and how they wait ('2, GOMP_SPINCOUNT=300
    (bench)'). Called as an engine loads: the one line of `_note_once` when bench came too late."""
    wait = prepare()
    _note_once(wait)
    return f"{threads}, {wait.setting} ({wait.source})"
