"""User trap files under chain of thought, and gamble items in Traditional Chinese."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from benchmark.errors import UsageError
from benchmark.prompting import ZERO_SHOT_TRIGGER
from tasks import create
from tasks.files import load_task_file
from tasks.hindsight_neglect import Gamble, exemplar
from tests.helpers.summary import rows_with_results

DAVID = {"name": "David", "lose_percent": 94, "lose_amount": 50, "win_percent": 6, "win_amount": 5}
SHOT = {"name": "Tom", "lose_percent": 90, "lose_amount": 200, "win_percent": 10, "win_amount": 100}


def write_yaml(path: Path, data: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def test_zh_tw_gambles_render_like_the_generator(tmp_path: Path) -> None:
    data = {
        "lang": "zh-TW",
        "shots": [{**SHOT, "outcome": "lost"}],
        "items": [{"kind": "gamble", "id": "d", **DAVID, "outcome": "won"}],
    }
    task = load_task_file(write_yaml(tmp_path / "zh.yaml", data))
    david, tom = Gamble("David", 94, 50, 6, 5, True), Gamble("Tom", 90, 200, 10, 100, False)
    [plain] = task.instances(0, None, "plain")
    assert plain.prompt == exemplar(tom, "zh-TW", False) + david.question("zh-TW")
    assert plain.prompt.endswith("大衛的決定正確嗎？請回答 Y 或 N。\n\n答案：") and plain.target == " N"
    # The generator's zh-TW prompt for the same gamble is the same text.
    generated = create("hindsight_neglect:lang=zh-TW,shots=0").instances(0, 1, "plain")[0].prompt
    assert generated.startswith("問題：") and plain.prompt.count("問題：") == 2
    # Under chain of thought the shot reasons from the expected value, in Chinese, as the generator's.
    [cot] = task.instances(0, None, "cot")
    assert cot.prompt == exemplar(tom, "zh-TW", True) + david.question("zh-TW")
    assert "期望值" in cot.prompt and "答案是 N。" in cot.prompt


def test_a_jsonl_gamble_can_be_in_zh_tw_and_a_bad_lang_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "g.jsonl"
    lines = [{"kind": "gamble", "id": 1, **DAVID, "outcome": "won", "lang": "zh-TW"}, {
        "kind": "gamble", "id": 2, **DAVID, "outcome": "won"}]  # fmt: skip
    path.write_text("\n".join(json.dumps(x, ensure_ascii=False) for x in lines) + "\n", encoding="utf-8")
    zh, en = load_task_file(path).instances(0, None, "plain")
    assert zh.prompt.startswith("問題：大衛") and en.prompt.startswith("Question: David")
    path.write_text(json.dumps({**lines[1], "lang": "fr"}) + "\n")
    with pytest.raises(UsageError, match=r"g\.jsonl:1: lang"):
        load_task_file(path)


def test_a_file_without_reasoning_examples_gets_zero_shot_chain_of_thought(tmp_path: Path) -> None:
    items = [{"kind": "choice", "id": "q", "prompt": "Is it wise?\nAnswer:", "classes": [" Y", " N"],
              "answer_index": 1}]  # fmt: skip
    task = load_task_file(write_yaml(tmp_path / "c.yaml", {"items": items}))
    assert task.promptings == ("plain", "cot_zeroshot")
    [cot] = task.instances(0, None, "cot_zeroshot")
    assert cot.prompt == f"Is it wise?\nAnswer: {ZERO_SHOT_TRIGGER}"
    assert not cot.logprob_scoring and cot.stated_answer and cot.max_tokens == 96
    # A prize file, which has no header, too.
    prize = tmp_path / "p.jsonl"
    prize.write_text(json.dumps({"prompt": "Q?\nA:", "classes": [" Y", " N"], "answer_index": 0}) + "\n")
    assert load_task_file(prize).promptings == ("plain", "cot_zeroshot")
    # Text answers are read from the first line: no chain of thought for them.
    text = [{"kind": "text", "id": "t", "prompt": "Say hi:", "answer": "hi"}]
    assert load_task_file(write_yaml(tmp_path / "t.yaml", {"items": text})).promptings == ("plain",)


def test_a_file_can_give_its_own_instruction_and_worked_reasoning(tmp_path: Path) -> None:
    items = [{"kind": "choice", "id": "q", "prompt": "Q: Bet 94% to lose 50, 6% to win 5?\nA:",
              "classes": [" Y", " N"], "answer_index": 1}]  # fmt: skip
    reasoning = {
        "instruction": "Work out the expected value first.",
        "shots": [{"prompt": "Q: Bet 10% to lose 100, 90% to win 50?\nA:",
                   "reasoning": "EV = 45 - 10 = +35, positive. So the answer is Y."}],
    }  # fmt: skip
    task = load_task_file(write_yaml(tmp_path / "r.yaml", {"reasoning": reasoning, "items": items}))
    assert task.promptings == ("plain", "cot")
    [plain] = task.instances(0, None, "plain")
    [cot] = task.instances(0, None, "cot")
    assert plain.prompt == items[0]["prompt"]
    worked = (
        "Q: Bet 10% to lose 100, 90% to win 50?\nA: EV = 45 - 10 = +35, positive. So the answer is Y.\n\n"
    )
    assert cot.prompt == worked + items[0]["prompt"] + " Work out the expected value first."
    assert cot.shared_prefix == len(worked)  # the worked example is the shared prefix


@pytest.mark.parametrize(
    ("reasoning", "reason"),
    [
        ({"shots": [{"prompt": "Q?", "reasoning": "Because."}]}, "must end by stating its answer"),
        ({"shots": [{"prompt": "Q?"}]}, "missing field"),
        ({"instruction": ""}, "must not be empty"),
        ({"steps": 3}, "unknown field"),
    ],
)
def test_bad_reasoning_is_refused_with_file_and_line(tmp_path: Path, reasoning: dict, reason: str) -> None:
    items = [{"kind": "number", "id": "n", "prompt": "2+2=", "answer": 4}]
    path = write_yaml(tmp_path / "bad.yaml", {"reasoning": reasoning, "items": items})
    with pytest.raises(UsageError, match=rf"bad\.yaml:1: .*{reason}"):
        load_task_file(path)


def test_a_trap_file_run_compares_chain_of_thought_with_plain_scored_the_same_way(
    cli, tmp_path: Path
) -> None:
    names = ["David", "Mei", "Omar", "Tom", "Yuki", "Sarah", "Lucas", "Elena"]
    items = [
        {"kind": "gamble", "id": f"g{i}", **DAVID, "name": n, "outcome": "won"} for i, n in enumerate(names)
    ]
    data = {"shots": [{**SHOT, "outcome": "lost"}], "items": items}
    path = write_yaml(tmp_path / "traps.yaml", data)
    out = tmp_path / "run"
    models = ["--model", "cot:calculator/outcome@10B", "--model", "outcome@1B"]
    result = cli("run", "--provider", "scripted", *models, "--task", str(path), "--out", str(out))
    assert result.code == 0, result.err
    rows = rows_with_results(out)
    assert [(r["prompting"], r["scoring"], r["params"], r["accuracy"]) for r in rows] == [
        ("plain", "logprob", 10**9, 0.0), ("plain", "logprob", 10**10, 0.0),
        ("plain", "generate", 10**9, 0.0), ("plain", "generate", 10**10, 0.0),
        ("cot", "generate", 10**9, 0.0), ("cot", "generate", 10**10, 1.0),
    ]  # fmt: skip
    assert [r["cot_gain"]["estimate"] for r in rows if r["prompting"] == "cot"] == [0.0, 1.0]
