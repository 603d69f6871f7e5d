"""Scoring a generated answer: the `Scorer` interface (an item and the model's answer in, a `Score` out:
correct or not, the answer read, and named continuous measures), its built-ins for number, choice and
text answers, and their registry (`SCORERS`: the built-ins in code, others under the entry-point group
`bench.scorers`). A task names its scorer (`Task.scorer`; by default the built-in of its answer type).

Extraction is transparent: a response with no readable answer is an extraction failure, recorded as
such, never quietly treated as a wrong number. Choice items scored by class log-probs are scored here
too (`score_logprobs`), the same for every task."""

from __future__ import annotations

import math
import re
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import ClassVar

from benchmark.errors import BenchError
from benchmark.registry import Registry
from benchmark.schemas import MAX_METRIC, Instance, ScorerInfo

_NUMBER = r"-?\d[\d,]*(?:\.\d+)?"
_EXPLICIT = re.compile(rf"(?:the answer is|answer:)\s*\$?\s*({_NUMBER})", re.IGNORECASE)
_ANY_NUMBER = re.compile(_NUMBER)


@dataclass(frozen=True)
class Score:
    extracted: str | None
    correct: bool
    truncated: bool = False
    """No answer because the chain of thought was cut off by the token limit before stating one."""
    metrics: Mapping[str, float] = field(default_factory=dict)
    """The scorer's continuous measures of this answer, by the names it declares (`Scorer.metrics`)."""

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


class Scorer(ABC):
    """Reads one kind of answer. `score` is the one required method; everything else has a default.

    Subclasses set `name` (what a task's `scorer` names: the entry point's name for another package's
    scorer) and, where `score` returns continuous measures, declare each in `metrics` (name: what it
    measures) and which of them is the continuous counterpart of exact match in `continuous` (the
    measure the report's mirage check reads, Schaeffer et al. 2023). A run records the declaration in
    its manifest (`TaskInfo.scorer`), where reports read it."""

    name: ClassVar[str]
    metrics: ClassVar[Mapping[str, str]] = {}
    """The continuous measures `score` returns, each with a short description of what it measures."""
    continuous: ClassVar[str | None] = None
    """Of `metrics`, the one that is exact match's continuous counterpart (1 for a correct answer,
    partial credit otherwise); None for none."""

    @abstractmethod
    def score(self, instance: Instance, response: str) -> Score:
        """The answer read from `response` to `instance` (the rendered item: its `target`, `classes`,
        ...): whether it is correct, what was read (None: an extraction failure), and the measures
        declared in `metrics`."""

    def states_answer(self, instance: Instance, response: str) -> bool:
        """Whether `response` states its answer, so that a chain of thought cut off by the token
        limit still counts: by default, whether `score` reads one."""
        return self.score(instance, response).extracted is not None

    def no_answer(self, instance: Instance) -> Score:
        """The score of an item with no answer (a chain of thought cut off before stating one): not
        correct, nothing read, and the measures' values for that, if any."""
        return Score(None, False)

    @classmethod
    def info(cls) -> ScorerInfo:
        """The declaration a run records in its manifest."""
        return ScorerInfo(name=cls.name, metrics=dict(cls.metrics), continuous=cls.continuous)


class NumberScorer(Scorer):
    """Exact match of the final number; digit accuracy and normalized edit distance beside it."""

    name = "number"
    metrics: ClassVar[Mapping[str, str]] = {
        "digit_accuracy": "share of the target's digits that are right, aligned from the units digit",
        "edit_distance": "edit distance to the target over the longer length (0 identical)",
    }
    continuous = "digit_accuracy"

    def score(self, instance: Instance, response: str) -> Score:
        extracted = extract_number(response)
        correct = extracted is not None and extracted == _normalize_number(instance.target)
        return Score(extracted, correct, metrics=number_metrics(extracted, instance.target))

    def states_answer(self, instance: Instance, response: str) -> bool:
        """Only "The answer is N" / "ANSWER: N": a number in unfinished reasoning is not an answer."""
        return _EXPLICIT.search(response) is not None

    def no_answer(self, instance: Instance) -> Score:
        return Score(None, False, metrics=number_metrics(None, instance.target))


class ChoiceScorer(Scorer):
    """The class the answer names (`extract_choice`), correct when it is the target."""

    name = "choice"

    def score(self, instance: Instance, response: str) -> Score:
        extracted = extract_choice(response, instance.classes or [])
        return Score(extracted, extracted == instance.target)


class TextScorer(Scorer):
    """Exact match of the first non-empty line, stripped, with the stripped target."""

    name = "text"

    def score(self, instance: Instance, response: str) -> Score:
        extracted = extract_text(response)
        return Score(extracted, extracted == instance.target.strip())


BUILTIN: dict[str, type[Scorer]] = {s.name: s for s in (NumberScorer, ChoiceScorer, TextScorer)}
"""bench's own scorers, one per answer type (`AnswerType`), under the answer type's name."""

SCORERS: Registry[Scorer] = Registry("bench.scorers", "scorer", Scorer, builtin=lambda: BUILTIN)
"""Every scorer by name: the built-ins, then other packages' entry points (group `bench.scorers`)."""


def scorer_named(name: str) -> Scorer:
    """The scorer a task names; an unknown name is a UsageError listing the known ones."""
    if name not in SCORERS:
        raise SCORERS.unknown(name)
    return SCORERS[name]()


def score_with(scorer: Scorer, instance: Instance, response: str, cut_off: bool = False) -> Score:
    """Score a generated response with `scorer`. `cut_off`: generation stopped at max_tokens; a chain
    of thought (`instance.stated_answer`) cut off before it states an answer is an extraction failure.
    Another package's scorer that fails, or returns a measure it does not declare, is a BenchError
    naming it."""
    try:
        if cut_off and instance.stated_answer and not scorer.states_answer(instance, response):
            score = replace(scorer.no_answer(instance), truncated=True)
        else:
            score = scorer.score(instance, response)
    except BenchError:
        raise
    except Exception as exc:  # noqa: BLE001 - another package's code, as one line
        if type(scorer) in BUILTIN.values():
            raise
        reason = next(iter(str(exc).splitlines()), "")
        raise BenchError(
            f"scorer {scorer.name!r} failed on item {instance.item_id!r} of {instance.task}: "
            f"{type(exc).__name__}{': ' + reason if reason else ''}"
        ) from None
    _check_measures(scorer, score)
    return score


def _check_measures(scorer: Scorer, score: Score) -> None:
    """Every measure declared, and a finite number within MAX_METRIC (what a sample can hold)."""
    undeclared = sorted(set(score.metrics) - set(scorer.metrics))
    if undeclared:
        raise BenchError(
            f"scorer {scorer.name!r} returned {', '.join(undeclared)}, which it does not declare: add "
            "each to its class attribute `metrics` with a description"
        )
    for name, value in score.metrics.items():
        if not (isinstance(value, int | float) and math.isfinite(value) and abs(value) <= MAX_METRIC):
            raise BenchError(
                f"scorer {scorer.name!r} returned {name} = {value!r}: a measure is a finite number of "
                f"magnitude at most {MAX_METRIC:g}"
            )


def score_generation(instance: Instance, response: str, cut_off: bool = False) -> Score:
    """Score a generated response with the built-in scorer of the instance's answer type."""
    return score_with(BUILTIN[instance.answer_type](), instance, response, cut_off)
