"""Names of what tells two result rows apart besides the model: the task's variant and the scoring mode.

A task variant is the task's parameters (`Task.params()`, recorded as `TaskInfo.params` and on every
sample): `arithmetic` with digits=2 and with digits=3 are two variants, two rows, two curves.
"""

from __future__ import annotations

from collections.abc import Mapping

from benchmark.schemas import ScoringMode

VariantKey = tuple[tuple[str, str], ...]
"""A task variant's parameters as a hashable, order-free key."""

SCORING_NAMES: dict[ScoringMode, str] = {"logprob": "log-prob", "generate": "generated answer"}
"""How a scoring mode is named in reports."""


def variant_key(params: Mapping[str, str]) -> VariantKey:
    return tuple(sorted(params.items()))


def variant_label(params: Mapping[str, str]) -> str:
    """The parameters as `digits=3, op=+, shots=4` (a task file's path is left out: the task's name
    already comes from the file)."""
    return ", ".join(f"{key}={value}" for key, value in params.items() if key != "file")


def task_label(name: str, params: Mapping[str, str]) -> str:
    """`hindsight_neglect (shots=10, lang=zh-TW)`: a task with its variant, as every report names it."""
    label = variant_label(params)
    return f"{name} ({label})" if label else name


def condition_label(prompting: str, scoring: ScoringMode) -> str:
    """`plain · log-prob`, `cot · generated answer`: a prompting condition with its scoring mode."""
    return f"{prompting} · {SCORING_NAMES[scoring]}"
