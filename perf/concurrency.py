"""Benchmark: requests per second `bench run --concurrency 32` sustains against a 50 ms loopback server.

Starts perf/loopback_server.py (asyncio, keep-alive, fixed latency) in its own process, runs `bench run
--provider openai` against it on N arithmetic items (4-digit, so no two prompts repeat), and prints the
throughput the server saw between its first and last request, against the ideal concurrency ÷ latency
(640 requests/s for 32 and 50 ms). Runs with the response cache on (the default) and with --no-cache.

    python -m perf.concurrency [--items 4000] [--concurrency 32] [--latency 0.05]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from perf._lib import ROOT, script


def measure(items: int, concurrency: int, latency: float, cache: bool, work: Path) -> dict[str, float]:
    server = subprocess.Popen(
        script("loopback_server", "--latency", str(latency)), cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    assert server.stdout is not None
    port = int(server.stdout.readline())
    out = work / f"run-{'cache' if cache else 'nocache'}"
    args = ["run", "--provider", "openai", "--base-url", f"http://127.0.0.1:{port}/v1", "--model", "loopback"]
    args += ["--api", "completions", "--task", "arithmetic:digits=4", "--prompting", "plain"]
    args += ["--limit", str(items), "--concurrency", str(concurrency), "--out", str(out)]
    args += [] if cache else ["--no-cache"]
    env = {**os.environ, "OPENAI_API_KEY": "", "BENCH_CACHE_DIR": str(work / "cache")}
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "benchmark", *args], cwd=ROOT, env=env, capture_output=True)
    wall = time.perf_counter() - start
    server.terminate()
    stats = json.loads(server.communicate(timeout=30)[0].strip().splitlines()[-1])
    if proc.returncode != 0:
        sys.exit(proc.stderr.decode()[-2000:])
    return {
        "requests": stats["requests"],
        "span_s": stats["span_s"],
        "rate": stats["requests"] / stats["span_s"],
        "peak_in_flight": stats["peak_in_flight"],
        "wall_s": wall,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=4000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--latency", type=float, default=0.05)
    options = parser.parse_args()
    ideal = options.concurrency / options.latency
    print(
        f"loopback server, {options.latency * 1000:.0f} ms per request; "
        f"bench --concurrency {options.concurrency}"
    )
    print(f"ideal: {ideal:.0f} requests/s; {options.items} items, one request each")
    with tempfile.TemporaryDirectory(prefix="bench-concurrency-") as tmp:
        for cache in (True, False):
            r = measure(options.items, options.concurrency, options.latency, cache, Path(tmp))
            label = "response cache on " if cache else "--no-cache        "
            print(
                f"{label}: {r['rate']:6.0f} requests/s = {r['rate'] / ideal:5.1%} of ideal "
                f"({r['requests']} requests in {r['span_s']:.2f} s; peak in flight {r['peak_in_flight']}; "
                f"bench wall {r['wall_s']:.1f} s incl. start-up and reports)"
            )


if __name__ == "__main__":
    main()
