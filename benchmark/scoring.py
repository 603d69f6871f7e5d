"""Answer extraction and scoring. Extraction is transparent: a response with no readable answer is
an extraction failure, recorded as such, never quietly treated as a wrong number."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

from benchmark.schemas import Instance

_NUMBER = r"-?\d[\d,]*(?:\.\d+)?"
_EXPLICIT = re.compile(rf"(?:the answer is|answer:)\s*\$?\s*({_NUMBER})", re.IGNORECASE)
_ANY_NUMBER = re.compile(_NUMBER)


@dataclass(frozen=True)
class Score:
    extracted: str | None
    correct: bool
    truncated: bool = False
    """No answer because the chain of thought was cut off by the token limit before stating one."""

    @property
    def extraction_failed(self) -> bool:
        return self.extracted is None


def _normalize_number(text: str) -> str:
    text = text.replace(",", "")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def extract_number(response: str) -> str | None:
    """The final answer: the last "The answer is N" / "ANSWER: N", else the last number, else None."""
    explicit = _EXPLICIT.findall(response)
    if explicit:
        return _normalize_number(explicit[-1])
    numbers = _ANY_NUMBER.findall(response)
    return _normalize_number(numbers[-1]) if numbers else None


_EXPLICIT_WORD = re.compile(r"(?:the answer is|answer:|答案[:：是]?)\s*[\"'“(]?(\w+)", re.IGNORECASE)


def extract_choice(response: str, classes: Sequence[str]) -> str | None:
    """The class named by the last "The answer is X" / "Answer: X", else the class the response starts
    with (ignoring leading spaces), else None."""
    labels = {cls.strip(): cls for cls in classes if cls.strip()}
    for word in reversed(_EXPLICIT_WORD.findall(response)):
        if word in labels:
            return labels[word]
    stripped = response.lstrip()
    # Longest class first, so that " No" is not read as " N" when both exist.
    for cls in sorted(classes, key=lambda c: len(c.strip()), reverse=True):
        label = cls.strip()
        if label and stripped.startswith(label):
            rest = stripped[len(label) :]
            if not rest or not rest[0].isalnum():
                return cls
    return None


def extract_text(response: str) -> str | None:
    """The first non-empty line, stripped; None for an empty response."""
    for line in response.splitlines():
        if line.strip():
            return line.strip()
    return None


def states_answer(instance: Instance, response: str) -> bool:
    """Whether a response states its answer: "The answer is N" / "ANSWER: N" for a number (a number in
    unfinished reasoning is not an answer); a class named that way or leading the text for a choice."""
    if instance.answer_type == "number":
        return _EXPLICIT.search(response) is not None
    if instance.answer_type == "choice":
        return extract_choice(response, instance.classes or []) is not None
    return extract_text(response) is not None


def score_generation(instance: Instance, response: str, cut_off: bool = False) -> Score:
    """Score a generated response. `cut_off`: generation stopped at max_tokens; a chain of thought
    (`instance.stated_answer`) cut off before it states an answer is an extraction failure."""
    if cut_off and instance.stated_answer and not states_answer(instance, response):
        return Score(None, False, truncated=True)
    if instance.answer_type == "number":
        extracted = extract_number(response)
        return Score(extracted, extracted is not None and extracted == _normalize_number(instance.target))
    if instance.answer_type == "text":
        extracted = extract_text(response)
        return Score(extracted, extracted == instance.target.strip())
    extracted = extract_choice(response, instance.classes or [])
    return Score(extracted, extracted == instance.target)


def levenshtein(a: str, b: str) -> int:
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, start=1):
        current = [i]
        for j, cb in enumerate(b, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def number_metrics(extracted: str | None, target: str) -> dict[str, float]:
    """Continuous measures of a numeric answer (Schaeffer et al. 2023): the share of the target's
    digits that are right, aligned from the units digit (a missing or extra digit is wrong), and the
    edit distance to the target divided by the longer length (0 identical, 1 nothing shared).
    No answer at all scores 0 and 1."""
    target = _normalize_number(target)
    if extracted is None:
        return {"digit_accuracy": 0.0, "edit_distance": 1.0}
    width = max(len(extracted), len(target))
    right = sum(x == y for x, y in zip(extracted.rjust(width), target.rjust(width), strict=True))
    return {
        "digit_accuracy": right / width,
        "edit_distance": levenshtein(extracted, target) / width,
    }


def score_logprobs(instance: Instance, logprobs: Sequence[float]) -> Score:
    """The prize's rule: the predicted class is the argmax of the class log-probabilities."""
    classes = instance.classes or []
    if len(logprobs) != len(classes) or any(math.isnan(x) for x in logprobs):
        raise ValueError(f"expected {len(classes)} finite log-probs, got {list(logprobs)}")
    best = max(range(len(classes)), key=lambda i: logprobs[i])
    return Score(classes[best], best == instance.answer_index)
