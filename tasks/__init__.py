"""The task registry. `--task NAME` or `--task NAME:key=value,...` selects a task and its variant."""

from __future__ import annotations

import inspect
from pathlib import Path

from benchmark.errors import UsageError
from tasks.arithmetic import Arithmetic
from tasks.arithmetic.modified import ModifiedArithmetic
from tasks.base import Task
from tasks.hindsight_neglect import HindsightNeglect
from tasks.word_problems import WordProblems

TASKS: dict[str, type[Task]] = {
    t.name: t for t in (Arithmetic, ModifiedArithmetic, WordProblems, HindsightNeglect)
}
DEFAULT_SUITE = ["arithmetic", "word_problems", "hindsight_neglect"]

__all__ = ["DEFAULT_SUITE", "TASKS", "Task", "create", "load_file", "shipped_trap_files", "variants"]


TRAPS = Path(__file__).parent / "traps"
_FILE_SUFFIXES = (".yaml", ".yml", ".jsonl", ".csv", ".json")


def shipped_trap_files() -> list[Path]:
    """Trap files that come with bench, relative to the working directory when possible."""
    files = sorted(p for p in TRAPS.glob("*") if p.suffix in _FILE_SUFFIXES)
    return [_relative(p) for p in files]


def _relative(path: Path) -> Path:
    try:
        return path.relative_to(Path.cwd())
    except ValueError:
        return path


def load_file(path: Path) -> Task:
    from tasks.files import load_task_file

    return load_task_file(path)


def variants(cls: type[Task]) -> str:
    """The constructor parameters of a task with their defaults, e.g. "digits=2 op=+ shots=4"."""
    parameters = inspect.signature(cls.__init__).parameters.values()
    return " ".join(f"{p.name}={p.default}" for p in parameters if p.name != "self")


def create(spec: str) -> Task:
    """Build a task from `NAME`, `NAME:key=value,key=value`, or the path of a task file."""
    if spec.endswith(_FILE_SUFFIXES) or "/" in spec or Path(spec).is_file():
        return load_file(Path(spec))
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
        if key.strip() in kwargs:
            raise UsageError(f"task {name!r}: {key.strip()} is given twice ({spec!r})")
        kind = type(parameter.default)
        try:
            kwargs[key.strip()] = _parse(kind, value.strip())
        except ValueError:
            raise UsageError(f"task {name!r}: {key.strip()} must be {kind.__name__}, not {value!r}") from None
    return cls(**kwargs)  # type: ignore[arg-type]


def _parse(kind: type, text: str) -> object:
    if kind is bool:
        if text.lower() in ("true", "yes", "1"):
            return True
        if text.lower() in ("false", "no", "0"):
            return False
        raise ValueError(text)
    return kind(text)
