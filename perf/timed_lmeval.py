"""Run the `lm_eval` command line with timers around the model load and the model requests.

Usage (perf/.venv-lmeval's Python, not bench's): python -m perf.timed_lmeval TIMINGS.json LM-EVAL-ARGUMENTS...

It is `lm_eval LM-EVAL-ARGUMENTS...` (the same `lm_eval.__main__.cli_evaluate`), with these measured
and written to TIMINGS.json:

- `load_s`: constructing the `hf` model (`HFLM.__init__`: transformers reads the GGUF, dequantizes it
  to float32 and builds the tokenizer from it);
- `loglikelihood_s` / `generate_until_s`: the time inside HFLM's request methods (tokenizing, batching,
  the forward passes), i.e. the evaluation proper, without task building and metric aggregation;
- `wall_s`: the whole command in this process (imports excluded).
"""

from __future__ import annotations

import functools
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any


def _timed(original: Callable[..., Any], timings: dict[str, Any], key: str) -> Callable[..., Any]:
    """`original`, adding its time to `timings[KEY_s]` and its calls to `timings[KEY_calls]`."""
    timings[f"{key}_s"] = 0.0
    timings[f"{key}_calls"] = 0

    @functools.wraps(original)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            timings[f"{key}_s"] += time.perf_counter() - start
            timings[f"{key}_calls"] += 1

    return wrapper


def main() -> None:
    out = Path(sys.argv[1])
    import_start = time.perf_counter()
    from lm_eval.__main__ import cli_evaluate
    from lm_eval.models.huggingface import HFLM

    timings: dict[str, Any] = {"import_s": time.perf_counter() - import_start}
    # lm-evaluation-harness has no hooks for this: its model's public methods are wrapped.
    HFLM.__init__ = _timed(HFLM.__init__, timings, "load")  # type: ignore[method-assign]
    HFLM.loglikelihood = _timed(HFLM.loglikelihood, timings, "loglikelihood")  # type: ignore[method-assign]
    HFLM.generate_until = _timed(HFLM.generate_until, timings, "generate_until")  # type: ignore[method-assign]

    sys.argv = ["lm_eval", *sys.argv[2:]]
    start = time.perf_counter()
    code: int | str | None = 0
    try:
        cli_evaluate()
    except SystemExit as exc:
        code = exc.code
    timings["wall_s"] = time.perf_counter() - start
    timings["exit_code"] = code
    out.write_text(json.dumps(timings, indent=2) + "\n", encoding="utf-8")
    sys.exit(code)


if __name__ == "__main__":
    main()
