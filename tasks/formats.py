"""Record models of the task file formats that `tasks.files` loads (the readers are in `tasks.readers`).

Bench's own trap format forbids unknown fields; for the imported
formats (Inverse Scaling Prize, BIG-bench, GPT-3) only the fields bench uses are read and the rest are
ignored, since other tools write them (the prize's `round` and `part` columns, BIG-bench's metadata).
"""

from __future__ import annotations

import ast
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal, NoReturn, Self, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    Field,
    StrictInt,
    ValidationError,
    model_validator,
)

from benchmark.errors import UsageError
from benchmark.prompting import Shot
from benchmark.records import Record, first_problem
from benchmark.schemas import AnswerType
from tasks.gambles import CLASSES, Gamble

DEFAULT_MAX_TOKENS: dict[AnswerType, int] = {"choice": 8, "number": 16, "text": 32}
_INTEGER = re.compile(r"-?\d{1,30}")
_NUMBER = re.compile(r"-?\d{1,30}(?:\.\d{1,30})?")
_PARSE_ERRORS = (ValueError, TypeError, SyntaxError, OverflowError, RecursionError, MemoryError)


@dataclass(frozen=True)
class Item:
    """One item of a task file, before rendering (without the file's shared few-shot context)."""

    id: str
    line: int
    kind: str
    prompt: str
    answer_type: AnswerType
    target: str
    classes: list[str] | None = None
    answer_index: int | None = None
    max_tokens: int | None = None


@dataclass
class Parsed:
    format: str
    items: list[Item]
    name: str | None = None
    version: str | None = None
    description: str | None = None
    shots: tuple[Shot, ...] = ()
    """Few-shot examples before every item's prompt: gamble shots (shown with their answer, or with
    reasoning under chain of thought) and the file's own worked examples (shown only under chain of
    thought). None reasons: the file's chain of thought is zero-shot."""
    instruction: str | None = None
    """The file's own reasoning instruction, after every prompt under chain of thought."""


def fail(path: Path, line: int, reason: str) -> NoReturn:
    raise UsageError(f"{path}:{line}: {reason}")


# --- field types -----------------------------------------------------------------------------------


def _as_id(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValueError("must be a string or an integer")
    return str(value) if isinstance(value, int) else value


def _nonblank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty")
    return value


def _check_classes(classes: list[str]) -> list[str]:
    """At least two classes, none empty, none the same as another once trimmed of spaces, as a
    generated answer is read (`benchmark.scoring.extract_choice`): " Y" and "Y" would be one answer.
    One pass with a set: a file of 100,000 classes is checked in linear time."""
    if not classes:
        raise ValueError("is empty; give at least 2 classes")
    if len(classes) < 2:
        raise ValueError(f"needs at least 2 classes, got {len(classes)}")
    first: dict[str, int] = {}
    for index, cls in enumerate(classes):
        label = cls.strip()
        if not label:
            raise ValueError(f"class {index} is empty")
        if label in first:
            other = classes[first[label]]
            if other == cls:
                raise ValueError(f"class {cls!r} appears twice")
            raise ValueError(
                f"classes {first[label]} and {index} ({other!r} and {cls!r}) differ only in spaces, so a "
                "generated answer cannot tell them apart; make them differ in their text"
            )
        first[label] = index
    return classes


def _parse_classes(value: Any) -> Any:
    """The prize's CSV files write classes as a Python list literal: "[' Y', ' N']"."""
    if not isinstance(value, str):
        return value
    try:
        parsed = ast.literal_eval(value.strip())
    except _PARSE_ERRORS:
        raise ValueError(f"must be a list of strings like [' Y', ' N'], not {value[:60]!r}") from None
    if not isinstance(parsed, list) or not all(isinstance(c, str) for c in parsed):
        raise ValueError(f"must be a list of strings like [' Y', ' N'], not {value[:60]!r}")
    return parsed


def _as_index(value: Any) -> Any:
    if isinstance(value, str) and _INTEGER.fullmatch(value.strip()):
        return int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"answer_index must be an integer, not {str(value)[:40]!r}")
    return value


def _as_number(value: Any) -> Any:
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, str) and _NUMBER.fullmatch(value.strip()):
        return value.strip()
    if isinstance(value, float):
        raise ValueError(f"write a decimal answer as a string in quotes: '{value}'")
    raise ValueError(f"must be an integer or a numeric string like '2.5', not {str(value)[:40]!r}")


def _one_line(value: str) -> str:
    if "\n" in value.strip():
        raise ValueError("must be one line: a text answer is compared with the first line of the response")
    return value.strip()


Id = Annotated[str, BeforeValidator(_as_id), AfterValidator(_nonblank)]
Text = Annotated[str, AfterValidator(_nonblank)]
Classes = Annotated[list[str], BeforeValidator(_parse_classes), AfterValidator(_check_classes)]
Index = Annotated[int, BeforeValidator(_as_index)]
MaxTokens = Annotated[StrictInt, Field(gt=0, le=4096)]
Percent = Annotated[StrictInt, Field(ge=0, le=100)]
MAX_AMOUNT = 10**12
"""A gamble's amounts, in dollars: larger ones are typos, and their expected value would not fit a float."""
Amount = Annotated[StrictInt, Field(gt=0, le=MAX_AMOUNT)]


def _check_index(answer_index: int, classes: list[str]) -> None:
    if not 0 <= answer_index < len(classes):
        raise ValueError(
            f"answer_index {answer_index} is out of range for {len(classes)} classes "
            f"(0 to {len(classes) - 1})"
        )


# --- records -----------------------------------------------------------------------------------------


class UserRecord(Record):
    """A record read from a user's file: an unknown field is an error, not silently ignored."""


def _fmt(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".")


Lang = Literal["en", "zh-TW"]


class GambleFields(UserRecord):
    name: Text
    lose_percent: Percent
    lose_amount: Amount
    win_percent: Percent
    win_amount: Amount
    outcome: Literal["won", "lost"]
    label: Literal["Y", "N"] | None = None
    lang: Lang | None = None
    """Language of the rendered question (en or zh-TW, as hindsight_neglect's `lang`); default: the
    file's `lang`."""

    @model_validator(mode="after")
    def _check_gamble(self) -> Self:
        total = self.lose_percent + self.win_percent
        if total != 100:
            raise ValueError(f"probabilities sum to {total}%, not 100%")
        ev = self.gamble().expected_value
        if ev == 0:
            raise ValueError("expected value is 0, so the label would be undefined; change an amount")
        if self.label is not None and (self.label == "Y") != (ev > 0):
            verdict = "playing was right" if ev > 0 else "playing was wrong"
            raise ValueError(f"label {self.label} contradicts the expected value {_fmt(ev)} ({verdict})")
        return self

    def gamble(self) -> Gamble:
        return Gamble(
            self.name,
            self.lose_percent,
            self.lose_amount,
            self.win_percent,
            self.win_amount,
            self.outcome == "won",
        )


class GambleShot(GambleFields):
    kind: Literal["gamble"] = "gamble"
    id: Id | None = None


class GambleItem(GambleFields):
    kind: Literal["gamble"]
    id: Id
    max_tokens: MaxTokens | None = None

    def item(self, line: int, lang: str = "en") -> Item:
        gamble = self.gamble()
        index = 0 if gamble.right_decision else 1
        return Item(
            self.id, line, "gamble", gamble.question(self.lang or lang), "choice", CLASSES[index],
            list(CLASSES), index, self.max_tokens,
        )  # fmt: skip


class ChoiceItem(UserRecord):
    kind: Literal["choice"]
    id: Id
    prompt: Text
    classes: Classes
    answer_index: StrictInt
    max_tokens: MaxTokens | None = None

    @model_validator(mode="after")
    def _check(self) -> Self:
        _check_index(self.answer_index, self.classes)
        return self

    def item(self, line: int, lang: str = "en") -> Item:
        target = self.classes[self.answer_index]
        return Item(
            self.id, line, "choice", self.prompt, "choice", target, self.classes, self.answer_index,
            self.max_tokens,
        )  # fmt: skip


class NumberItem(UserRecord):
    kind: Literal["number"]
    id: Id
    prompt: Text
    answer: Annotated[str, BeforeValidator(_as_number)]
    max_tokens: MaxTokens | None = None

    def item(self, line: int, lang: str = "en") -> Item:
        return Item(self.id, line, "number", self.prompt, "number", self.answer, max_tokens=self.max_tokens)


class TextItem(UserRecord):
    kind: Literal["text"]
    id: Id
    prompt: Text
    answer: Annotated[str, AfterValidator(_nonblank), AfterValidator(_one_line)]
    max_tokens: MaxTokens | None = None

    def item(self, line: int, lang: str = "en") -> Item:
        return Item(self.id, line, "text", self.prompt, "text", self.answer, max_tokens=self.max_tokens)


BenchItem = GambleItem | ChoiceItem | NumberItem | TextItem
_KINDS: dict[str, type[BenchItem]] = {
    "gamble": GambleItem,
    "choice": ChoiceItem,
    "number": NumberItem,
    "text": TextItem,
}


_STATES_ANSWER = re.compile(r"the answer is|答案是", re.IGNORECASE)


def _states_answer(text: str) -> str:
    if not _STATES_ANSWER.search(text):
        raise ValueError("must end by stating its answer, e.g. 'So the answer is N.' (or 答案是 N)")
    return text


class ReasoningShot(UserRecord):
    """A worked example for chain of thought: a prompt and the reasoning that answers it."""

    prompt: Text
    reasoning: Annotated[str, AfterValidator(_nonblank), AfterValidator(_states_answer)]


class Reasoning(UserRecord):
    """How a trap file asks for chain of thought (see tasks/traps/README.md)."""

    instruction: Text | None = None
    shots: list[ReasoningShot] = []


class BenchHeader(UserRecord):
    name: Annotated[str, Field(pattern=r"^[a-z0-9_]+$")] | None = None
    version: Id | None = None
    description: str | None = None
    lang: Lang = "en"
    reasoning: Reasoning | None = None
    shots: list[Any] = []
    items: Annotated[list[Any], Field(min_length=1)]


class PrizeRecord(UserRecord):
    id: Id | None = None
    prompt: Text
    classes: Classes
    answer_index: Index

    @model_validator(mode="after")
    def _check(self) -> Self:
        _check_index(self.answer_index, self.classes)
        return self


class BigBenchTask(UserRecord):
    name: str | None = None
    description: str | None = None
    examples: Annotated[list[Any], Field(min_length=1)]
    task_prefix: str = ""
    example_input_prefix: str = "\nQ: "
    example_output_prefix: str = "\nA: "
    choice_prefix: str = "\n  choice: "
    append_choices_to_input: bool = True


def _as_targets(value: Any) -> Any:
    return [value] if isinstance(value, str) else value


class BigBenchExample(UserRecord):
    input: str
    target: Annotated[list[str], BeforeValidator(_as_targets), Field(min_length=1)] | None = None
    target_scores: dict[str, float] | None = None

    @model_validator(mode="after")
    def _check(self) -> Self:
        if self.target is None and self.target_scores is None:
            raise ValueError("needs 'target' or 'target_scores'")
        if self.target_scores is not None:
            if len(self.target_scores) < 2:
                raise ValueError("target_scores needs at least 2 choices")
            for choice, score in self.target_scores.items():
                if not math.isfinite(score):
                    raise ValueError(
                        f"the score of {choice[:40]!r} is {score}; give every choice a finite number"
                    )
            top = max(self.target_scores.values())
            if sum(score == top for score in self.target_scores.values()) > 1:
                raise ValueError(
                    f"several choices share the top score {top:g}; bench needs one correct choice"
                )
        return self


class Gpt3Record(UserRecord):
    context: Text
    completion: Annotated[str, AfterValidator(_nonblank)]


M = TypeVar("M", bound=BaseModel)


def validate(path: Path, line: int, model: type[M], raw: Any, keep: tuple[str, ...] | None = None) -> M:
    """Validate one record; `keep` reads only those keys of a foreign record and ignores the rest."""
    if not isinstance(raw, dict):
        fail(path, line, f"expected a mapping of fields, not {type(raw).__name__}")
    if keep is not None:
        raw = {key: raw[key] for key in keep if key in raw}
    try:
        return model.model_validate(raw)
    except ValidationError as error:
        fail(path, line, first_problem(error, model))
    except RecursionError:
        fail(path, line, "nested too deeply")
