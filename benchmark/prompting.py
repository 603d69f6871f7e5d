"""Prompting conditions as shared steps, applied to any task's items: plain, few-shot chain of thought
`cot`, zero-shot chain of thought `cot_zeroshot`.

A task supplies its questions with their answers (`Question`) and, where it has them, worked examples
(`Exemplars`: each example's answer and/or worked reasoning); a condition (`Prompting`) is one step that
turns them into the prompt text and stop sequences, and knows whether the model reasons first, its
generation budget and whether log-probs can score the answer. `render` puts the two together into
instances, in this one place for every task. A new condition is one more `Prompting`, registered by
name (`register`); samples and manifests write the name.
"""

from __future__ import annotations

import functools
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from benchmark.errors import UsageError
from benchmark.schemas import AnswerType, Instance

ZERO_SHOT_TRIGGER = "Let's think step by step."
"""Kojima et al. 2022: appended after the question, the model reasons before it answers."""

REASONING_MAX_TOKENS = 96
"""Generation budget of a chain of thought (a few sentences and "The answer is X.")."""

ZERO_SHOT_STOP = ["\n\n", "\nQ:", "\nQuestion:"]
"""Zero-shot reasoning may span lines; it ends at a blank line or a new question."""

ANSWER_STOP = ["\n"]
"""A direct answer, and reasoning modelled on one-line worked examples, ends at the end of its line."""


@dataclass(frozen=True)
class Shot:
    """A worked example: its question (ending in the answer cue), then what follows the cue: the answer
    as a plain prompt shows it, and/or reasoning that ends by stating the answer."""

    question: str
    answer: str | None = None
    """E.g. " 42" or " Y"; None: the example is shown only under reasoning."""
    reasoning: str | None = None
    """E.g. " 3 + 4 = 7. The answer is 7."; None: the example is shown only without reasoning."""

    def text(self, reasoning: bool) -> str | None:
        """The example as a prompt shows it (a blank line after it); None when it has no such form."""
        shown = self.reasoning if reasoning else self.answer
        return None if shown is None else f"{self.question}{shown}\n\n"


@dataclass(frozen=True)
class Exemplars:
    """What a task shows before every question (one set per seed), and how its reasoning reads."""

    shots: tuple[Shot, ...] = ()
    instruction: str | None = None
    """The task's own reasoning instruction (a file's `reasoning.instruction`): it takes the place of
    "Let's think step by step." under zero-shot reasoning, and follows every question under few-shot
    reasoning."""
    reasoning_stop: tuple[str, ...] = tuple(ANSWER_STOP)
    """Where reasoning modelled on the shots ends: at the end of its line where every worked example
    reasons on one line (generated tasks); files, whose reasoning may take lines, give ZERO_SHOT_STOP."""

    def few_shot(self, reasoning: bool) -> str:
        """The shots that have a form with (or without) reasoning, one after another."""
        return self._worked if reasoning else self._answered

    # Every item of a seed shares its exemplars: joined once, not once per item.
    @functools.cached_property
    def _answered(self) -> str:
        return "".join(text for shot in self.shots if (text := shot.text(reasoning=False)) is not None)

    @functools.cached_property
    def _worked(self) -> str:
        return "".join(text for shot in self.shots if (text := shot.text(reasoning=True)) is not None)


@dataclass(frozen=True)
class Question:
    """One item as its task supplies it, before any prompting condition."""

    item_id: str
    text: str
    """The question, ending in the answer cue ("...\\nA:")."""
    answer_type: AnswerType
    target: str
    max_tokens: int
    """Generation budget of a direct answer."""
    classes: tuple[str, ...] | None = None
    answer_index: int | None = None
    target_continuation: str | None = None
    """The answer as the model would continue `text` (its log-prob is recorded where the answer
    directly follows the prompt)."""
    shared_start: int = 0
    """Characters at the start of `text` that every item's text shares (a file's own exemplars)."""


@dataclass(frozen=True)
class Prompt:
    """What a condition makes of one question: the text sent and where generation stops."""

    text: str
    stop: tuple[str, ...]
    shared_prefix: int
    """Characters at the start of `text` shared by every item (exemplars): an engine caches them."""


class Prompting(ABC):
    """A prompting condition: one step from a task's exemplars and question to the prompt a provider
    is asked. Subclasses set `name` (as samples and manifests write it) and `reasons`, and implement
    `render`; the generation budget and log-prob scoring follow from `reasons` unless overridden."""

    name: str
    reasons: bool = False
    """The model reasons before it answers: its answer is read from the generated text, never from
    class log-probs, and must be stated (`Instance.stated_answer`)."""

    @abstractmethod
    def render(self, exemplars: Exemplars, question: Question) -> Prompt:
        """The prompt of `question` under this condition."""

    @property
    def logprob_scoring(self) -> bool:
        """Whether the answer directly follows the prompt, so that log-probs of the classes (or of the
        target continuation) can score it: not after generated reasoning."""
        return not self.reasons

    def max_tokens(self, budget: int) -> int:
        """The generation budget of an item whose direct answer takes `budget` tokens: a chain of
        thought gets at least REASONING_MAX_TOKENS. Known without rendering any item."""
        return max(budget, REASONING_MAX_TOKENS) if self.reasons else budget

    @staticmethod
    def named(name: str) -> Prompting:
        """The registered condition called `name`; UsageError naming the known ones otherwise."""
        if name not in PROMPTINGS:
            raise UsageError(f"unknown prompting {name!r}; known: {', '.join(PROMPTINGS)}")
        return PROMPTINGS[name]

    def __repr__(self) -> str:
        return f"<prompting {self.name}>"


class Plain(Prompting):
    """The question after the examples' answers (the GPT-3 few-shot format)."""

    name = "plain"

    def render(self, exemplars: Exemplars, question: Question) -> Prompt:
        context = exemplars.few_shot(reasoning=False)
        return Prompt(context + question.text, tuple(ANSWER_STOP), len(context) + question.shared_start)


class FewShotReasoning(Prompting):
    """Few-shot chain of thought (Wei et al. 2022): the question after examples that reason to their
    answers, followed by the task's own instruction where it has one."""

    name = "cot"
    reasons = True

    def render(self, exemplars: Exemplars, question: Question) -> Prompt:
        context = exemplars.few_shot(reasoning=True)
        text = context + question.text
        if exemplars.instruction:
            text = f"{text} {exemplars.instruction}"
        return Prompt(text, exemplars.reasoning_stop, len(context) + question.shared_start)


class ZeroShotReasoning(Prompting):
    """Zero-shot chain of thought (Kojima et al. 2022): no examples; the question, then "Let's think
    step by step." (or the task's own instruction) after the answer cue."""

    name = "cot_zeroshot"
    reasons = True

    def render(self, exemplars: Exemplars, question: Question) -> Prompt:
        instruction = exemplars.instruction or ZERO_SHOT_TRIGGER
        return Prompt(zero_shot(question.text, instruction), tuple(ZERO_SHOT_STOP), question.shared_start)


PROMPTINGS: dict[str, Prompting] = {}
"""Every condition by name; `register` adds one."""


def register(step: Prompting) -> Prompting:
    """Make `step` known by its name (a task lists the names it supports in `Task.promptings`)."""
    PROMPTINGS[step.name] = step
    return step


PLAIN = register(Plain())
COT = register(FewShotReasoning())
COT_ZEROSHOT = register(ZeroShotReasoning())


def reasons(prompting: str) -> bool:
    """Whether under `prompting` the model reasons before it answers: its answer is read from the
    generated text (never class log-probs) and must be stated (`Instance.stated_answer`). False for a
    name no registered condition has (a run's condition that this installation does not know)."""
    step = PROMPTINGS.get(prompting)
    return step is not None and step.reasons


def zero_shot(prompt: str, instruction: str = ZERO_SHOT_TRIGGER) -> str:
    """The prompt, then the reasoning instruction after the answer cue ("A: Let's think step by step.")."""
    return f"{prompt} {instruction}"


def render(
    task: str, step: Prompting, exemplars: Exemplars, questions: Iterable[Question]
) -> Iterator[Instance]:
    """`questions` as `step` asks them, one at a time: the one place a condition meets a task."""
    for question in questions:
        prompt = step.render(exemplars, question)
        yield Instance(
            task=task,
            prompting=step.name,
            item_id=question.item_id,
            prompt=prompt.text,
            answer_type=question.answer_type,
            target=question.target,
            classes=list(question.classes) if question.classes is not None else None,
            answer_index=question.answer_index,
            max_tokens=step.max_tokens(question.max_tokens),
            stop=list(prompt.stop),
            shared_prefix=prompt.shared_prefix,
            logprob_scoring=step.logprob_scoring,
            target_continuation=question.target_continuation if step.logprob_scoring else None,
            stated_answer=step.reasons,
        )
