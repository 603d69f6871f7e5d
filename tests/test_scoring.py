"""Answer extraction: the final answer is read transparently, or the item is an extraction failure."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from benchmark.schemas import Instance
from benchmark.scoring import extract_choice, extract_number, score_generation, score_logprobs


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (" 1053", "1053"),
        (" 1,053\n", "1053"),
        ("Tom has 3 * 4 = 12 apples. 12 - 5 = 7. The answer is 7.", "7"),
        ("The answer is 12. Then 40 more", "12"),
        ("ANSWER: -15", "-15"),
        ("answer: $ 30", "30"),
        ("so 2.50 dollars", "2.5"),
        ("first 3 then 9", "9"),
        (" I don't know.", None),
        ("", None),
    ],
)
def test_extract_number(text: str, expected: str | None) -> None:
    assert extract_number(text) == expected


@given(st.integers(min_value=-(10**9), max_value=10**9), st.text(alphabet="abc .,:\n", max_size=20))
def test_the_answer_is_wins_over_later_numbers_free_text(n: int, noise: str) -> None:
    assert extract_number(f"{noise} The answer is {n}.{noise}") == str(n)


@pytest.mark.parametrize(
    ("text", "expected"),
    [(" Y", " Y"), ("N\n", " N"), (" Y. Because", " Y"), (" Yes", None), ("maybe", None), ("", None)],
)
def test_extract_choice(text: str, expected: str | None) -> None:
    assert extract_choice(text, [" Y", " N"]) == expected


def _instance(**kw) -> Instance:
    base = dict(task="t", prompting="plain", item_id="0", prompt="p", max_tokens=4)
    return Instance(**{**base, **kw})


def test_number_scoring_and_extraction_failure() -> None:
    item = _instance(answer_type="number", target="42")
    assert score_generation(item, " 42").correct
    assert not score_generation(item, " 41").correct
    failed = score_generation(item, " no idea")
    assert failed.extraction_failed and not failed.correct


def test_logprob_scoring_is_argmax() -> None:
    item = _instance(answer_type="choice", target=" N", classes=[" Y", " N"], answer_index=1)
    assert score_logprobs(item, [-2.0, -0.5]).correct
    assert score_logprobs(item, [-0.1, -0.5]).extracted == " Y"
    with pytest.raises(ValueError):
        score_logprobs(item, [math.nan, -1.0])
