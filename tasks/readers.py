"""Readers of the task file formats: each returns a `Parsed` (items in file order, each with the line
it starts on) or raises `UsageError("PATH:LINE: reason")`. The record models are in `tasks.formats`.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from pydantic import (
    ValidationError,
)

from benchmark.prompting import Shot
from benchmark.records import first_problem
from benchmark.schemas import AnswerType
from benchmark.yamlfile import check_duplicate_keys, read_yaml
from tasks.formats import (
    _INTEGER,
    _KINDS,
    _PARSE_ERRORS,
    BenchHeader,
    BigBenchExample,
    BigBenchTask,
    GambleShot,
    Gpt3Record,
    Item,
    Parsed,
    PrizeRecord,
    _check_classes,
    fail,
    validate,
)
from tasks.gambles import shot as gamble_shot


def bench_item(path: Path, line: int, raw: Any, lang: str = "en") -> Item:
    if not isinstance(raw, dict):
        fail(path, line, f"an item must be a mapping of fields, not {type(raw).__name__}")
    kind = raw.get("kind")
    if kind is None:
        fail(path, line, "missing field 'kind' (gamble, choice, number or text)")
    model = _KINDS.get(kind) if isinstance(kind, str) else None
    if model is None:
        fail(path, line, f"unknown kind {str(kind)[:40]!r}; use gamble, choice, number or text")
    return validate(path, line, model, raw).item(line, lang)


def read_bench_yaml(path: Path, text: str) -> Parsed:
    node, data = read_yaml(path, text)
    if node is None:
        fail(path, 1, "file is empty; a trap file needs 'items'")
    check_duplicate_keys(path, node)
    if not isinstance(node, yaml.MappingNode) or not isinstance(data, dict):
        fail(path, node.start_mark.line + 1, "expected a mapping with an 'items' list at the top")
    keys = {k.value: (k, v) for k, v in node.value if isinstance(k, yaml.ScalarNode)}

    def key_line(key: str) -> int:
        return keys[key][0].start_mark.line + 1 if key in keys else node.start_mark.line + 1

    try:
        header = BenchHeader.model_validate(data)
    except ValidationError as error:
        loc = error.errors()[0]["loc"]
        fail(path, key_line(str(loc[0]) if loc else ""), first_problem(error, BenchHeader))

    def lines(key: str, count: int) -> list[int]:
        seq = keys.get(key, (None, None))[1]
        if isinstance(seq, yaml.SequenceNode) and len(seq.value) == count:
            return [child.start_mark.line + 1 for child in seq.value]
        return [key_line(key)] * count

    shots = [
        validate(path, line, GambleShot, raw)
        for line, raw in zip(lines("shots", len(header.shots)), header.shots, strict=True)
    ]
    items = [
        bench_item(path, line, raw, header.lang)
        for line, raw in zip(lines("items", len(header.items)), header.items, strict=True)
    ]
    if shots:
        for item in items:
            if item.kind != "gamble":
                fail(
                    path,
                    item.line,
                    f"'shots' are gamble examples, so every item must be a gamble, not {item.kind}",
                )
    reasoning = header.reasoning
    examples = [gamble_shot(s.gamble(), s.lang or header.lang) for s in shots]
    if reasoning is not None:
        examples += [_worked(shot.prompt, shot.reasoning) for shot in reasoning.shots]
    return Parsed(
        "bench", items, header.name, header.version, header.description, tuple(examples),
        instruction=reasoning.instruction if reasoning else None,
    )  # fmt: skip


def _worked(prompt: str, reasoning: str) -> Shot:
    """A file's own reasoning example: its prompt, the reasoning after it (shown only under chain of
    thought, with a blank line after it)."""
    gap = "" if prompt[-1:].isspace() else " "
    return Shot(prompt, reasoning=f"{gap}{reasoning.strip()}")


class _DuplicateKey(ValueError):
    pass


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """json.loads' object hook: a key given twice is an error (json keeps the last one silently)."""
    record: dict[str, Any] = {}
    for key, value in pairs:
        if key in record:
            raise _DuplicateKey(f"duplicate key {key!r}")
        record[key] = value
    return record


def loads(text: str) -> Any:
    """JSON from a user's file, refusing duplicate keys."""
    return json.loads(text, object_pairs_hook=_unique_keys)


def json_lines(path: Path, text: str) -> list[tuple[int, dict[str, Any]]]:
    records = []
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            record = loads(line)
        except json.JSONDecodeError as error:
            fail(path, number, f"not valid JSON ({error.msg.removesuffix(' at')} at column {error.colno})")
        except _DuplicateKey as error:
            fail(path, number, str(error))
        except _PARSE_ERRORS as error:
            fail(path, number, f"not valid JSON ({str(error)[:80] or type(error).__name__})")
        if not isinstance(record, dict):
            fail(path, number, f"each line must be a JSON object, not {type(record).__name__}")
        records.append((number, record))
    if not records:
        fail(path, 1, "file is empty: no items")
    return records


def read_jsonl(path: Path, text: str) -> Parsed:
    records = json_lines(path, text)
    line, first = records[0]
    reader: Callable[[Path, list[tuple[int, dict[str, Any]]]], Parsed]
    if "kind" in first:
        reader = _bench_jsonl
    elif "prompt" in first and "classes" in first:
        reader = _prize_jsonl
    elif "context" in first and "completion" in first:
        reader = _gpt3_jsonl
    else:
        fail(
            path,
            line,
            "cannot tell the format (expected kind, prompt/classes/answer_index, or context/completion)",
        )
    return reader(path, records)


def _bench_jsonl(path: Path, records: list[tuple[int, dict[str, Any]]]) -> Parsed:
    return Parsed("bench", [bench_item(path, line, raw) for line, raw in records])


def _prize_item(path: Path, line: int, raw: dict[str, Any], number: int) -> Item:
    record = validate(path, line, PrizeRecord, raw, keep=("id", "prompt", "classes", "answer_index"))
    index = record.answer_index
    return Item(
        record.id or str(number), line, "prize", record.prompt, "choice", record.classes[index],
        record.classes, index,
    )  # fmt: skip


def _prize_jsonl(path: Path, records: list[tuple[int, dict[str, Any]]]) -> Parsed:
    items = [_prize_item(path, line, raw, n) for n, (line, raw) in enumerate(records, start=1)]
    return Parsed("prize", items)


def read_prize_csv(path: Path, text: str) -> Parsed:
    reader = csv.reader(io.StringIO(text, newline=""))
    items: list[Item] = []
    header: list[str] | None = None
    try:
        start = reader.line_num + 1
        for row in reader:
            if not any(cell.strip() for cell in row):
                start = reader.line_num + 1
                continue
            if header is None:
                header = [cell.strip() for cell in row]
                for column in header:
                    if header.count(column) > 1:
                        fail(path, start, f"duplicate column {column!r}")
                for column in ("prompt", "classes", "answer_index"):
                    if column not in header:
                        fail(path, start, f"missing column {column!r}")
            elif len(row) != len(header):
                fail(path, start, f"record has {len(row)} fields, the header has {len(header)}")
            else:
                raw = dict(zip(header, row, strict=True))
                items.append(_prize_item(path, start, raw, len(items) + 1))
            start = reader.line_num + 1
    except csv.Error as error:
        fail(path, reader.line_num or 1, f"not valid CSV ({error})")
    if header is None:
        fail(path, 1, "file is empty: expected a header with prompt, classes and answer_index")
    if not items:
        fail(path, 1, "no records after the header")
    return Parsed("prize", items)


def _gpt3_jsonl(path: Path, records: list[tuple[int, dict[str, Any]]]) -> Parsed:
    parsed = [
        (line, validate(path, line, Gpt3Record, raw, keep=("context", "completion"))) for line, raw in records
    ]
    answers = [record.completion.strip() for _, record in parsed]
    answer_type: AnswerType = "number" if all(_INTEGER.fullmatch(a) for a in answers) else "text"
    items = [
        Item(str(line), line, "gpt3", record.context.lstrip("\n"), answer_type, answer)
        for (line, record), answer in zip(parsed, answers, strict=True)
    ]
    return Parsed("gpt3", items)


def _class_string(choice: str) -> str:
    return choice if choice[:1].isspace() else " " + choice


def read_bigbench(path: Path, text: str) -> Parsed:
    try:
        data = loads(text)
    except json.JSONDecodeError as error:
        fail(path, error.lineno, f"not valid JSON ({error.msg.removesuffix(' at')} at column {error.colno})")
    except _DuplicateKey as error:
        fail(path, 1, str(error))
    except _PARSE_ERRORS as error:
        fail(path, 1, f"not valid JSON ({str(error)[:80] or type(error).__name__})")
    if not isinstance(data, dict) or "examples" not in data:
        fail(path, 1, "not a BIG-bench task: expected a JSON object with an 'examples' list")
    task = validate(path, 1, BigBenchTask, data, keep=tuple(BigBenchTask.model_fields))
    examples: list[BigBenchExample] = []
    for index, raw in enumerate(task.examples):
        if not isinstance(raw, dict):
            fail(path, 1, f"examples[{index}]: expected an object, not {type(raw).__name__}")
        try:
            examples.append(
                BigBenchExample.model_validate(
                    {k: raw[k] for k in ("input", "target", "target_scores") if k in raw}
                )
            )
        except ValidationError as error:
            fail(path, 1, f"examples[{index}]: {first_problem(error, BigBenchExample)}")
    choice = examples[0].target_scores is not None
    items: list[Item] = []
    for index, example in enumerate(examples):
        if (example.target_scores is not None) != choice:
            fail(
                path,
                1,
                f"examples[{index}]: every example needs {'target_scores' if choice else 'target'}, "
                "like the first",
            )
        body = task.task_prefix + task.example_input_prefix + example.input
        if example.target_scores is not None:
            keys = list(example.target_scores)
            if task.append_choices_to_input:
                body += "".join(task.choice_prefix + key for key in keys)
            prompt = (body + task.example_output_prefix).lstrip("\n").rstrip(" ")
            classes = [_class_string(key) for key in keys]
            try:
                _check_classes(classes)
            except ValueError as error:
                fail(path, 1, f"examples[{index}]: target_scores: {error}")
            scores = list(example.target_scores.values())
            answer = scores.index(max(scores))
            items.append(
                Item(str(index + 1), 1, "bigbench", prompt, "choice", classes[answer], classes, answer)
            )
        else:
            assert example.target is not None
            prompt = (body + task.example_output_prefix).lstrip("\n").rstrip(" ")
            items.append(Item(str(index + 1), 1, "bigbench", prompt, "text", example.target[0].strip()))
    if not choice and all(_INTEGER.fullmatch(item.target) for item in items):
        items = [Item(i.id, i.line, i.kind, i.prompt, "number", i.target) for i in items]
    for item in items:
        if not item.target:
            fail(path, 1, f"examples[{int(item.id) - 1}]: target is empty")
    return Parsed("bigbench", items, task.name, None, task.description)
