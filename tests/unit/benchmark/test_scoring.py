"""Answer extraction: the final answer is read transparently, or the item is an extraction failure."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from benchmark.schemas import Instance
from benchmark.scoring import extract_choice, extract_number, number_metrics, score_generation, score_logprobs


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


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (" The expected value is -46.7, so playing was wrong. The answer is N.", " N"),
        (" 期望值是負的，所以玩是錯誤的決定。答案是 N。", " N"),
        (" Answer: Y", " Y"),
        (" Y is tempting, but the answer is N.", " N"),
        (" The answer is maybe.", None),
    ],
)
def test_extract_choice_reads_the_final_answer_after_reasoning(text: str, expected: str | None) -> None:
    assert extract_choice(text, [" Y", " N"]) == expected


@pytest.mark.parametrize(
    ("extracted", "target", "digits", "distance"),
    [
        ("1053", "1053", 1.0, 0.0),
        ("1063", "1053", 0.75, 0.25),
        ("53", "1053", 0.5, 0.5),  # aligned from the units digit; missing digits are wrong
        ("10530", "1053", 0.0, 0.2),
        (None, "1053", 0.0, 1.0),
    ],
)
def test_number_metrics(extracted: str | None, target: str, digits: float, distance: float) -> None:
    assert number_metrics(extracted, target) == {"digit_accuracy": digits, "edit_distance": distance}


@given(st.integers(min_value=0, max_value=10**8), st.integers(min_value=0, max_value=10**8))
def test_number_metrics_are_bounded_and_exact_only_when_equal(a: int, b: int) -> None:
    m = number_metrics(str(a), str(b))
    assert 0 <= m["digit_accuracy"] <= 1 and 0 <= m["edit_distance"] <= 1
    assert (m["digit_accuracy"] == 1) == (a == b) == (m["edit_distance"] == 0)


@given(st.lists(st.integers(min_value=-(10**6), max_value=10**6), min_size=1, max_size=6))
def test_without_an_explicit_answer_the_last_number_counts(numbers: list[int]) -> None:
    text = " then ".join(f"{n:,}" for n in numbers)
    assert extract_number(text) == str(numbers[-1])


def _cot(answer_type: str = "number") -> Instance:
    number = answer_type == "number"
    return Instance(
        task="t", prompting="cot", item_id="1", prompt="Q: ?\nA:", answer_type=answer_type,
        target="12" if number else " N", classes=None if number else [" Y", " N"],
        answer_index=None if number else 1, max_tokens=20, stated_answer=True,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("response", "cut_off", "extracted", "truncated"),
    [
        ("5 + 3 = 8. 8 * 2 = 16. 16 - 4", True, None, True),  # cut off mid-reasoning: no answer yet
        ("5 + 3 = 8. 8 * 2 = 16. 16 - 4", False, "4", False),  # stopped by itself: the last number
        ("5 + 7 = 12. The answer is 12. So", True, "12", False),  # stated before the limit
        ("The expected value is negative, so playing", True, None, True),
    ],
)
def test_a_chain_of_thought_cut_off_before_its_answer_is_an_extraction_failure(
    response: str, cut_off: bool, extracted: str | None, truncated: bool
) -> None:
    answer_type = "choice" if "expected" in response else "number"
    score = score_generation(_cot(answer_type), response, cut_off)
    assert (score.extracted, score.truncated) == (extracted, truncated)
    assert score.extraction_failed == (extracted is None) and score.correct == (extracted == "12")
    # Plain prompting has no reasoning to cut off: its answer is read as before.
    plain = _cot().model_copy(update={"stated_answer": False})
    if answer_type == "number":
        assert score_generation(plain, response, cut_off).extracted == extract_number(response)
