"""Task files: bench trap files (YAML/JSONL) and prize, BIG-bench and GPT-3 imports."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from benchmark.errors import UsageError
from benchmark.schemas import Instance
from tasks.files import FileTask, export_prize_jsonl, load_task_file, validate_task_file
from tasks.hindsight_neglect import CLASSES, Gamble
from tests.conftest import ROOT

DATA = ROOT / "tests" / "data"
EXAMPLE = ROOT / "tasks" / "traps" / "gambles_example.yaml"


def gamble(
    id: str = "g1", lose: int = 94, lose_amount: int = 50, win: int = 6, win_amount: int = 5, **extra: Any
) -> dict[str, Any]:
    return {
        "kind": "gamble",
        "id": id,
        "name": "David",
        "lose_percent": lose,
        "lose_amount": lose_amount,
        "win_percent": win,
        "win_amount": win_amount,
        "outcome": "won",
        **extra,
    }


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def write_yaml(path: Path, data: Any) -> Path:
    return write(path, yaml.safe_dump(data, sort_keys=False))


def write_jsonl(path: Path, records: list[Any]) -> Path:
    return write(path, "".join(json.dumps(r) + "\n" for r in records))


def error(path: Path) -> str:
    with pytest.raises(UsageError) as info:
        load_task_file(path)
    return str(info.value)


def all_instances(task: FileTask) -> list[Instance]:
    return task.instances(0, None, "plain")


# --- bench trap files ------------------------------------------------------------------------------------


def test_example_file_loads_and_targets_follow_the_expected_value() -> None:
    task = load_task_file(EXAMPLE)
    assert (task.name, task.version, task.answer_type, task.chance) == ("gambles_example", "1", "choice", 0.5)
    assert task.promptings == ("plain", "cot") and task.params() == {"file": str(EXAMPLE)}
    items = yaml.safe_load(EXAMPLE.read_text())["items"]
    instances = all_instances(task)
    assert len(instances) == 6 and [i.item_id for i in instances] == [item["id"] for item in items]
    targets = []
    for item, instance in zip(items, instances, strict=True):
        g = Gamble(
            item["name"],
            item["lose_percent"],
            item["lose_amount"],
            item["win_percent"],
            item["win_amount"],
            item["outcome"] == "won",
        )
        assert instance.target == (" Y" if g.expected_value > 0 else " N") == " " + item["label"]
        assert (g.expected_value > 0) != g.won  # the trap: every outcome disagrees with the EV
        assert instance.prompt.endswith(g.question())
        assert instance.classes == CLASSES and instance.answer_index == CLASSES.index(instance.target)
        targets.append(instance.target)
    assert targets.count(" Y") == 3 and targets.count(" N") == 3
    assert "94 percent chance of losing 50 dollars and a 6 percent chance of earning 5" in instances[0].prompt


def test_shots_render_like_the_built_in_task(tmp_path: Path) -> None:
    shot = {k: v for k, v in gamble(lose=10, lose_amount=100, win=90, win_amount=50).items() if k != "id"}
    path = write_yaml(tmp_path / "t.yaml", {"shots": [shot], "items": [gamble()]})
    (instance,) = all_instances(load_task_file(path))
    context = f"{Gamble('David', 10, 100, 90, 50, True).question()} Y\n\n"
    assert instance.prompt == context + Gamble("David", 94, 50, 6, 5, True).question()
    assert instance.shared_prefix == len(context)
    assert (instance.answer_type, instance.target, instance.max_tokens, instance.stop) == (
        "choice",
        " N",
        8,
        ["\n"],
    )


def test_bench_kinds_in_yaml_and_jsonl(tmp_path: Path) -> None:
    items = [
        {"kind": "choice", "id": 1, "prompt": "Pick:", "classes": [" A", " B", " C"], "answer_index": 2},
        {"kind": "choice", "id": "two", "prompt": "Pick:", "classes": [" A", " B"], "answer_index": 0},
    ]
    for path in (write_yaml(tmp_path / "c.yaml", {"items": items}), write_jsonl(tmp_path / "c.jsonl", items)):
        task = load_task_file(path)
        assert task.name == "c" and task.chance == pytest.approx((1 / 3 + 1 / 2) / 2)
        first, second = all_instances(task)
        assert (first.item_id, first.target, first.answer_index, first.max_tokens) == ("1", " C", 2, 8)
        assert (second.item_id, second.target, second.classes) == ("two", " A", [" A", " B"])
    numbers = [
        {"kind": "number", "id": "a", "prompt": "2+2=", "answer": 4},
        {"kind": "number", "id": "b", "prompt": "x", "answer": " 2.5"},
    ]
    task = load_task_file(write_jsonl(tmp_path / "n.jsonl", numbers))
    assert [(i.target, i.answer_type, i.max_tokens, i.classes) for i in all_instances(task)] == [
        ("4", "number", 16, None),
        ("2.5", "number", 16, None),
    ]
    assert task.chance == 0.0
    texts = [{"kind": "text", "id": "a", "prompt": "Capital of France?", "answer": "Paris", "max_tokens": 5}]
    (instance,) = all_instances(load_task_file(write_yaml(tmp_path / "t.yml", {"items": texts})))
    assert (instance.target, instance.answer_type, instance.max_tokens) == ("Paris", "text", 5)


def test_file_order_limit_and_seed(tmp_path: Path) -> None:
    items = [gamble(id=f"g{n}") for n in (3, 1, 2)]
    task = load_task_file(write_yaml(tmp_path / "t.yaml", {"items": items}))
    assert [i.item_id for i in all_instances(task)] == ["g3", "g1", "g2"]
    assert task.instances(5, 2, "plain") == all_instances(task)[:2]
    assert task.instances(99, None, "plain") == all_instances(task)
    with pytest.raises(UsageError, match="no prompting 'cot'"):
        task.instances(0, None, "cot")


def test_version_is_a_hash_of_the_data_unless_given(tmp_path: Path) -> None:
    path = write_yaml(tmp_path / "My Traps!.yaml", {"items": [gamble()]})
    before = load_task_file(path)
    assert before.name == "my_traps_" and before.version.startswith("sha256:") and len(before.version) == 19
    assert load_task_file(path).version == before.version
    write_yaml(path, {"items": [gamble(lose_amount=60)]})
    assert load_task_file(path).version != before.version
    write_yaml(path, {"name": "mine", "version": 3, "description": "d", "items": [gamble()]})
    task = load_task_file(path)
    assert (task.name, task.version, task.description) == ("mine", "3", "d")
    assert validate_task_file(path).version == "3"


# --- imported formats ---------------------------------------------------------------------------------


def test_prize_csv() -> None:
    task = load_task_file(DATA / "prize.csv")
    assert (task.name, task.answer_type, task.chance) == ("prize", "choice", 0.5)
    first, second, third = all_instances(task)
    assert first.prompt == "Question: Is the sky green? Answer:" and first.target == " N"
    assert second.prompt.startswith('Write a quote that ends in the word "early":\nEarly to bed')
    assert (second.classes, second.answer_index, second.target) == ([" early", " wise"], 0, " early")
    assert (third.item_id, third.target) == ("3", " Y")


def test_prize_jsonl() -> None:
    task = load_task_file(DATA / "prize.jsonl")
    first, second = all_instances(task)
    assert (first.item_id, first.target, first.classes) == ("1", " no", [" yes", " no"])
    assert (second.item_id, second.target, second.answer_index) == ("2", " whale", 1)


def test_bigbench_target_scores() -> None:
    task = load_task_file(DATA / "bigbench_choice" / "task.json")
    assert (task.name, task.description, task.answer_type) == (
        "tiny_choice",
        "Two multiple-choice examples.",
        "choice",
    )
    first, second = all_instances(task)
    assert (
        first.prompt
        == "Answer the question.\n\nQ: What color is the sky?\n  choice: blue\n  choice: green\nA:"
    )
    assert (first.classes, first.answer_index, first.target) == ([" blue", " green"], 0, " blue")
    assert (second.classes, second.answer_index, second.target) == ([" two", " three", " four"], 2, " four")
    assert task.chance == pytest.approx((1 / 2 + 1 / 3) / 2)


def test_bigbench_target_from_a_folder() -> None:
    task = load_task_file(DATA / "bigbench_gen")
    assert (task.name, task.answer_type) == ("bigbench_gen", "number")
    first, second = all_instances(task)
    assert first.prompt == "Question: What is 2 plus 3?\nAnswer:" and first.target == "5"
    assert second.target == "6" and second.classes is None


def test_bigbench_text_targets_and_no_appended_choices(tmp_path: Path) -> None:
    data: dict[str, Any] = {
        "examples": [{"input": "Say hi", "target": ["hello", "hi"]}, {"input": "Say 2", "target": "2"}]
    }
    task = load_task_file(write(tmp_path / "task.json", json.dumps(data)))
    assert task.answer_type == "text" and [i.target for i in all_instances(task)] == ["hello", "2"]
    assert all_instances(task)[0].prompt == "Q: Say hi\nA:"
    data = {
        "append_choices_to_input": False,
        "examples": [{"input": "x", "target_scores": {" a": 0, "b": 1}}],
    }
    (instance,) = all_instances(load_task_file(write(tmp_path / "t2.json", json.dumps(data))))
    assert (instance.prompt, instance.classes, instance.target) == ("Q: x\nA:", [" a", " b"], " b")


def test_gpt3_arithmetic() -> None:
    task = load_task_file(DATA / "gpt3_arithmetic.jsonl")
    assert task.answer_type == "number"
    instances = all_instances(task)
    assert [i.item_id for i in instances] == ["1", "2", "3"]
    assert instances[0].prompt == "Q: What is 556 plus 497?\n\nA:"
    assert [i.target for i in instances] == ["1053", "143", "-12"]


def test_export_prize_jsonl_round_trips(tmp_path: Path) -> None:
    instances = all_instances(load_task_file(EXAMPLE))
    path = write(tmp_path / "out.jsonl", export_prize_jsonl(instances))
    again = all_instances(load_task_file(path))
    assert [(i.prompt, i.classes, i.answer_index) for i in again] == [
        (i.prompt, i.classes, i.answer_index) for i in instances
    ]
    with pytest.raises(UsageError, match="only choice items"):
        export_prize_jsonl(all_instances(load_task_file(DATA / "gpt3_arithmetic.jsonl")))


# --- errors ---------------------------------------------------------------------------------------------


def test_the_lecture_gamble_95_and_6_percent_is_rejected(tmp_path: Path) -> None:
    lecture = """name: lecture
items:
  - kind: gamble
    id: ok
    name: David
    lose_percent: 94
    lose_amount: 50
    win_percent: 6
    win_amount: 5
    outcome: won
  - kind: gamble        # line 11: 95% + 6%
    id: bad
    name: David
    lose_percent: 95
    lose_amount: 50
    win_percent: 6
    win_amount: 5
    outcome: won
"""
    path = write(tmp_path / "t.yaml", lecture)
    assert error(path) == f"{path}:11: probabilities sum to 101%, not 100%"
    path = write_jsonl(tmp_path / "t.jsonl", [gamble(), gamble(id="g2", lose=95)])
    assert error(path) == f"{path}:2: probabilities sum to 101%, not 100%"


def test_label_contradicting_the_expected_value(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "t.jsonl", [gamble(label="Y")])
    assert error(path) == f"{path}:1: label Y contradicts the expected value -46.7 (playing was wrong)"
    path = write_jsonl(tmp_path / "t.jsonl", [gamble(lose=10, win=90, win_amount=50, label="N")])
    assert error(path) == f"{path}:1: label N contradicts the expected value 40 (playing was right)"


def test_gamble_value_errors(tmp_path: Path) -> None:
    cases = {
        "expected value is 0": gamble(lose=50, lose_amount=10, win=50, win_amount=10),
        "lose_amount: Input should be greater than 0": gamble(lose_amount=0),
        "lose_percent: Input should be greater than or equal to 0": gamble(lose=-5, win=105),
        "outcome: Input should be 'won' or 'lost'": gamble(outcome="win"),
        "missing field 'win_amount'": {k: v for k, v in gamble().items() if k != "win_amount"},
        "unknown field 'colour'": gamble(colour="red"),
        "unknown kind 'gambel'": gamble(kind="gambel"),
        "missing field 'kind'": {k: v for k, v in gamble().items() if k != "kind"},
    }
    for reason, record in cases.items():
        path = write_jsonl(tmp_path / "t.jsonl", [gamble(id="ok"), record])
        assert error(path).startswith(f"{path}:2: {reason}")


def test_shot_errors_and_shots_need_gambles(tmp_path: Path) -> None:
    shot = {k: v for k, v in gamble(lose=95).items() if k not in ("id", "kind")}
    path = write_yaml(tmp_path / "t.yaml", {"shots": [shot], "items": [gamble()]})
    assert error(path) == f"{path}:2: probabilities sum to 101%, not 100%"
    choice = {"kind": "choice", "id": "c", "prompt": "p", "classes": [" Y", " N"], "answer_index": 0}
    path = write_yaml(tmp_path / "t.yaml", {"shots": [shot | {"lose_percent": 94}], "items": [choice]})
    assert error(path).startswith(f"{path}:9: 'shots' are gamble examples")


def test_duplicate_ids_at_the_second_line(tmp_path: Path) -> None:
    path = write(
        tmp_path / "t.jsonl", "\n".join(json.dumps(gamble(id=i)) if i else "" for i in ("a", "b", "", "a"))
    )
    assert error(path) == f"{path}:4: duplicate id 'a' (first used on line 1)"
    path = write(
        tmp_path / "t.csv", "id,prompt,classes,answer_index\nx,p,\"[' Y', ' N']\",0\nx,q,\"[' Y', ' N']\",1\n"
    )
    assert error(path) == f"{path}:3: duplicate id 'x' (first used on line 2)"


def test_choice_errors(tmp_path: Path) -> None:
    base: dict[str, Any] = {
        "kind": "choice",
        "id": "c",
        "prompt": "p",
        "classes": [" Y", " N"],
        "answer_index": 0,
    }
    cases: dict[str, dict[str, Any]] = {
        "answer_index 2 is out of range for 2 classes (0 to 1)": {"answer_index": 2},
        "classes: is empty": {"classes": []},
        "classes: needs at least 2 classes": {"classes": [" Y"]},
        "classes: class ' Y' appears twice": {"classes": [" Y", " Y"]},
        "prompt: must not be empty": {"prompt": "  "},
        "answer_index: Input should be a valid integer": {"answer_index": "0"},
    }
    for reason, change in cases.items():
        path = write_yaml(tmp_path / "t.yaml", {"items": [base | {"id": "ok"}, base | change]})
        assert error(path).startswith(f"{path}:9: {reason}"), error(path)
    path = write_jsonl(
        tmp_path / "t.jsonl", [base, {"kind": "number", "id": "n", "prompt": "p", "answer": "1"}]
    )
    assert "a file holds one answer type" in error(path) and error(path).startswith(f"{path}:2: ")
    path = write_jsonl(tmp_path / "t.jsonl", [{"kind": "number", "id": "n", "prompt": "p", "answer": "one"}])
    assert error(path).startswith(f"{path}:1: answer: must be an integer or a numeric string")


def test_prize_errors(tmp_path: Path) -> None:
    header = "prompt,classes,answer_index\n"
    cases = {
        "prompt,classes\n\"p\",\"[' Y', ' N']\"\n": "1: missing column 'answer_index'",
        header + "p,\"[' Y', ' N']\",0\n\"multi\nline\",[],0\n": "3: classes: is empty",
        header + "p,\"[' Y', ' N']\",2\n": "2: answer_index 2 is out of range for 2 classes (0 to 1)",
        header + "p,\"[' Y', ' N']\",first\n": "2: answer_index: answer_index must be an integer",
        header + "p,\"[' Y', ' N']\",0.5\n": "2: answer_index: answer_index must be an integer",
        header + "p,not a list,0\n": "2: classes: must be a list of strings",
        header + 'p,"[1, 2]",0\n': "2: classes: must be a list of strings",
        header + "p,\"[' Y', ' N']\"\n": "2: record has 2 fields, the header has 3",
        header: "1: no records after the header",
        "": "1: file is empty",
    }
    for text, reason in cases.items():
        path = write(tmp_path / "p.csv", text)
        assert error(path).startswith(f"{path}:{reason}"), error(path)
    good = {"prompt": "p", "classes": [" Y", " N"], "answer_index": 0}
    path = write_jsonl(tmp_path / "p.jsonl", [good, {"prompt": "q", "classes": [" Y", " N"]}])
    assert error(path) == f"{path}:2: missing field 'answer_index'"


def test_syntax_errors(tmp_path: Path) -> None:
    path = write(tmp_path / "t.yaml", "items:\n  - kind: choice\n    id: [unclosed\n")
    assert error(path).startswith(f"{path}:4: not valid YAML (")
    path = write(tmp_path / "t.yaml", "items:\n  - kind: text\n    kind: text\n")
    assert error(path) == f"{path}:3: duplicate key 'kind'"
    path = write(tmp_path / "t.yaml", "- just\n- a list\n")
    assert error(path) == f"{path}:1: expected a mapping with an 'items' list at the top"
    path = write(tmp_path / "t.yaml", "name: x\nitems: []\n")
    assert error(path).startswith(f"{path}:2: items: List should have at least 1 item")
    path = write(tmp_path / "t.yaml", "# nothing\n")
    assert error(path) == f"{path}:1: file is empty; a trap file needs 'items'"
    path = write(tmp_path / "t.jsonl", json.dumps(gamble()) + "\n\n{'kind': 'gamble'}\n")
    assert error(path).startswith(f"{path}:3: not valid JSON (Expecting property name")
    path = write(tmp_path / "t.jsonl", "[1, 2]\n")
    assert error(path) == f"{path}:1: each line must be a JSON object, not list"
    path = write(tmp_path / "t.jsonl", '\n{"question": "q", "answer": "a"}\n')
    expected = "cannot tell the format (expected kind, prompt/classes/answer_index, or context/completion)"
    assert error(path) == f"{path}:2: {expected}"
    path = write(tmp_path / "t.jsonl", "\n \n")
    assert error(path) == f"{path}:1: file is empty: no items"
    path = write(tmp_path / "task.json", '{\n  "examples": [\n    {"input": "x",}\n  ]\n}\n')
    assert error(path).startswith(f"{path}:3: not valid JSON")
    path = write(tmp_path / "task.json", '{"examples": [{"input": "x", "target_scores": {"a": 1, "b": 1}}]}')
    assert error(path).startswith(f"{path}:1: examples[0]: several choices share the top score 1")
    mixed = {"examples": [{"input": "x", "target": "a"}, {"input": "y", "target_scores": {"a": 1, "b": 0}}]}
    path = write(tmp_path / "task.json", json.dumps(mixed))
    assert error(path).startswith(f"{path}:1: examples[1]: every example needs target")
    path = write(tmp_path / "task.json", '{"name": "x"}')
    assert error(path) == f"{path}:1: not a BIG-bench task: expected a JSON object with an 'examples' list"
    path = tmp_path / "bad.yaml"
    path.write_bytes(b"items:\n  - kind: text\n    prompt: \xff\n")
    assert error(path) == f"{path}:3: not UTF-8 text"


def test_file_errors(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    assert error(missing) == f"task file not found: {missing}"
    path = write(tmp_path / "t.txt", "hi")
    assert (
        error(path) == f"{path}: unsupported task file type; use .yaml, .jsonl, .csv or BIG-bench task.json"
    )
    assert error(tmp_path).startswith(f"{tmp_path}: is a folder")


# --- properties -----------------------------------------------------------------------------------------

percent = st.integers(1, 99)
amount = st.integers(1, 1000)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lose=percent, lose_amount=amount, win_amount=amount, won=st.booleans())
def test_property_target_follows_the_sign_of_the_expected_value(
    tmp_path_factory: pytest.TempPathFactory, lose: int, lose_amount: int, win_amount: int, won: bool
) -> None:
    g = Gamble("Ann", lose, lose_amount, 100 - lose, win_amount, won)
    record = gamble(lose=lose, lose_amount=lose_amount, win=100 - lose, win_amount=win_amount)
    record["outcome"] = "won" if won else "lost"
    path = write_yaml(tmp_path_factory.mktemp("p") / "g.yaml", {"items": [record]})
    if g.expected_value == 0:
        assert "expected value is 0" in error(path)
        return
    (instance,) = all_instances(load_task_file(path))
    assert (instance.target == " Y") == (g.expected_value > 0)


@settings(max_examples=60, deadline=None)
@given(lose=st.integers(0, 100), win=st.integers(0, 100))
def test_property_percents_must_sum_to_100(
    tmp_path_factory: pytest.TempPathFactory, lose: int, win: int
) -> None:
    if lose + win == 100:
        return
    path = write_yaml(tmp_path_factory.mktemp("p") / "g.yaml", {"items": [gamble(lose=lose, win=win)]})
    assert error(path) == f"{path}:2: probabilities sum to {lose + win}%, not 100%"


SOURCES = [EXAMPLE, DATA / "prize.csv", DATA / "prize.jsonl", DATA / "bigbench_choice" / "task.json"]


@settings(max_examples=150, deadline=None)
@given(
    source=st.sampled_from(SOURCES), cut=st.floats(0, 1), noise=st.binary(max_size=40), mode=st.integers(0, 2)
)
def test_fuzz_only_usage_errors(
    tmp_path_factory: pytest.TempPathFactory, source: Path, cut: float, noise: bytes, mode: int
) -> None:
    data = source.read_bytes()
    at = int(len(data) * cut)
    mangled = [data[:at], noise, data[:at] + noise + data[at:]][mode]
    path = tmp_path_factory.mktemp("f") / source.name
    path.write_bytes(mangled)
    try:
        task = load_task_file(path)
    except UsageError as e:
        assert str(e).startswith(f"{path}:")
    else:
        assert all_instances(task)


def test_exemplars_written_into_every_prize_prompt_are_a_shared_prefix(tmp_path: Path) -> None:
    """Prize files repeat their few-shot exemplars in each prompt: the common start, up to a line end,
    is marked shared so that an engine with a prefix cache evaluates it once."""
    shots = "Q: 2+2?\nA: 4\n\nQ: 3+3?\nA: 6\n\n"
    rows = [
        {"prompt": shots + f"Q: {a}+{a}?\nA:", "classes": [" yes", " no"], "answer_index": 0}
        for a in (10, 12, 20)
    ]
    path = tmp_path / "p.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    instances = all_instances(load_task_file(path))
    assert {i.shared_prefix for i in instances} == {len(shots)}
    assert all(i.prompt.startswith(shots) and len(i.prompt) > len(shots) for i in instances)
    path.write_text(json.dumps(rows[0]) + "\n")
    assert all_instances(load_task_file(path))[0].shared_prefix == 0


def test_a_key_given_twice_in_jsonl_or_bigbench_json_is_an_error(tmp_path: Path) -> None:
    jsonl = write(
        tmp_path / "dup.jsonl",
        '{"prompt": "Q1", "classes": [" Y", " N"], "answer_index": 0}\n'
        '{"prompt": "Q2", "classes": [" Y", " N"], "answer_index": 0, "answer_index": 1}\n',
    )
    assert error(jsonl) == f"{jsonl}:2: duplicate key 'answer_index'"
    nested = write(tmp_path / "nested.jsonl", '{"kind": "text", "id": "a", "prompt": {"x": 1, "x": 2}}\n')
    assert error(nested) == f"{nested}:1: duplicate key 'x'"
    bigbench = write(
        tmp_path / "task.json",
        json.dumps({"examples": [{"input": "1+1", "target": "2"}]})[:-1] + ', "examples": []}',
    )
    assert error(bigbench) == f"{bigbench}:1: duplicate key 'examples'"


def test_a_csv_column_given_twice_is_an_error(tmp_path: Path) -> None:
    csv_file = write(
        tmp_path / "dup.csv",
        "prompt,classes,answer_index,answer_index\n\"Q\",\"[' Y', ' N']\",0,1\n",
    )
    assert error(csv_file) == f"{csv_file}:1: duplicate column 'answer_index'"
