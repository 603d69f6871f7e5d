"""Run the `bench` command line with timers around the model load and the evaluation.

Usage (bench's virtual environment): python perf/timed_bench.py TIMINGS.json BENCH-ARGUMENTS...

It is `bench BENCH-ARGUMENTS...` (the same `benchmark.cli.main`), with these measured and written to
TIMINGS.json:

- `load_s`: constructing the local provider (llama.cpp loads the GGUF; bench hashes the file for the
  manifest), or with `--provider hf` the transformers engine (its weights already fetched or converted:
  that is `convert_s`, the GGUF's one-time conversion for transformers, 0 when the copy was found);
- `eval_s`: the runner's evaluation of all items of the model (`Runner._run_model`: requests, scoring,
  cache and `samples.jsonl` writes), i.e. everything between the loaded model and the last sample;
- `generate_s` / `score_s`: the time inside the engine's generation and log-prob scoring calls;
- `wall_s`: the whole command in this process (imports excluded, report writing included);
- `peak_rss_mb`: the process's peak resident memory (the model's mapped weights included).

A timer that cannot be attached (bench's internals changed) is reported as missing, never guessed.
"""

from __future__ import annotations

import functools
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any


def _timed_sync(owner: Any, name: str, timings: dict[str, Any], key: str) -> None:
    original: Callable[..., Any] | None = getattr(owner, name, None)
    if original is None:
        timings["missing"].append(f"{owner.__name__}.{name}")
        return

    @functools.wraps(original)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            timings[f"{key}_s"] += time.perf_counter() - start
            timings[f"{key}_calls"] += 1

    setattr(owner, name, wrapper)


def _timed_async(owner: type, name: str, timings: dict[str, Any], key: str) -> None:
    original: Callable[..., Any] | None = getattr(owner, name, None)
    if original is None:
        timings["missing"].append(f"{owner.__name__}.{name}")
        return

    @functools.wraps(original)
    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return await original(*args, **kwargs)
        finally:
            timings[f"{key}_s"] += time.perf_counter() - start
            timings[f"{key}_calls"] += 1

    setattr(owner, name, wrapper)


def _peak_rss_mb() -> float | None:
    """This process's peak resident memory since its exec: /proc's VmHWM; None where there is no /proc.
    (Not getrusage: its ru_maxrss also counts the parent's memory, which the forked child shared before
    exec: here, the comparison script with two models loaded.)"""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024  # kB
    except OSError:
        pass
    return None


def main() -> None:
    out = Path(sys.argv[1])
    argv = sys.argv[2:]
    import_start = time.perf_counter()
    from benchmark.cli import main as bench_main
    from benchmark.runner import Runner

    timings: dict[str, Any] = {"missing": []}
    for key in ("load", "eval", "generate", "score", "convert"):
        timings[f"{key}_s"] = 0.0
        timings[f"{key}_calls"] = 0
    if "--provider" in argv and argv[argv.index("--provider") + 1] == "hf":
        import providers.hf as hf
        import providers.hf_models as hf_models

        _timed_sync(hf.HFProvider, "__init__", timings, "load")
        _timed_sync(hf.HFProvider, "_generate", timings, "generate")
        _timed_sync(hf.HFProvider, "_score", timings, "score")
        _timed_sync(hf_models, "converted", timings, "convert")  # a module's function, as it calls it
    else:
        import providers.local as local

        _timed_sync(local.LocalProvider, "__init__", timings, "load")
        _timed_sync(local.LocalProvider, "_generate", timings, "generate")
        _timed_sync(local.LocalProvider, "_score_many", timings, "score")
    _timed_async(Runner, "_run_model", timings, "eval")
    timings["import_s"] = time.perf_counter() - import_start

    start = time.perf_counter()
    code: int | str | None = 0
    try:
        bench_main(argv)
    except SystemExit as exc:
        code = exc.code
    timings["wall_s"] = time.perf_counter() - start
    timings["exit_code"] = code
    peak = _peak_rss_mb()
    if peak is not None:  # the report leaves out what was not measured
        timings["peak_rss_mb"] = peak
    out.write_text(json.dumps(timings, indent=2) + "\n", encoding="utf-8")
    sys.exit(code)


if __name__ == "__main__":
    main()
