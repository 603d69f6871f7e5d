"""Multi-step arithmetic word problems under plain and chain-of-thought prompting (paired items): the
problems with their worked reasoning; the shared prompting steps show it or not."""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass

from benchmark.errors import UsageError
from benchmark.prompting import COT, COT_ZEROSHOT, PLAIN, Exemplars, Prompting, Question, Shot
from tasks.base import GeneratedTask, distinct

_NAMES = ["Ana", "Ben", "Chloe", "David", "Emma", "Farid", "Grace", "Hiro", "Ines", "Jonas", "Kofi", "Lena"]
_THINGS = ["apples", "marbles", "stickers", "cookies", "pencils", "shells", "stamps", "coins"]
_DEFAULT_ITEMS = 1000
_ANSWER_TOKENS = 12
"""Generation budget of a direct answer (a number); chain of thought gets REASONING_MAX_TOKENS."""


@dataclass(frozen=True)
class Problem:
    question: str
    reasoning: str
    answer: int


def _step(rng: random.Random, name: str, thing: str, value: int) -> tuple[str, str, int]:
    """One step of a problem: (sentence, worked reasoning, new value). Values stay positive integers."""
    kinds = ["more", "packs"]
    if value > 1:
        kinds.append("give")
    if value <= 150:
        kinds.append("double")
    divisors = [d for d in (2, 3, 4, 5) if value % d == 0 and value // d > 0]
    if divisors:
        kinds.append("share")
    kind = rng.choice(kinds)
    if kind == "more":
        n = rng.randint(2, 30)
        return f"{name} finds {n} more {thing}.", f"{value} + {n} = {value + n}.", value + n
    if kind == "packs":
        k, m = rng.randint(2, 5), rng.randint(2, 10)
        return (
            f"{name} buys {k} packs with {m} {thing} in each pack.",
            f"{k} packs of {m} are {k} * {m} = {k * m}, and {value} + {k * m} = {value + k * m}.",
            value + k * m,
        )
    if kind == "give":
        n = rng.randint(1, value - 1)
        return f"{name} gives {n} {thing} to a friend.", f"{value} - {n} = {value - n}.", value - n
    if kind == "double":
        return f"Then the number of {thing} {name} has doubles.", f"{value} * 2 = {value * 2}.", value * 2
    d = rng.choice(divisors)
    return (
        f"{name} splits the {thing} equally into {d} bags and keeps one bag.",
        f"{value} / {d} = {value // d}.",
        value // d,
    )


def draw_problem(rng: random.Random, steps: int) -> Problem:
    name, thing = rng.choice(_NAMES), rng.choice(_THINGS)
    value = rng.randint(5, 40)
    sentences, reasoning = [f"{name} has {value} {thing}."], [f"{name} starts with {value} {thing}."]
    for _ in range(steps):
        sentence, worked, value = _step(rng, name, thing, value)
        sentences.append(sentence)
        reasoning.append(worked)
    sentences.append(f"How many {thing} does {name} have now?")
    return Problem(" ".join(sentences), " ".join(reasoning), value)


class WordProblems(GeneratedTask):
    name = "word_problems"
    version = "3"
    description = "2-4 step word problems: plain vs chain-of-thought (guidance that pays off by size)"
    promptings = (PLAIN.name, COT.name, COT_ZEROSHOT.name)
    answer_type = "number"
    chance = 0.0

    def __init__(self, shots: int = 4, steps: str = "2-4") -> None:
        if not 0 <= shots <= 8:
            raise UsageError(f"word_problems: shots must be 0 to 8, not {shots}")
        if steps not in ("2", "3", "4", "2-4", "0"):  # 0: the old name of 2-4, in earlier manifests
            raise UsageError(f"word_problems: steps must be 2, 3, 4 or 2-4 (a mix), not {steps!r}")
        self.shots = shots
        self.steps = 0 if steps in ("2-4", "0") else int(steps)
        """Steps of every item; 0 mixes 2 to 4."""

    def params(self) -> dict[str, str]:
        return {"shots": str(self.shots), "steps": str(self.steps) if self.steps else "2-4"}

    def _steps(self, rng: random.Random) -> int:
        return self.steps or rng.randint(2, 4)

    def _exemplars(self, seed: int) -> list[Problem]:
        """Fixed for a seed (as in the chain-of-thought paper); plain and cot differ only in whether
        the worked reasoning is shown."""
        rng = self.rng(seed, "exemplars")
        return [draw_problem(rng, self._steps(rng)) for _ in range(self.shots)]

    def exemplars(self, seed: int) -> Exemplars:
        return Exemplars(tuple(_shot(p) for p in self._exemplars(seed)))

    def generation_limit(self, prompting: str) -> int:
        return Prompting.named(prompting).max_tokens(_ANSWER_TOKENS)

    def questions(self, seed: int, limit: int | None) -> Iterator[Question]:
        rng = self.rng(seed, "items")
        # No question twice, and none of the exemplars' (whose answers a few-shot prompt shows).
        taken: set[object] = {p.question for p in self._exemplars(seed)}
        count = _DEFAULT_ITEMS if limit is None else limit
        problems = distinct(lambda: draw_problem(rng, self._steps(rng)), lambda p: p.question, taken, count)
        for index, problem in enumerate(problems):
            yield Question(f"{index:05d}", _cued(problem), "number", str(problem.answer), _ANSWER_TOKENS)


def _cued(problem: Problem) -> str:
    return f"Q: {problem.question}\nA:"


def _shot(problem: Problem) -> Shot:
    """An exemplar: "The answer is N." after the cue, with the worked reasoning before it under cot."""
    stated = f"The answer is {problem.answer}."
    return Shot(_cued(problem), answer=f" {stated}", reasoning=f" {problem.reasoning} {stated}")
