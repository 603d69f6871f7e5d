"""Tasks read from a file: bench trap files (YAML or JSONL) and imported Inverse Scaling Prize, BIG-bench
and GPT-3 files. See tasks/traps/README.md for the formats.

Files are fixed data: items come in file order whatever the seed, and the version is a hash of the
file's bytes unless the file names one. Every problem is a `UsageError` saying `PATH:LINE: reason`.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Iterable, Iterator
from pathlib import Path

from benchmark.errors import UsageError
from benchmark.prompting import COT, COT_ZEROSHOT, PLAIN, ZERO_SHOT_STOP, Exemplars, Question
from benchmark.schemas import AnswerType, Instance, TaskInfo
from tasks.base import Task
from tasks.formats import DEFAULT_MAX_TOKENS, Item, Parsed, fail
from tasks.readers import (
    read_bench_yaml,
    read_bigbench,
    read_jsonl,
    read_prize_csv,
)

__all__ = ["FileTask", "export_prize_jsonl", "load_task_file", "validate_task_file"]


def _task_name(text: str) -> str:
    return re.sub(r"[^a-z0-9_]", "_", text.lower())


class FileTask(Task):
    """A task whose items are the records of a file, in file order.

    Prompting conditions: `plain`; and for choice and number files chain of thought, which is `cot`
    when the file has worked examples that reason (gamble shots, whose reasoning is computed as the
    generator's, or its own `reasoning.shots`) and `cot_zeroshot` otherwise. The file's
    `reasoning.instruction` (default "Let's think step by step.") follows every prompt under
    `cot_zeroshot`, and under `cot` when the file gives one. The file supplies its items and
    examples; the shared steps of `benchmark.prompting` render them."""

    def __init__(self, path: Path, parsed: Parsed, data: bytes) -> None:
        self.path = path
        self.format = parsed.format
        self.items = parsed.items
        # A file's reasoning may take several lines: it ends at a blank line or a new question.
        self.examples = Exemplars(parsed.shots, parsed.instruction, tuple(ZERO_SHOT_STOP))
        self.common_start = _common_start(item.prompt for item in self.items)
        stem = path.parent.name if path.name == "task.json" else path.stem
        self.name = _task_name(parsed.name or stem)
        self.sha256 = hashlib.sha256(data).hexdigest()
        self.version = parsed.version or "sha256:" + self.sha256[:12]
        self.description = parsed.description or f"{parsed.format} task file {path.name}"
        self.answer_type: AnswerType = parsed.items[0].answer_type
        worked = any(shot.reasoning is not None for shot in parsed.shots)
        cot = COT if worked else COT_ZEROSHOT
        self.promptings = (PLAIN.name,) if self.answer_type == "text" else (PLAIN.name, cot.name)
        counts = [len(item.classes or ()) for item in self.items]
        if self.answer_type != "choice":
            self.chance = 0.0
        elif len(set(counts)) == 1:
            self.chance = 1 / counts[0]
        else:
            self.chance = sum(1 / n for n in counts) / len(counts)

    def params(self) -> dict[str, str]:
        return {"file": str(self.path)}

    def info(self, promptings: list[str]) -> TaskInfo:
        """With the file's sha256: a resume checks the bytes, not only the version the file declares."""
        return super().info(promptings).model_copy(update={"file_sha256": self.sha256})

    def item_count(self, seed: int) -> int:
        return len(self.items)

    def count(self, seed: int, limit: int | None, prompting: str) -> int:
        return len(self.items) if limit is None else min(max(limit, 0), len(self.items))

    def exemplars(self, seed: int) -> Exemplars:
        return self.examples

    def questions(self, seed: int, limit: int | None) -> Iterator[Question]:
        """The file's items in file order, whatever the seed."""
        items = self.items if limit is None else self.items[: max(limit, 0)]
        for item in items:
            yield Question(
                item.id,
                item.prompt,
                item.answer_type,
                item.target,
                item.max_tokens or DEFAULT_MAX_TOKENS[item.answer_type],
                tuple(item.classes) if item.classes is not None else None,
                item.answer_index,
                shared_start=self.common_start,
            )


def _common_start(prompts: Iterable[str]) -> int:
    """Length of the text every prompt starts with (a file's few-shot exemplars written into each
    item, as prize files do), cut back to the end of a line so that the boundary falls between tokens.
    Engines with a prefix cache then evaluate it once."""
    common: str | None = None
    count = 0
    for prompt in prompts:
        count += 1
        if common is None:
            common = prompt
            continue
        if not prompt.startswith(common):
            common = os.path.commonprefix([common, prompt])
        if not common:
            return 0
    if common is None or count < 2:
        return 0  # one item shares nothing
    return common.rfind("\n") + 1


def _check_items(path: Path, items: list[Item]) -> None:
    if not items:
        fail(path, 1, "no items")
    first_line: dict[str, int] = {}
    for item in items:
        if item.id in first_line:
            fail(path, item.line, f"duplicate id {item.id!r} (first used on line {first_line[item.id]})")
        first_line[item.id] = item.line
        if item.answer_type != items[0].answer_type:
            fail(
                path,
                item.line,
                f"item {item.id!r} has answer type {item.answer_type}, but the first item has "
                f"{items[0].answer_type}; a file holds one answer type",
            )


def load_task_file(path: Path | str) -> FileTask:
    """Read a task file (format by extension and content) into a task; UsageError on any problem."""
    path = Path(path)
    if path.is_dir() and (path / "task.json").is_file():
        path = path / "task.json"
    if not path.exists():
        raise UsageError(f"task file not found: {path}")
    if path.is_dir():
        raise UsageError(f"{path}: is a folder, not a task file (a BIG-bench folder needs a task.json)")
    suffix = path.suffix.lower()
    if suffix not in (".yaml", ".yml", ".jsonl", ".csv", ".json"):
        raise UsageError(
            f"{path}: unsupported task file type; use .yaml, .jsonl, .csv or BIG-bench task.json"
        )
    try:
        data = path.read_bytes()
    except OSError as error:
        raise UsageError(f"{path}: cannot read the file ({error.strerror})") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        fail(path, data.count(b"\n", 0, error.start) + 1, "not UTF-8 text")
    if suffix in (".yaml", ".yml"):
        parsed = read_bench_yaml(path, text)
    elif suffix == ".jsonl":
        parsed = read_jsonl(path, text)
    elif suffix == ".csv":
        parsed = read_prize_csv(path, text)
    else:
        parsed = read_bigbench(path, text)
    _check_items(path, parsed.items)
    return FileTask(path, parsed, data)


validate_task_file = load_task_file
"""`bench tasks validate PATH`: loading checks everything, so validating is loading."""


def export_prize_jsonl(instances: list[Instance]) -> str:
    """Choice instances as Inverse Scaling Prize JSONL: one {"prompt", "classes", "answer_index"} a line."""
    lines = []
    for instance in instances:
        if instance.answer_type != "choice" or instance.classes is None or instance.answer_index is None:
            raise UsageError(
                f"cannot export item {instance.item_id} of {instance.task} as prize JSONL: it has answer "
                f"type {instance.answer_type}, and prize files hold only choice items"
            )
        record = {
            "prompt": instance.prompt,
            "classes": instance.classes,
            "answer_index": instance.answer_index,
        }
        lines.append(json.dumps(record, ensure_ascii=False) + "\n")
    return "".join(lines)
