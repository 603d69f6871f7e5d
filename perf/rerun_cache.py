"""Benchmark: a rerun of a finished 1,000-item run makes zero model calls. Prints the times.

The model is the scripted calculator with a simulated latency of 50 ms per call (BENCH_SCRIPTED_DELAY),
so the first run behaves like a slow API at --concurrency 16, and every call is counted in the
scripted provider's call log (BENCH_SCRIPTED_CALL_LOG), outside bench's own counters. Three runs, one
fresh response cache:
  1. the run itself (1,000 items: 500 arithmetic + 500 hindsight-neglect, plain prompting);
  2. the same command into a new run directory (answers from the cache);
  3. `bench run --resume` of the finished run directory (nothing left to do).

    python -m perf.rerun_cache [--items 1000] [--latency 0.05]
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


def bench(args: list[str], env: dict[str, str]) -> tuple[float, str]:
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "benchmark", *args],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
    )
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"bench {' '.join(args)} failed ({proc.returncode}):\n{proc.stderr[-2000:]}")
    return elapsed, proc.stderr


def calls(log: Path) -> int:
    return len(log.read_text().splitlines()) if log.exists() else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=1000, help="items in all (half per task)")
    parser.add_argument("--latency", type=float, default=0.05, help="seconds per simulated model call")
    options = parser.parse_args()
    half = options.items // 2
    with tempfile.TemporaryDirectory(prefix="bench-rerun-") as tmp:
        work = Path(tmp)
        log = work / "calls.log"
        env = {
            "BENCH_CACHE_DIR": str(work / "cache"),
            "BENCH_SCRIPTED_CALL_LOG": str(log),
            "BENCH_SCRIPTED_DELAY": str(options.latency),
        }
        common = ["run", "--provider", "scripted", "--model", "calculator@1B", "--prompting", "plain"]
        common += ["--task", "arithmetic", "--task", "hindsight_neglect", "--limit", str(half)]
        common += ["--concurrency", "16"]
        first, _ = bench([*common, "--out", str(work / "first")], env)
        after_first = calls(log)
        second, err = bench([*common, "--out", str(work / "second")], env)
        after_second = calls(log)
        resume, _ = bench(["run", "--resume", str(work / "first")], env)
        after_resume = calls(log)
        samples = len((work / "second" / "samples.jsonl").read_text().splitlines())
    print(f"items: {samples} ({half} arithmetic + {half} hindsight_neglect, plain)")
    print(f"simulated model latency: {options.latency * 1000:.0f} ms per call, --concurrency 16")
    print(f"first run:             {first:7.2f} s, {after_first} model calls")
    print(f"rerun, new folder:     {second:7.2f} s, {after_second - after_first} model calls")
    print(f"--resume finished run: {resume:7.2f} s, {after_resume - after_second} model calls")
    print(f"rerun / first run time: {second / first:.2f}")
    status = "OK" if after_second == after_first and after_resume == after_second else "FAILED"
    print(f"zero model calls on rerun and resume: {status}")
    if status != "OK":
        sys.exit(1)


if __name__ == "__main__":
    main()
