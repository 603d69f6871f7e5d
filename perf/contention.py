"""Each in-process engine's speed on a quiet machine and beside other work, with today's thread settings
and with bench's (benchmark/engine_threads.py), side by side from one run.

    .venv/bin/python -m perf.contention                       # both engines, all loads, 3 rounds
    .venv/bin/python -m perf.contention --engines local --rounds 5
    .venv/bin/python -m perf.contention --spin 100,1000,3000  # also these libgomp spin counts
    .venv/bin/python -m perf.contention --spin passive --loads quiet   # and OMP_WAIT_POLICY=PASSIVE

Engines, each driven through bench's provider interface on the packaged Gemma-3-270M: `local`
(llama.cpp, Q4_K_M), `f32` (llama.cpp, `--weights f32`), `hf` (transformers, float32 on the CPU; the
copy converted from the GGUF, made first if missing: a few minutes). Each measurement is a fresh process
that loads the model, warms up, then times prompt processing (log-prob scoring of 300-token prompts that
share nothing, so nothing is cached: prompt tokens/s) and greedy generation (48 tokens after a short
prompt: generated tokens/s), `--seconds` each.

Settings: `before` is what bench did until now: the engine's threads spin at a barrier for libgomp's
default 300,000 pauses (GOMP_SPINCOUNT=300000, what libgomp does when nothing is set) and compute with
os.cpu_count() threads; `after` is bench's choice now (nothing set by this script). `--spin` adds
settings that differ from `after` only in the spin count (`passive`: OMP_WAIT_POLICY=PASSIVE, no spin).

Loads, started and stopped by this script (bounded by `--seconds` and ended with it, even if it is
killed: each checks that its parent is alive): `quiet`, nothing; `busy`, one busy-loop process per CPU
the engine may use; `neighbour`, a second process of the same engine and setting doing the same work.
Settings alternate within each round; the medians of `--rounds` rounds are printed, with the CPU and the
load average before the run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
from typing import Any

from perf._lib import ROOT, script
from perf._lib.machine import cpu

ENGINES = ("local", "f32", "hf")
LOADS = ("quiet", "busy", "neighbour")
BEFORE_SPIN = "300000"
"""libgomp's spin count when neither OMP_WAIT_POLICY nor GOMP_SPINCOUNT is set."""
BUSY_LOOP = (
    "import os, sys, time\n"
    "parent, end = os.getppid(), time.monotonic() + float(sys.argv[1])\n"
    "while time.monotonic() < end and os.getppid() == parent:\n"
    "    pass\n"
)


# -- the measured process -------------------------------------------------------------------------------
def _provider(engine: str, threads: int | None) -> Any:
    from providers.base import ProviderOptions

    options = {"threads": threads} if threads else {}
    if engine == "hf":
        from providers.hf import HFProvider

        return HFProvider.from_spec(None, ProviderOptions(**options))
    from providers.local import LocalProvider

    weights = {"weights": "f32"} if engine == "f32" else {}
    return LocalProvider.from_spec(None, ProviderOptions(**options, **weights))


def _workload(batch: int) -> tuple[list[Any], list[Any]]:
    """Score requests of ~300 prompt tokens that differ from their first word (nothing shared, nothing
    cached) and generation requests with short prompts, `batch` of each per call."""
    import tasks
    from providers.base import GenerateRequest, ScoreRequest

    text = " ".join(i.prompt for i in tasks.create("hindsight_neglect").instances(0, 3, "plain"))
    words = text.split()[:220]
    score = [ScoreRequest(f"Item {n}: " + " ".join(words), (" Y", " N")) for n in range(batch)]
    story = "The old lighthouse keeper woke before dawn, and the sea"
    generate = [GenerateRequest(f"Story {n}. {story}", 48) for n in range(batch)]
    return score, generate


def _timed(call: Any, count: Any, seconds: float) -> float:
    """Tokens per second of `call()` repeated for at least `seconds` (`count(result)`: its tokens)."""
    tokens, start = 0, time.perf_counter()
    while True:
        tokens += count(call())
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            return tokens / elapsed


def child(engine: str, threads: int | None, seconds: float, loop_until: float | None) -> None:
    """One measurement (prints one JSON line), or with `loop_until` the neighbour's endless same work."""
    import threading

    parent = os.getppid()

    def orphaned() -> None:
        while os.getppid() == parent:
            time.sleep(0.2)
        os._exit(0)

    threading.Thread(target=orphaned, daemon=True).start()
    provider = _provider(engine, threads)
    score, generate = _workload(provider.batch_size)

    def scored() -> Any:
        return asyncio.run(provider.score_many(score))

    def generated() -> Any:
        return asyncio.run(provider.generate_many(generate))

    def prompt_tokens(results: Any) -> int:
        return sum(r.prompt_tokens for r in results)

    def completion_tokens(results: Any) -> int:
        return sum(r.completion_tokens for r in results)

    scored(), generated()  # warm-up
    if loop_until is not None:
        while time.monotonic() < loop_until:
            scored(), generated()
        return
    prompt = _timed(scored, prompt_tokens, seconds)
    gen = _timed(generated, completion_tokens, seconds)
    print(json.dumps({"prompt": prompt, "generated": gen, "details": provider.info.details.get("threads")}))


# -- the driver ------------------------------------------------------------------------------------------
def settings(spins: list[str]) -> dict[str, tuple[dict[str, str], int | None]]:
    """Each setting: the environment it adds, and --threads (None: bench's own count)."""
    found: dict[str, tuple[dict[str, str], int | None]] = {
        "before": ({"GOMP_SPINCOUNT": BEFORE_SPIN}, os.cpu_count() or 1),
        "after": ({}, None),
    }
    for spin in spins:
        if spin == "passive":
            found["passive"] = ({"OMP_WAIT_POLICY": "PASSIVE"}, None)
        elif spin.isdigit():
            found[f"spin {spin}"] = ({"GOMP_SPINCOUNT": spin}, None)
        else:
            raise ValueError(f"--spin {spin!r}: a spin count (digits) or passive")
    return found


def _environment(added: dict[str, str]) -> dict[str, str]:
    """This environment without any wait setting (so that a child's own `import benchmark` decides),
    plus `added`."""
    from benchmark.engine_threads import MARK, WAIT_VARIABLES

    return {k: v for k, v in os.environ.items() if k not in (*WAIT_VARIABLES, MARK)} | added


def _command(engine: str, threads: int | None, seconds: float, loop_until: float | None = None) -> list[str]:
    command = script("contention", "--child", engine, "--seconds", str(seconds))
    command += ["--threads", str(threads)] if threads else []
    return command + (["--loop-until", str(loop_until)] if loop_until is not None else [])


def _start_load(load: str, engine: str, setting: tuple[dict[str, str], int | None], span: float) -> list[Any]:
    """The processes of `load`, alive for at most `span` seconds (and no longer than this script)."""
    from benchmark.engine_threads import usable_cpus

    if load == "busy":
        return [subprocess.Popen([sys.executable, "-c", BUSY_LOOP, str(span)]) for _ in range(usable_cpus())]
    if load == "neighbour":
        env, threads = setting
        command = _command(engine, threads, 0, time.monotonic() + span)
        neighbour = subprocess.Popen(command, cwd=ROOT, env=_environment(env), stdout=subprocess.DEVNULL)
        time.sleep(12 if engine == "hf" else 5)  # its model loaded and working before the clock starts
        return [neighbour]
    return []


def measure(engine: str, load: str, setting: tuple[dict[str, str], int | None], seconds: float) -> dict:
    span = 4 * seconds + 120  # a load outlives no measurement by much
    background = _start_load(load, engine, setting, span)
    try:
        env, threads = setting
        command = _command(engine, threads, seconds)
        done = subprocess.run(command, cwd=ROOT, env=_environment(env), capture_output=True, text=True)
        if done.returncode != 0:
            raise SystemExit(f"{engine} measurement failed:\n{done.stderr[-2000:]}")
        result: dict = json.loads(done.stdout.strip().splitlines()[-1])
        return result
    finally:
        for process in background:
            process.kill()
            process.wait()


def report(engine: str, runs: dict[tuple[str, str], list[dict]], names: list[str], loads: list[str]) -> None:
    def median(setting: str, load: str, key: str) -> float:
        return statistics.median(r[key] for r in runs[(setting, load)])

    print(f"\n{engine}: tokens/s, medians (slowdown against the same setting on a quiet machine)")
    print("| setting | load | prompt tokens/s | generated tokens/s |")
    print("|---|---|---|---|")
    for name in names:
        for load in loads:
            cells = []
            for key in ("prompt", "generated"):
                value = median(name, load, key)
                quiet = median(name, "quiet", key) if "quiet" in loads else None
                note = f" ({quiet / value:.2f}×)" if quiet and value and load != "quiet" else ""
                cells.append(f"{value:.1f}{note}")
            print(f"| {name} | {load} | {cells[0]} | {cells[1]} |")
    if "quiet" in loads and {"before", "after"} <= set(names):
        for key in ("prompt", "generated"):
            ratio = median("after", "quiet", key) / median("before", "quiet", key)
            print(f"quiet, after ÷ before, {key}: {ratio:.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--engines", default="local,hf", help=f"comma-separated, of {', '.join(ENGINES)}")
    parser.add_argument("--loads", default=",".join(LOADS), help=f"comma-separated, of {', '.join(LOADS)}")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=6.0, help="per timed phase (default 6)")
    parser.add_argument(
        "--spin", default="", help="extra GOMP_SPINCOUNT values (or passive) to compare, e.g. 100,3000"
    )
    parser.add_argument("--child", choices=ENGINES, help=argparse.SUPPRESS)
    parser.add_argument("--threads", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--loop-until", type=float, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.threads, args.seconds, args.loop_until)
        return
    engines = [e for e in args.engines.split(",") if e]
    loads = [load for load in args.loads.split(",") if load]
    if unknown := sorted(set(engines) - set(ENGINES)) + sorted(set(loads) - set(LOADS)):
        parser.error(f"unknown: {', '.join(unknown)}")
    if args.rounds < 1 or args.seconds <= 0:
        parser.error("--rounds and --seconds must be positive")
    try:
        chosen = settings([s for s in args.spin.split(",") if s])
    except ValueError as error:
        parser.error(str(error))
    print(f"CPU: {cpu()}; load average before the run: {os.getloadavg()[0]:.2f}")
    for engine in engines:
        runs: dict[tuple[str, str], list[dict]] = {}
        for round_ in range(args.rounds):
            for load in loads:
                order = list(chosen) if round_ % 2 == 0 else list(chosen)[::-1]
                for name in order:
                    result = measure(engine, load, chosen[name], args.seconds)
                    runs.setdefault((name, load), []).append(result)
                    print(
                        f"  {engine} {load:9} {name:9} prompt {result['prompt']:7.1f} "
                        f"generated {result['generated']:6.1f}  [{result['details']}] "
                        f"load {os.getloadavg()[0]:.2f}",
                        flush=True,
                    )
        report(engine, runs, list(chosen), loads)


if __name__ == "__main__":
    main()
