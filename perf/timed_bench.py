"""Run bench (`benchmark.run`, what `bench run` does) with timers around the model load and the
evaluation, attached through bench's public hooks (perf/_lib/timing.py: the runner's progress protocol
and the provider interface).

Usage (bench's virtual environment, from the repository root):

    python -m perf.timed_bench TIMINGS.json OPTIONS.json

OPTIONS.json holds `benchmark.run`'s keyword arguments (bench run's options: {"provider": "local",
"tasks": ["hindsight_neglect"], "limit": 20, "out": "..."}). It writes to TIMINGS.json:

- `load_s`: loading each model (the provider's construction: llama.cpp loads the GGUF and bench hashes
  the file for the manifest; with `--provider hf` transformers loads the converted copy);
- `convert_s` (`--provider hf`): making or finding the GGUF's converted copy for transformers, done
  before the run (`providers.hf_models.fetch`), so that `load_s` is the load of a copy already there;
- `eval_s`: the runner's pass over all items of each model (from the start to the end of the model as
  the progress protocol tells them: requests, scoring, cache and `samples.jsonl` writes);
- `generate_s` / `score_s`: the time inside the provider's generation and log-prob scoring calls;
- `wall_s`: the whole run in this process (imports excluded, report writing included), `import_s`;
- `peak_rss_mb`: the process's peak resident memory (the model's mapped weights included).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any


def converted_copy(options: dict[str, Any]) -> float:
    """Seconds to make or find the converted copy of each hf model of the run (0.0 for other providers)."""
    if options.get("provider") != "hf":
        return 0.0
    from benchmark.cache import default_cache_dir
    from providers.hf_models import fetch, parse

    start = time.perf_counter()
    for model in options.get("models") or [None]:
        fetch(parse(model), default_cache_dir())
    return time.perf_counter() - start


def main() -> None:
    if len(sys.argv) == 2 and sys.argv[1] in ("-h", "--help"):
        print(__doc__)
        return
    if len(sys.argv) != 3:
        raise SystemExit(f"usage: python -m perf.timed_bench TIMINGS.json OPTIONS.json\n{__doc__}")
    out = Path(sys.argv[1])
    options: dict[str, Any] = json.loads(Path(sys.argv[2]).read_text(encoding="utf-8"))
    import_start = time.perf_counter()
    import benchmark
    from benchmark.errors import BenchError
    from perf._lib.machine import peak_rss_mb
    from perf._lib.timing import Timers

    timings: dict[str, Any] = {"import_s": time.perf_counter() - import_start}
    timings["convert_s"] = converted_copy(options)
    timers = Timers()
    start = time.perf_counter()
    try:
        benchmark.run(progress=timers.progress(), factory=timers.factory(), **options)
    except BenchError as exc:
        raise SystemExit(f"bench: error: {exc}") from None
    timings["wall_s"] = time.perf_counter() - start
    timings.update(timers.as_json())
    peak = peak_rss_mb()
    if peak is not None:  # the report leaves out what was not measured
        timings["peak_rss_mb"] = peak
    out.write_text(json.dumps(timings, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
