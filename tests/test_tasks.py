"""Tasks: seeded, paired across promptings, labels derived from the data."""

from __future__ import annotations

import re

import pytest

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
