"""Prompts are byte-identical to the ones published runs and the response cache were made with: the
first 5 instances of every task and condition at seed 0, as digests taken before prompting conditions
became shared steps (issue 19)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
import yaml

from benchmark.schemas import Instance
from tasks import Task, create, load_file
from tests.conftest import ROOT

DATA = ROOT / "tests" / "data"

GENERATED = [
    "arithmetic",
    "arithmetic:digits=3,op=*",
    "arithmetic:op=(a+b)*c,shots=0",
    "modified_arithmetic",
    "word_problems",
    "word_problems:shots=0",
    "word_problems:steps=3,shots=2",
    "hindsight_neglect",
    "hindsight_neglect:lang=zh-TW",
    "hindsight_neglect:shots=0",
]
SHIPPED_FILES = [
    "tasks/traps/gambles_example.yaml",
    "tests/data/prize.jsonl",
    "tests/data/prize.csv",
    "tests/data/gpt3_arithmetic.jsonl",
    "tests/data/memotrap_style.jsonl",
    "tests/data/bigbench_choice",
    "tests/data/bigbench_gen",
]
_GAMBLE = {"lose_percent": 94, "lose_amount": 50, "win_percent": 6, "win_amount": 5}
_SHOT = {"name": "Tom", "lose_percent": 90, "lose_amount": 200, "win_percent": 10, "win_amount": 100}
WRITTEN: dict[str, dict[str, object]] = {
    # A choice file with its own instruction and no worked examples: zero-shot under its words.
    "instructed.yaml": {
        "reasoning": {"instruction": "Think it over."},
        "items": [
            {
                "kind": "choice",
                "id": f"c{i}",
                "prompt": f"Common start.\nIs {i} even?\nAnswer:",
                "classes": [" Y", " N"],
                "answer_index": i % 2,
            }
            for i in range(3)
        ],
    },
    # Number items with a large budget and worked examples of their own, no instruction.
    "worked.yaml": {
        "reasoning": {"shots": [{"prompt": "2+2=", "reasoning": "Two and two. The answer is 4."}]},
        "items": [
            {"kind": "number", "id": f"n{i}", "prompt": f"{i}+{i}=", "answer": 2 * i, "max_tokens": 120}
            for i in range(3)
        ],
    },
    # Gamble shots in zh-TW, their own worked example and an instruction after every prompt.
    "gambles.yaml": {
        "lang": "zh-TW",
        "shots": [{**_SHOT, "outcome": "lost"}],
        "reasoning": {
            "instruction": "Work out the expected value first.",
            "shots": [{"prompt": "Q: Bet?\nA:", "reasoning": "EV is positive. So the answer is Y."}],
        },
        "items": [
            {"kind": "gamble", "id": f"g{i}", "name": name, **_GAMBLE, "outcome": "won"}
            for i, name in enumerate(["David", "Mei"])
        ],
    },
}

EXPECTED = {  # taken from the code before issue 19 (commit ae6efee)
    "arithmetic plain": "ff0f84fefdd684ea",
    "arithmetic:digits=3,op=* plain": "b9efa562adb26859",
    "arithmetic:op=(a+b)*c,shots=0 plain": "7af2ff1857d18ee4",
    "modified_arithmetic plain": "9eb072a1b559b588",
    "word_problems plain": "78ad8aae706c4751",
    "word_problems cot": "bb8e2756cec3a863",
    "word_problems cot_zeroshot": "0003230c9dadb4de",
    "word_problems:shots=0 plain": "24f1a3458386453d",
    "word_problems:shots=0 cot": "55579b8d50a18fa1",
    "word_problems:shots=0 cot_zeroshot": "ddc9d348f4d310e0",
    "word_problems:steps=3,shots=2 plain": "74bd78f9071356c4",
    "word_problems:steps=3,shots=2 cot": "e884e382b427de3c",
    "word_problems:steps=3,shots=2 cot_zeroshot": "8ecf4d96a166669a",
    "hindsight_neglect plain": "05ebdbea25ce8f06",
    "hindsight_neglect cot": "12c519e0a671b216",
    "hindsight_neglect:lang=zh-TW plain": "9d9c5deec8429580",
    "hindsight_neglect:lang=zh-TW cot": "f9dcfab6ba779456",
    "hindsight_neglect:shots=0 plain": "a84689784099117a",
    "hindsight_neglect:shots=0 cot": "763c7d1fb02fc654",
    "tasks/traps/gambles_example.yaml plain": "f807d6b8c852e01c",
    "tasks/traps/gambles_example.yaml cot": "8c7b06a820365d59",
    "tests/data/prize.jsonl plain": "96f7be47c400eceb",
    "tests/data/prize.jsonl cot_zeroshot": "8a6bb6592abf3cb2",
    "tests/data/prize.csv plain": "5e7e7676059ef89f",
    "tests/data/prize.csv cot_zeroshot": "0c92e4da98b8c48f",
    "tests/data/gpt3_arithmetic.jsonl plain": "fe06060c7f2e9b85",
    "tests/data/gpt3_arithmetic.jsonl cot_zeroshot": "882458985951c784",
    "tests/data/memotrap_style.jsonl plain": "a956ca830f61b880",
    "tests/data/memotrap_style.jsonl cot_zeroshot": "8e9ea1e32bede58d",
    "tests/data/bigbench_choice plain": "62ae4ef6dcef743b",
    "tests/data/bigbench_choice cot_zeroshot": "d663bf4080fd154d",
    "tests/data/bigbench_gen plain": "e1fb0948db365cc2",
    "tests/data/bigbench_gen cot_zeroshot": "1dc7d89f7c855a77",
    "instructed.yaml plain": "9479a5b516d3b01e",
    "instructed.yaml cot_zeroshot": "cfa7b7981bc52ca3",
    "worked.yaml plain": "3d43de593de85729",
    "worked.yaml cot": "a994c48e605edc4d",
    "gambles.yaml plain": "2af3e4501a2fda24",
    "gambles.yaml cot": "fb746f8f18db5a5e",
}


def digest(instances: list[Instance]) -> str:
    """What a provider is asked and how the answer is read. `logprob_scoring` only matters for choice
    items (`benchmark.jobs.scoring_mode`), so it is left out of the others'."""
    records = []
    for instance in instances:
        record = instance.model_dump()
        if instance.answer_type != "choice":
            del record["logprob_scoring"]
        records.append(record)
    return hashlib.sha256(json.dumps(records, sort_keys=True, ensure_ascii=False).encode()).hexdigest()[:16]


def all_tasks(folder: Path) -> dict[str, Task]:
    """Every case: generated variants, shipped and test files, and files written into `folder`."""
    tasks: dict[str, Task] = {spec: create(spec) for spec in GENERATED}
    tasks.update({path: load_file(ROOT / path) for path in SHIPPED_FILES})
    for name, data in WRITTEN.items():
        path = folder / name
        path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
        tasks[name] = load_file(path)
    return tasks


def digests(folder: Path) -> dict[str, str]:
    return {
        f"{case} {prompting}": digest(task.instances(0, 5, prompting))
        for case, task in all_tasks(folder).items()
        for prompting in task.promptings
    }


def test_every_task_and_condition_renders_the_bytes_it_rendered_before(tmp_path: Path) -> None:
    found = digests(tmp_path)
    assert found == EXPECTED


@pytest.mark.parametrize("case", ["word_problems", "hindsight_neglect", "tasks/traps/gambles_example.yaml"])
def test_the_conditions_of_a_task_ask_the_same_items(case: str, tmp_path: Path) -> None:
    task = all_tasks(tmp_path)[case]
    by_condition = [task.instances(0, 5, p) for p in task.promptings]
    assert len({tuple((i.item_id, i.target) for i in instances) for instances in by_condition}) == 1
