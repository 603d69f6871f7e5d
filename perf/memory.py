"""Benchmark: peak memory of a scripted run at 1,000 and at 100,000 items (it should stay flat).

Runs `bench run --provider scripted --task arithmetic:digits=5 --prompting plain --limit N` with a fresh
response cache for each N and prints wall time, peak RSS (the bench process, from getrusage of the
child) and the growth per 1,000 items. Samples stream to disk, items are generated one at a time, and
the report keeps per item only what its statistics need (an item id, a flag and a probability), so
what grows is a few hundred bytes per item.

    python -m perf.memory [--sizes 1000 100000]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from perf._lib import ROOT

MEASURE = """
import resource, subprocess, sys
proc = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
if proc.returncode:
    sys.exit(proc.stderr[-2000:])
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
"""


def peak_rss(items: int, work: Path) -> tuple[float, float]:
    """(seconds, peak RSS in MB) of one run in a fresh interpreter."""
    args = ["run", "--provider", "scripted", "--task", "arithmetic:digits=5", "--prompting", "plain"]
    args += ["--limit", str(items), "--out", str(work / f"run-{items}")]
    env = {**os.environ, "BENCH_CACHE_DIR": str(work / f"cache-{items}")}
    start = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-c", MEASURE, sys.executable, "-m", "benchmark", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return time.perf_counter() - start, int(out.stdout.split()[-1]) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 100_000])
    options = parser.parse_args()
    results = []
    with tempfile.TemporaryDirectory(prefix="bench-memory-") as tmp:
        for items in options.sizes:
            seconds, mb = peak_rss(items, Path(tmp))
            results.append((items, seconds, mb))
            print(f"{items:>7} items: {seconds:6.1f} s, peak RSS {mb:6.1f} MB", flush=True)
    (small, _, low), (large, _, high) = results[0], results[-1]
    per_item = (high - low) / (large - small) * 1e6
    print(f"growth: {high - low:.1f} MB for {large - small} more items ({per_item:.0f} bytes per item)")
    print(f"peak RSS ratio {large} / {small} items: {high / low:.2f}")


if __name__ == "__main__":
    main()
