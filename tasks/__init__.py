"""The task registry. `--task NAME` or `--task NAME:key=value,...` selects a task and its variant."""

from __future__ import annotations

import inspect

from benchmark.errors import UsageError
from tasks.arithmetic import Arithmetic
from tasks.base import Task
from tasks.hindsight_neglect import HindsightNeglect
from tasks.word_problems import WordProblems

TASKS: dict[str, type[Task]] = {t.name: t for t in (Arithmetic, WordProblems, HindsightNeglect)}
DEFAULT_SUITE = ["arithmetic", "word_problems", "hindsight_neglect"]

__all__ = ["DEFAULT_SUITE", "TASKS", "Task", "create"]


def create(spec: str) -> Task:
    """Build a task from `NAME` or `NAME:key=value,key=value`."""
    name, _, arg_text = spec.partition(":")
    if name not in TASKS:
        raise UsageError(f"unknown task {name!r}; choose one of: {', '.join(sorted(TASKS))}")
    cls = TASKS[name]
    signature = inspect.signature(cls.__init__)
    kwargs: dict[str, object] = {}
    for pair in filter(None, arg_text.split(",")):
        key, sep, value = pair.partition("=")
        parameter = signature.parameters.get(key.strip())
        if not sep or parameter is None or key.strip() == "self":
            known = ", ".join(p for p in signature.parameters if p != "self")
            raise UsageError(f"task {name!r}: cannot read {pair!r}; parameters are: {known}")
        kind = type(parameter.default)
        try:
            kwargs[key.strip()] = kind(value.strip())
        except ValueError:
            raise UsageError(f"task {name!r}: {key.strip()} must be {kind.__name__}, not {value!r}") from None
    return cls(**kwargs)  # type: ignore[arg-type]
