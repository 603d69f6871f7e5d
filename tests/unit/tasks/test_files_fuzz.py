"""Malformed task files and family files: every one loads, or fails with one clear line naming the file.

Valid files of every format are mutated with a fixed seed (bytes cut, flipped, inserted or deleted,
invalid UTF-8, syntax breakers, fields of the wrong type, missing fields, duplicated keys and ids, a
scalar or a list at the top) and handed to the loaders in-process; a few of the worst go through the CLI.
"""

from __future__ import annotations

import copy
import csv
import functools
import io
import json
import random
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

import tasks
from benchmark.errors import UsageError
from benchmark.families import load_family
from tests.conftest import ROOT

DATA = ROOT / "tests" / "data"

BENCH_JSONL = "".join(
    json.dumps(record) + "\n"
    for record in [
        {"kind": "choice", "id": "q1", "prompt": "Is the sky green? Answer:", "classes": [" Y", " N"],
         "answer_index": 1},
        {"kind": "gamble", "id": 2, "name": "Ann", "lose_percent": 94, "lose_amount": 50, "win_percent": 6,
         "win_amount": 5, "outcome": "won", "label": "N", "max_tokens": 4},
        {"kind": "choice", "id": "q3", "prompt": "Pick one:", "classes": [" a", " b", " c"],
         "answer_index": 2},
    ]
)  # fmt: skip
NUMBERS_YAML = """\
name: sums
version: 2
description: numbers and a max_tokens
items:
  - {kind: number, id: a, prompt: "1 + 1 =", answer: 2, max_tokens: 8}
  - kind: number
    id: 7
    prompt: |
      Half of 5 is
    answer: "2.5"
"""
TEXT_JSONL = (
    '{"kind": "text", "id": "t1", "prompt": "Capital of France:", "answer": "Paris"}\n'
    '{"kind": "text", "id": "t2", "prompt": "Opposite of up:", "answer": " down "}\n'
)


def _sources() -> dict[str, tuple[str, bytes]]:
    """Valid files by label: (file name to write, bytes)."""
    files = {
        "gambles_example.yaml": ROOT / "tasks" / "traps" / "gambles_example.yaml",
        "prize.csv": DATA / "prize.csv",
        "prize.jsonl": DATA / "prize.jsonl",
        "gpt3.jsonl": DATA / "gpt3_arithmetic.jsonl",
        "bigbench_choice": DATA / "bigbench_choice" / "task.json",
        "bigbench_gen": DATA / "bigbench_gen" / "task.json",
    }
    sources = {label: (path.name, path.read_bytes()) for label, path in files.items()}
    sources["bench.jsonl"] = ("bench.jsonl", BENCH_JSONL.encode())
    sources["numbers.yaml"] = ("numbers.yaml", NUMBERS_YAML.encode())
    sources["text.jsonl"] = ("text.jsonl", TEXT_JSONL.encode())
    return sources


TASK_SOURCES = _sources()
FAMILY_SOURCES = {
    path.name: (path.name, path.read_bytes())
    for path in sorted((ROOT / "providers" / "families").glob("*.yaml"))
}


# --- mutations ---------------------------------------------------------------------------------------------
# Each takes a random generator and the valid bytes, and returns a description and the mutated bytes.

Mutation = Callable[[random.Random, bytes], tuple[str, bytes]]

JUNK_VALUES: list[Any] = [
    None, True, False, 0, -1, 1, 2, 3, 99, -(10**30), 10**40, 1.5, -0.0, float("nan"), float("inf"),
    float("-inf"), 1e300, "", " ", "\n", "x" * 5000, "é\u2028\x85", "[' Y', ' N']", "-5", "1e999",
    "nan", "2.5", "Y", "won", [], {}, [None], [1, 2], [" Y"], [" Y", " Y"], ["", " N"], [[" Y"], " N"],
    {"a": 1}, {"kind": "choice"}, [[[[[[[[[[[]]]]]]]]]]], {"a": {"b": {"c": [1, {"d": None}]}}},
]  # fmt: skip
SYNTAX_BREAKERS = [
    "{", "}", "[", "]", ":", ": :", "- ", "-", '"', "'", ",", "\t", "&a", "*a", "*nope", "&a [*a]",
    "!!python/object/apply:os.system ['true']", "!!binary x", "!!float abc", "!!int 0x", "!!int _",
    "!!bool maybe", "!!timestamp abc", "!!timestamp 2020-13-45",
    "2020-02-30", "%YAML 1.1\n", "---\n", "...\n", "? ", "|", ">", "@", "`", "\\", "\\u12", "\"\\x\"",
    "NaN", "Infinity", "-Infinity", "1e999", "9" * 5000, "-" + "9" * 5000, "[" * 600, "{" * 600,
    "[" * 60 + "]" * 60, "\x00", "\x1b", "\x7f", "\ufeff", "\u2028", "\r", "\r\n", "=cmd|' /C calc'!A0",
]  # fmt: skip
INVALID_UTF8 = [b"\xff", b"\xfe\xff", b"\xc3", b"\x80", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\xc0\xaf"]


def _position(rng: random.Random, data: bytes) -> int:
    return rng.randrange(len(data) + 1)


def cut(rng: random.Random, data: bytes) -> tuple[str, bytes]:
    at = _position(rng, data)
    return f"truncated at byte {at}", data[:at]


def flip(rng: random.Random, data: bytes) -> tuple[str, bytes]:
    out = bytearray(data)
    spots = sorted(rng.randrange(len(out)) for _ in range(rng.randint(1, 4)))
    for at in spots:
        out[at] ^= 1 << rng.randrange(8)
    return f"bits flipped at {spots}", bytes(out)


def insert(rng: random.Random, data: bytes) -> tuple[str, bytes]:
    at, junk = _position(rng, data), rng.randbytes(rng.randint(1, 12))
    return f"{junk!r} inserted at {at}", data[:at] + junk + data[at:]


def delete(rng: random.Random, data: bytes) -> tuple[str, bytes]:
    at = rng.randrange(len(data))
    end = min(len(data), at + rng.randint(1, 40))
    return f"bytes {at}:{end} deleted", data[:at] + data[end:]


def invalid_utf8(rng: random.Random, data: bytes) -> tuple[str, bytes]:
    at, junk = _position(rng, data), rng.choice(INVALID_UTF8)
    return f"invalid UTF-8 {junk!r} at {at}", data[:at] + junk + data[at:]


def whole_file(rng: random.Random, data: bytes) -> tuple[str, bytes]:
    choices = [
        b"", b" ", b"\n\n\n", b" \t\r\n  \n", b"\xef\xbb\xbf", b"\x00" * 10, rng.randbytes(64),
        rng.randbytes(2000), b"null", b"~", b"42", b"-1", b'"a string"', b"[]", b"{}", b"[1, 2]",
        b"- a\n- b\n", b"---\n---\n", b"a: 1\n---\nb: 2\n", b"NaN", b"\xef\xbb\xbf" + data, data * 2,
        data.replace(b"\n", b"\r\n"), data.replace(b"\n", b"\r"), data.replace(b"  ", b"\t"),
    ]  # fmt: skip
    index = rng.randrange(len(choices))
    return f"whole file replaced by choice {index}", choices[index]


def lines(rng: random.Random, data: bytes) -> tuple[str, bytes]:
    rows = data.split(b"\n")
    i, j = rng.randrange(len(rows)), rng.randrange(len(rows))
    action = rng.choice(["duplicate", "delete", "swap", "indent", "dedent"])
    if action == "duplicate":
        rows.insert(i, rows[i])
    elif action == "delete":
        del rows[i]
    elif action == "swap":
        rows[i], rows[j] = rows[j], rows[i]
    elif action == "indent":
        rows[i] = b"   " + rows[i]
    else:
        rows[i] = rows[i].lstrip()
    return f"line {i + 1} {action} (with {j + 1})", b"\n".join(rows)


def syntax(rng: random.Random, data: bytes) -> tuple[str, bytes]:
    text = data.decode("utf-8-sig")
    breaker = rng.choice(SYNTAX_BREAKERS)
    at = rng.randrange(len(text) + 1)
    if rng.random() < 0.5:  # at the start of a line, or replacing the value after a key
        rows = text.split("\n")
        row = rng.randrange(len(rows))
        head, colon, _ = rows[row].partition(": ")
        rows[row] = f"{head}{colon}{breaker}" if colon else breaker + rows[row]
        return f"line {row + 1} becomes {rows[row][:80]!r}", "\n".join(rows).encode()
    return f"{breaker[:40]!r} inserted at char {at}", (text[:at] + breaker + text[at:]).encode()


# Structural mutations parse the file, change one value, and write it back in the same format.


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(value, dict):
        for key, child in value.items():
            found += _paths(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            found += _paths(child, (*prefix, index))
    return found


# libyaml, where installed, writes the mutated files several times faster than pure-Python PyYAML.
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_YAML_DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


def _parse(name: str, data: bytes) -> Any:
    return copy.deepcopy(_parse_valid(name, data))


@functools.cache
def _parse_valid(name: str, data: bytes) -> Any:
    text = data.decode("utf-8-sig")
    if name.endswith(".yaml"):
        return yaml.load(text, Loader=_YAML_LOADER)
    if name.endswith(".json"):
        return json.loads(text)
    if name.endswith(".jsonl"):
        return [json.loads(line) for line in text.splitlines() if line.strip()]
    return [row for row in csv.reader(io.StringIO(text, newline=""))]


def _dump(name: str, value: Any) -> bytes:
    if name.endswith(".yaml"):
        return yaml.dump(value, Dumper=_YAML_DUMPER, sort_keys=False, allow_unicode=True).encode()
    if name.endswith(".json"):
        return json.dumps(value, indent=1).encode()
    if name.endswith(".jsonl"):
        records = value if isinstance(value, list) else [value]
        return "".join(json.dumps(record) + "\n" for record in records).encode()
    out = io.StringIO(newline="")
    writer = csv.writer(out)
    for row in value if isinstance(value, list) else [[value]]:
        writer.writerow(row if isinstance(row, list) else [row])
    return out.getvalue().encode()


def structure(name: str, at: tuple[Any, ...] | None = None) -> Mutation:
    """Replace, delete, duplicate or add a value at a random place (or replace the value `at`)."""

    def mutate(rng: random.Random, data: bytes) -> tuple[str, bytes]:
        root = _parse(name, data)
        path = rng.choice(_paths(root)) if at is None else at
        action = "replace" if at is not None else rng.choice(["replace"] * 3 + ["delete", "duplicate", "add"])
        junk = rng.choice(JUNK_VALUES)
        if name.endswith(".csv") and path:  # every CSV cell is text
            junk = junk if isinstance(junk, str) else json.dumps(junk)
        if not path:
            return f"top level replaced by {junk!r:.60}", _dump(name, junk)
        *parents, last = path
        parent = root
        for key in parents:
            parent = parent[key]
        if action == "replace":
            parent[last] = junk
        elif action == "delete":
            del parent[last]
        elif action == "duplicate" and isinstance(parent, list):
            parent.insert(last, parent[last])
        elif isinstance(parent, dict):
            parent[rng.choice(["extra", "kind", "id", "Items", ""])] = junk
        else:
            parent.append(junk)
        return f"{action} at {list(path)} with {junk!r:.60}", _dump(name, root)

    return mutate


BYTE_MUTATIONS: list[Mutation] = [cut, flip, insert, delete, invalid_utf8, whole_file, lines]
CASES_PER_GROUP = 20


def mutations(label: str, name: str, data: bytes, group: str) -> list[tuple[str, bytes]]:
    """The mutated files of one group, the same ones on every run: `CASES_PER_GROUP` of them, or for
    "fields" one per value in the file (each replaced by a value of the wrong type or range)."""
    rng = random.Random(f"{label}|{group}")
    if group == "fields":
        return [structure(name, at)(rng, data) for at in _paths(_parse(name, data))]
    cases = []
    for _ in range(CASES_PER_GROUP):
        if group == "bytes":
            mutate = rng.choice(BYTE_MUTATIONS)
        elif group == "syntax":
            mutate = syntax
        else:
            mutate = structure(name)
        cases.append(mutate(rng, data))
    return cases


# --- the checks --------------------------------------------------------------------------------------------


def load_task(path: Path) -> None:
    """What `bench tasks validate|show` and `bench run --task` do with a file."""
    task = tasks.create(str(path))
    task.info(list(task.promptings))
    for prompting in task.promptings:
        assert task.instances(0, None, prompting)


def load_family_file(path: Path) -> None:
    """What `bench families show` and `bench run --family` do with a file."""
    family = load_family(str(path))
    sizes = [m.rank if family.by_rank else m.params for m in family.members]
    assert all(size is not None and size > 0 for size in sizes)


def problems(
    tmp_path: Path, name: str, cases: list[tuple[str, bytes]], load: Callable[[Path], None]
) -> list[str]:
    """Each case that neither loads nor fails with one line `PATH:LINE: reason` (our error type)."""
    found = []
    for number, (description, data) in enumerate(cases):
        folder = tmp_path / str(number)
        folder.mkdir()
        path = folder / name
        path.write_bytes(data)
        try:
            load(path)
        except UsageError as error:
            message = str(error)
            if len(message.splitlines()) != 1 or len(message) > 600:
                found.append(f"{description}: not one short line: {message[:300]!r}")
            elif not re.match(re.escape(str(path)) + r":\d+: \S", message):
                found.append(f"{description}: does not start with PATH:LINE: {message!r}")
        except Exception as error:  # the bug this test looks for
            found.append(f"{description}: {type(error).__name__}: {str(error)[:200]} (data {data[:120]!r})")
        if path.read_bytes() != data:
            found.append(f"{description}: the loader changed the file")
    return found


GROUPS = ["bytes", "syntax", "structure"]
# Every field of these family files gets a wrong value; the other shipped families are alike.
FAMILY_FIELDS = ["anthropic-api.yaml", "gemma3-local.yaml", "gpt2.yaml"]


@pytest.mark.parametrize("group", [*GROUPS, "fields"])
@pytest.mark.parametrize("label", sorted(TASK_SOURCES))
def test_malformed_task_files_load_or_fail_with_one_line(tmp_path: Path, label: str, group: str) -> None:
    name, data = TASK_SOURCES[label]
    load_task(_written(tmp_path, name, data))  # the source itself is valid
    cases = mutations(label, name, data, group)
    assert problems(tmp_path, name, cases, load_task) == []


@pytest.mark.parametrize(
    ("label", "group"),
    [(label, group) for label in sorted(FAMILY_SOURCES) for group in GROUPS]
    + [(label, "fields") for label in FAMILY_FIELDS],
)
def test_malformed_family_files_load_or_fail_with_one_line(tmp_path: Path, label: str, group: str) -> None:
    name, data = FAMILY_SOURCES[label]
    load_family_file(_written(tmp_path, name, data))
    cases = mutations(label, name, data, group)
    assert problems(tmp_path, name, cases, load_family_file) == []


def _written(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / "valid" / name
    path.parent.mkdir()
    path.write_bytes(data)
    return path


# The crashes this fuzzing found, each now one line (before: the traceback or the fault in the comment).
TOY_FAMILY = (
    "name: toy\nversion: '1'\ndescription: d\nsource: s\nmembers:\n"
    "  - {provider: hf, model: a, params: 1B, variant: base}\n"
)
FOUND = [
    ("t.yaml", "items:\n  - {kind: text, id: a, prompt: p, answer: !!bool maybe}\n",  # KeyError
     "2: not valid YAML (cannot read 'maybe' as bool)"),
    ("t.yaml", "description: !!timestamp abc\nitems: []\n",  # AttributeError
     "1: not valid YAML (cannot read 'abc' as timestamp)"),
    ("t.yaml", "name: x\nversion: !!int _\nitems: []\n",  # IndexError
     "2: not valid YAML (cannot read '_' as int)"),
    ("t.yaml", "name: x\n\nversion: " + "9" * 5000 + "\n",  # at line 1
     "3: not valid YAML (cannot read '9999999999999999999999999999999999999999' as int)"),
    ("t.jsonl", '{"kind": "text", "id": "a\n',  # "starting at at column"
     "1: not valid JSON (Unterminated string starting at column 24)"),
    ("f.yaml", TOY_FAMILY.replace("d\n", "d\x1b\n"),  # two lines
     "3: not valid YAML (unacceptable character #x001b: special characters are not allowed)"),
    ("f.yaml", TOY_FAMILY.replace("1B", "!!timestamp 2020-13-45"),  # ValueError
     "6: not valid YAML (cannot read '2020-13-45' as timestamp)"),
    ("f.yaml", TOY_FAMILY.replace("'1'", "9" * 5000),  # ValueError
     "2: not valid YAML (cannot read '9999999999999999999999999999999999999999' as int)"),
    ("f.yaml", TOY_FAMILY.replace("source: s", "source: " + "[" * 600),  # RecursionError
     "4: not valid YAML (nested too deeply)"),
    ("f.yaml", TOY_FAMILY.replace("1B", "'1e999'"),  # OverflowError
     "6: members.0.params: cannot read '1e999' as a parameter count"),
    ("f.yaml", TOY_FAMILY.replace("1B", "1B!"),  # no file, line or field
     "6: members.0.params: cannot read '1B!' as a parameter count"),
    ("f.yaml", TOY_FAMILY.replace("1B", "-5"),  # loaded
     "6: members.0.params: Input should be greater than 0"),
    ("f.yaml", TOY_FAMILY.replace("1B", "true"),  # loaded as 1
     "6: members.0.params: must be a number"),
    ("f.yaml", TOY_FAMILY.replace("source: s", "source: s\nsource: t"),  # loaded, the second kept
     "5: duplicate key 'source'"),
]  # fmt: skip


@pytest.mark.parametrize(("name", "text", "expected"), FOUND)
def test_what_the_fuzzing_found_is_one_line_with_file_and_line(
    tmp_path: Path, name: str, text: str, expected: str
) -> None:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    with pytest.raises(UsageError) as info:
        (load_task if name.startswith("t.") else load_family_file)(path)
    assert str(info.value).startswith(f"{path}:{expected}")


# --- through the CLI: the worst of them, as a user meets them ----------------------------------------------

EXAMPLE = TASK_SOURCES["gambles_example.yaml"][1]
FAMILY = FAMILY_SOURCES["gpt2.yaml"][1]
RUN_TASK = ["run", "--provider", "scripted", "--limit", "2", "--task", "{file}", "--out", "{out}"]
RUN_FAMILY = ["run", "--provider", "scripted", "--task", "arithmetic", "--family", "{file}", "--out", "{out}"]
CLI_CASES = [
    # (args, file name, bytes, the line and reason expected after "PATH:")
    (
        ["tasks", "validate", "{file}"],
        "bool.yaml",
        EXAMPLE.replace(b"label: N ", b"label: !!bool maybe ", 1),
        "45: not valid YAML (cannot read 'maybe' as bool)",
    ),
    (
        ["tasks", "show", "{file}"],
        "date.yaml",
        EXAMPLE.replace(b'version: "1"', b"version: !!timestamp yesterday"),
        "5: not valid YAML (cannot read 'yesterday' as timestamp)",
    ),
    (
        RUN_TASK,
        "huge.yaml",
        NUMBERS_YAML.encode().replace(b"answer: 2,", b"answer: " + b"9" * 5000 + b","),
        "5: not valid YAML (cannot read '9999",
    ),
    (RUN_TASK, "junk.jsonl", random.Random(0).randbytes(300), "1: not UTF-8 text"),
    (
        ["tasks", "validate", "{file}"],
        "task.json",
        TASK_SOURCES["bigbench_choice"][1][:200],
        "6: not valid JSON (Unterminated string starting at column 15)",
    ),
    (
        ["families", "show", "{file}"],
        "control.yaml",
        FAMILY.replace(b"base models", b"base \x1b models"),
        "3: not valid YAML (unacceptable character #x001b: special characters are not allowed)",
    ),
    (
        RUN_FAMILY,
        "inf.yaml",
        FAMILY.replace(b"params: 1.5B", b"params: 1e999"),
        "9: members.3.params: cannot read '1e999' as a parameter count",
    ),
    (
        ["families", "show", "{file}"],
        "long.yaml",
        FAMILY.replace(b"params: 124M", b"params: " + b"x" * 5000),
        "6: members.0.params: cannot read 'xxxx",
    ),
    (RUN_FAMILY, "latin1.yaml", FAMILY.replace(b"OpenAI", "Ópen".encode("latin-1"), 1), "3: not UTF-8 text"),
]


def _tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() if p.is_file() else b"" for p in folder.rglob("*")}


@pytest.mark.parametrize(("args", "name", "data", "expected"), CLI_CASES, ids=[c[1] for c in CLI_CASES])
def test_cli_refuses_a_malformed_file_with_one_line_and_writes_nothing(
    cli, tmp_path: Path, args: list[str], name: str, data: bytes, expected: str
) -> None:
    path = tmp_path / ("bigbench" if name == "task.json" else "files") / name
    path.parent.mkdir()
    path.write_bytes(data)
    file = str(path.parent if name == "task.json" else path)  # a BIG-bench task is named by its folder
    out = tmp_path / "run"
    if "--family" in args:
        out.mkdir()  # an empty --out that exists stays empty; one that does not is not created
    before = _tree(tmp_path)
    argv = [arg.format(file=file, out=out) for arg in args]
    result = cli(*argv, env={"BENCH_CACHE_DIR": str(tmp_path / "cache")})
    assert result.code == 2, result.err
    assert "Traceback" not in result.err
    assert len(result.err.splitlines()) == 1, result.err
    assert result.err.startswith(f"bench: error: {path}:{expected}"), result.err
    assert len(result.err) < 400
    assert _tree(tmp_path) == before  # the file unchanged, no run directory, no cache


@pytest.mark.parametrize(
    ("command", "name", "data"),
    [
        (
            "tasks",
            "markup.yaml",
            EXAMPLE.replace(b"description: hand-written", b"description: a [/x] hand-written"),
        ),
        ("families", "markup.yaml", FAMILY.replace(b"description: OpenAI", b"description: a [/x] OpenAI")),
    ],
    ids=["tasks show", "families show"],
)
def test_cli_shows_brackets_from_a_file_as_text(
    cli, tmp_path: Path, command: str, name: str, data: bytes
) -> None:
    path = tmp_path / name
    path.write_bytes(data)
    result = cli(command, "show", str(path))
    assert "Traceback" not in result.err
    assert result.code == 0 and "[/x]" in result.out, result.err
