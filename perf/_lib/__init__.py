"""What the perf/ scripts share: the machine a figure was measured on (`machine`), timers attached to a
bench run through its public hooks (`timing`: the runner's progress protocol and the provider
interface), raw llama.cpp beside bench (`llama_raw`), the zero-shot workload's wording (`workloads`),
the lm-evaluation-harness comparison's runs of both tools (`compare_tools`) and its printed text
(`compare_report`), and how a script starts bench (`bench`) or another script (`script`). A perf
script imports from here, never from another script."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
"""The repository root: the working directory of the processes the scripts start."""


def bench(*args: str) -> list[str]:
    """The `bench` command of this checkout (not whichever `bench` is first on PATH), run with `cwd=ROOT`."""
    return [sys.executable, "-m", "benchmark", *args]


def script(name: str, *args: str) -> list[str]:
    """The command that runs the perf script `name` (perf/NAME.py) in a fresh interpreter, as a module:
    started with `cwd=ROOT`, it imports perf._lib and bench from this checkout."""
    return [sys.executable, "-m", f"perf.{name}", *args]
