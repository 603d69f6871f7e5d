"""The task registry: bench's own tasks registered here in code (`SHIPPED` by import path, and the
published datasets of tasks/published/catalog.yaml), other packages' as entry points of the group
`bench.tasks` in their own pyproject.toml; each imported at its first use. `--task NAME`
or `--task NAME:key=value,...` selects a task and its variant; `--task FILE` reads a task file."""

from __future__ import annotations

import inspect
import re
from collections.abc import Mapping
from pathlib import Path

from benchmark.errors import UsageError
from benchmark.registry import Registry
from tasks.base import Task

GROUP = "bench.tasks"
SHIPPED = {
    "arithmetic": "tasks.arithmetic:Arithmetic",
    "hindsight_neglect": "tasks.hindsight_neglect:HindsightNeglect",
    "modified_arithmetic": "tasks.arithmetic.modified:ModifiedArithmetic",
    "word_problems": "tasks.word_problems:WordProblems",
}
"""bench's own generated tasks by name: `module:Class`, imported at first use (a source checkout finds
them without reinstalling)."""


def _in_code() -> Mapping[str, type[Task]]:
    """The tasks registered in code: the published datasets of tasks/published/catalog.yaml."""
    from tasks.published import PublishedTasks

    return PublishedTasks()


TASKS: Registry[Task] = Registry(GROUP, "task", Task, builtin=_in_code, shipped=SHIPPED)
"""The registered tasks by name, in name order; a class is imported at its first lookup (the published
tasks' catalog is read when the registry is first listed or looked up)."""
DEFAULT_SUITE = ["arithmetic", "word_problems", "hindsight_neglect"]

__all__ = [
    "DEFAULT_SUITE",
    "GROUP",
    "SHIPPED",
    "TASKS",
    "Task",
    "create",
    "create_all",
    "load_file",
    "shipped_trap_files",
    "variants",
]


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
    return " ".join(f"{p.name}={_text(p.default)}" for p in parameters if p.name != "self")


def _text(value: object) -> str:
    """A default as `Task.params()` writes it (booleans in lower case, as they are typed)."""
    return str(value).lower() if isinstance(value, bool) else str(value)


def create(spec: str) -> Task:
    """Build a task from `NAME`, `NAME:key=value,key=value`, or the path of a task file."""
    tasks = create_all(spec)
    if len(tasks) > 1:
        raise UsageError(f"{spec!r} names {len(tasks)} variants; give one value here, not a range")
    return tasks[0]


def create_all(spec: str) -> list[Task]:
    """The tasks a `--task` names: one, or one per value of a sweep such as `arithmetic:digits=1-5`
    (parameters a task lists in `sweeps` take a range `A-B`). A task naming a scorer that nothing
    registers is a UsageError here, before a run starts."""
    tasks = _variants(spec)
    for task in tasks:
        task.answer_scorer()
    return tasks


def _variants(spec: str) -> list[Task]:
    if spec.endswith(_FILE_SUFFIXES) or "/" in spec or _is_file(spec):
        return [load_file(Path(spec))]
    name, _, arg_text = spec.partition(":")
    if name not in TASKS:
        raise TASKS.unknown(name)
    cls = TASKS[name]
    fixed: dict[str, str] = {}
    sweep: tuple[str, range] | None = None
    for pair in filter(None, arg_text.split(",")):
        key, sep, value = (part.strip() for part in pair.partition("="))
        if not sep:
            raise UsageError(_cannot_read(cls, pair))
        if key in fixed or (sweep is not None and key == sweep[0]):
            raise UsageError(f"task {name!r}: {key} is given twice ({spec!r})")
        values = _range(name, key, value) if key in cls.sweeps else None
        if values is None:
            fixed[key] = value
        elif sweep is not None:
            raise UsageError(f"task {name!r}: sweep one parameter at a time, not {sweep[0]} and {key}")
        else:
            sweep = (key, values)
    if sweep is None:
        return [_build(cls, fixed)]
    key, values = sweep
    for end in (values[0], values[-1]):  # the task's own checks of each end, before the range is expanded
        _build(cls, {**fixed, key: str(end)})
    if len(values) > MAX_SWEEP:
        raise UsageError(
            f"task {name!r}: {key}={values[0]}-{values[-1]} names {len(values)} variants; "
            f"a sweep has at most {MAX_SWEEP}"
        )
    return [_build(cls, {**fixed, key: str(value)}) for value in values]


MAX_SWEEP = 100
"""The most variants one `--task NAME:key=A-B` names: each is a row and a curve of the report."""


def _is_file(spec: str) -> bool:
    try:
        return Path(spec).is_file()
    except OSError:  # a name too long for a path, say: not a file
        return False


def _range(task: str, key: str, value: str) -> range | None:
    """`1-5` as range(1, 6), not expanded; None when `value` is not a range."""
    match = re.fullmatch(r"(\d+)-(\d+)", value)
    if match is None:
        return None
    if max(len(match[1]), len(match[2])) > 18:  # no variant count of ours has that many digits
        raise UsageError(f"task {task!r}: {key}={value[:40]}: a sweep has at most {MAX_SWEEP} values")
    low, high = int(match[1]), int(match[2])
    if low > high:
        raise UsageError(f"task {task!r}: {key}={value} is an empty range; write it low-high, e.g. 1-5")
    return range(low, high + 1)


def _build(cls: type[Task], given: dict[str, str]) -> Task:
    signature = inspect.signature(cls.__init__)
    kwargs: dict[str, object] = {}
    for key, value in given.items():
        parameter = signature.parameters.get(key)
        if parameter is None or key == "self":
            raise UsageError(_cannot_read(cls, f"{key}={value}"))
        kind = type(parameter.default)
        try:
            kwargs[key] = _parse(kind, value)
        except ValueError:
            shown = value if len(value) <= 40 else value[:40] + "…"
            raise UsageError(f"task {cls.name!r}: {key} must be {kind.__name__}, not {shown!r}") from None
    return cls(**kwargs)  # type: ignore[arg-type]


def _cannot_read(cls: type[Task], pair: str) -> str:
    known = ", ".join(p for p in inspect.signature(cls.__init__).parameters if p != "self")
    return f"task {cls.name!r}: cannot read {pair!r}; parameters are: {known}"


def _parse(kind: type, text: str) -> object:
    if kind is bool:
        if text.lower() in ("true", "yes", "1"):
            return True
        if text.lower() in ("false", "no", "0"):
            return False
        raise ValueError(text)
    return kind(text)
