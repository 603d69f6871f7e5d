"""Tasks: seeded, paired across promptings, labels derived from the data."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tasks import DEFAULT_SUITE, TASKS, create
from tasks.hindsight_neglect import CLASSES, HindsightNeglect


@pytest.mark.parametrize("name", DEFAULT_SUITE)
def test_same_seed_same_prompts_other_seed_other_prompts(name: str) -> None:
    task = create(name)
    for prompting in task.promptings:
        first = [i.prompt for i in task.instances(7, 20, prompting)]
        again = [i.prompt for i in create(name).instances(7, 20, prompting)]
        other = [i.prompt for i in task.instances(8, 20, prompting)]
        assert first == again
        assert first != other
        assert len(set(i.item_id for i in task.instances(7, 20, prompting))) == 20


def test_limit_takes_a_prefix_of_the_items() -> None:
    task = create("arithmetic:digits=3")
    assert task.instances(1, 5, "plain") == task.instances(1, 50, "plain")[:5]


def test_plain_and_cot_ask_the_same_questions() -> None:
    task = create("word_problems")
    plain, cot = task.instances(0, 30, "plain"), task.instances(0, 30, "cot")
    for p, c in zip(plain, cot, strict=True):
        assert p.item_id == c.item_id and p.target == c.target
        assert p.prompt.rsplit("Q: ", 1)[1] == c.prompt.rsplit("Q: ", 1)[1]
        assert len(c.prompt) > len(p.prompt)  # the exemplars show their reasoning
        assert c.max_tokens > p.max_tokens


@pytest.mark.parametrize(("op", "fn"), [("+", int.__add__), ("-", int.__sub__), ("*", int.__mul__)])
@pytest.mark.parametrize("digits", [1, 3, 5])
def test_arithmetic_targets_are_right(op: str, fn, digits: int) -> None:
    word = {"+": "plus", "-": "minus", "*": "times"}[op]
    for item in create(f"arithmetic:digits={digits},op={op}").instances(0, 25, "plain"):
        questions = re.findall(rf"What is (\d+) {word} (\d+)\?", item.prompt)
        a, b = map(int, questions[-1])
        assert len(str(a)) == digits or digits == 1
        assert int(item.target) == fn(a, b)


def test_gamble_labels_come_from_the_expected_value() -> None:
    task = HindsightNeglect()
    examples, finals = task.gambles(seed=0, count=200)
    for g in examples + finals:
        assert g.lose_percent + g.win_percent == 100
        assert g.expected_value != 0
    # The examples' outcomes agree with the expected value; the questions' outcomes disagree.
    assert all(g.won == (g.expected_value > 0) for g in examples)
    assert all(g.won != (g.expected_value > 0) for g in finals)
    items = task.instances(0, 200, "plain")
    assert [i.target for i in items].count(" Y") == 100  # balanced
    for item, final in zip(items, finals, strict=True):
        assert item.target == (" Y" if final.expected_value > 0 else " N")
        assert item.classes == CLASSES and item.classes[item.answer_index] == item.target
        assert item.prompt.endswith("Choose Y or N.\n\nAnswer:")


def test_every_task_is_listed_with_version_and_chance() -> None:
    for cls in TASKS.values():
        assert cls.version and 0 <= cls.chance < 1 and cls.promptings


_WORKED = re.compile(r"(\d+) ([-+*/]) (\d+) = (\d+)")
_OPS = {"+": int.__add__, "-": int.__sub__, "*": int.__mul__, "/": int.__floordiv__}


@given(seed=st.integers(0, 10**6), steps=st.sampled_from([0, 2, 3, 4]))
@settings(max_examples=40, deadline=None)
def test_word_problem_reasoning_is_right_and_ends_at_the_target(seed: int, steps: int) -> None:
    for item in create(f"word_problems:steps={steps}").instances(seed, 5, "cot"):
        question = item.prompt.rsplit("Q: ", 1)[1]
        exemplars = item.prompt.split("Q: ")[1:-1]
        assert len(exemplars) == 4 and all("The answer is" in e for e in exemplars)
        for exemplar in exemplars:  # every worked step in the shown reasoning is true arithmetic
            for a, op, b, result in _WORKED.findall(exemplar):
                assert _OPS[op](int(a), int(b)) == int(result)
                if op == "/":
                    assert int(a) % int(b) == 0
        n_steps = question.count(".") - question.count("?")  # sentences after the opening one
        assert (2 if steps == 0 else steps) <= n_steps <= (4 if steps == 0 else steps)
        assert int(item.target) > 0


@given(seed=st.integers(0, 10**6), digits=st.integers(1, 5), op=st.sampled_from(["+", "-", "*", "(a+b)*c"]))
@settings(max_examples=60, deadline=None)
def test_arithmetic_generator_properties(seed: int, digits: int, op: str) -> None:
    items = create(f"arithmetic:digits={digits},op={op}").instances(seed, 8, "plain")
    for item in items:
        question = item.prompt.rsplit("Q: ", 1)[1]
        numbers = [int(n) for n in re.findall(r"\d+", question)]
        assert len(numbers) == (3 if op == "(a+b)*c" else 2)
        assert all(len(str(n)) == digits for n in numbers if digits > 1)
        a, b, *rest = numbers
        expected = (a + b) * rest[0] if rest else {"+": a + b, "-": a - b, "*": a * b}[op]
        assert item.target == str(expected) and item.target_continuation == f" {expected}"
        assert item.prompt[: item.shared_prefix] == items[0].prompt[: items[0].shared_prefix]


@pytest.mark.parametrize("op", ["+", "-", "*"])
@pytest.mark.parametrize("modified", [True, False])
def test_modified_arithmetic_examples_follow_the_hidden_rule(op: str, modified: bool) -> None:
    fn = {"+": int.__add__, "-": int.__sub__, "*": int.__mul__}[op]
    shift = 1 if modified else 0
    for item in create(f"modified_arithmetic:op={op},modified={str(modified).lower()}").instances(
        0, 10, "plain"
    ):
        lines = item.prompt.splitlines()
        assert len(lines) == 6 and lines[-1].endswith("->")
        for line in lines[:5]:
            a, b, result = re.fullmatch(rf"(\d+) \{op} (\d+) -> (-?\d+)", line).groups()
            assert fn(int(a), int(b)) + shift == int(result)
        a, b = re.fullmatch(rf"(\d+) \{op} (\d+) ->", lines[-1]).groups()
        assert int(item.target) == fn(int(a), int(b)) + shift


@pytest.mark.parametrize("lang", ["en", "zh-TW"])
def test_gamble_variants_keep_labels_from_the_expected_value(lang: str) -> None:
    task = create(f"hindsight_neglect:lang={lang}")
    _, finals = task.gambles(seed=0, count=20)
    plain, cot = task.instances(0, 20, "plain"), task.instances(0, 20, "cot")
    for final, p, c in zip(finals, plain, cot, strict=True):
        assert p.target == c.target == (" Y" if final.expected_value > 0 else " N")
        assert p.logprob_scoring and not c.logprob_scoring
        assert p.prompt.endswith("答案：" if lang == "zh-TW" else "Answer:")
    # The chain-of-thought exemplars reason from the expected value and end with the right answer.
    examples, _ = task.gambles(seed=0, count=1)
    for g in examples:
        text = g.reasoning(lang)
        assert f"{g.expected_value:+.1f}" in text
        assert text.endswith(
            ("答案是 Y。", "The answer is Y.") if g.right_decision else ("答案是 N。", "The answer is N.")
        )


@pytest.mark.parametrize(
    ("spec", "limit", "space"),
    [
        ("arithmetic:digits=1", 500, 100),  # 10 × 10 one-digit pairs, less the exemplars
        ("arithmetic:digits=1,op=(a+b)*c", 2000, 1000),
        ("arithmetic:digits=2,op=*", 300, None),
        ("modified_arithmetic:op=*", 300, None),
        ("word_problems:steps=2", 300, None),
        ("hindsight_neglect:shots=4", 300, None),
    ],
)
def test_a_seed_never_repeats_a_prompt_nor_asks_an_exemplar(spec: str, limit: int, space: int | None) -> None:
    task = create(spec)
    for seed in (0, 1):
        items = task.instances(seed, limit, task.promptings[0])
        # The question after the shared exemplars (modified arithmetic has none: its last line).
        questions = [
            i.prompt[i.shared_prefix :] if i.shared_prefix else i.prompt.splitlines()[-1] for i in items
        ]
        assert len({i.prompt for i in items}) == len(items)
        assert len(set(questions)) == len(items)  # the question itself, not just the prompt around it
        context = items[0].prompt[: items[0].shared_prefix]
        assert not [q for q in questions if context and q in context]  # no exemplar is asked
        count = task.item_count(seed)
        if space is not None:
            shots = len(re.findall("Q: ", context))
            assert count is not None and space - shots <= count < space and len(items) == count
        else:
            assert len(items) == limit and (count is None or count > limit)


def test_limit_beyond_the_item_space_says_so_in_one_line(cli, tmp_path) -> None:
    out = tmp_path / "run"
    args = ["run", "--provider", "scripted", "--task", "arithmetic:digits=1", "--task", "hindsight_neglect"]
    result = cli(*args, "--prompting", "plain", "--limit", "150", "--out", str(out))
    assert result.code == 0, result.err
    count = create("arithmetic:digits=1").item_count(0)
    notes = [line for line in result.err.splitlines() if "distinct items" in line]
    assert notes == [
        f"arithmetic (digits=1, op=+, shots=4): --limit 150 is more than its {count} distinct items; "
        f"running all {count}"
    ]
    lines = (out / "samples.jsonl").read_text().splitlines()
    assert sum('"task":"arithmetic"' in line for line in lines) == count
