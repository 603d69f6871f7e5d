"""Two-step arithmetic word problems under plain and chain-of-thought prompting (paired items)."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

from benchmark.errors import UsageError
from benchmark.schemas import Instance
from tasks.base import Task

_NAMES = ["Ana", "Ben", "Chloe", "David", "Emma", "Farid", "Grace", "Hiro", "Ines", "Jonas", "Kofi", "Lena"]
_THINGS = ["apples", "marbles", "stickers", "cookies", "pencils", "shells"]
_DEFAULT_ITEMS = 1000


@dataclass(frozen=True)
class Problem:
    question: str
    reasoning: str
    answer: int


def _boxes(rng: random.Random) -> Problem:
    name, thing = rng.choice(_NAMES), rng.choice(_THINGS)
    boxes, each = rng.randint(2, 9), rng.randint(3, 12)
    total = boxes * each
    given = rng.randint(1, total - 1)
    return Problem(
        f"{name} has {boxes} boxes with {each} {thing} in each box. {name} gives away {given} {thing}. "
        f"How many {thing} does {name} have now?",
        f"{name} starts with {boxes} * {each} = {total} {thing}. "
        f"After giving away {given}, {name} has {total} - {given} = {total - given} {thing}.",
        total - given,
    )


def _change(rng: random.Random) -> Problem:
    name, thing = rng.choice(_NAMES), rng.choice(["notebooks", "pens", "tickets", "cups"])
    count, price = rng.randint(2, 9), rng.randint(2, 15)
    cost = count * price
    bill = next(b for b in (20, 50, 100, 200) if b > cost)
    return Problem(
        f"A shop sells {thing} for {price} dollars each. {name} buys {count} {thing} and pays with a "
        f"{bill}-dollar bill. How many dollars of change does {name} get?",
        f"{count} {thing} cost {count} * {price} = {cost} dollars. "
        f"The change is {bill} - {cost} = {bill - cost} dollars.",
        bill - cost,
    )


def _pages(rng: random.Random) -> Problem:
    name = rng.choice(_NAMES)
    per_day, days, extra = rng.randint(5, 30), rng.randint(2, 9), rng.randint(3, 40)
    read = per_day * days
    return Problem(
        f"{name} reads {per_day} pages every day for {days} days, then reads {extra} more pages. "
        f"How many pages has {name} read in total?",
        f"In {days} days {name} reads {per_day} * {days} = {read} pages. "
        f"Then {read} + {extra} = {read + extra} pages.",
        read + extra,
    )


def _groups(rng: random.Random) -> Problem:
    size, groups, pencils = rng.randint(2, 6), rng.randint(3, 9), rng.randint(2, 8)
    students = size * groups
    return Problem(
        f"There are {students} students in a class. They form groups of {size}, and each group gets "
        f"{pencils} pencils. How many pencils are handed out?",
        f"There are {students} / {size} = {groups} groups. "
        f"They get {groups} * {pencils} = {groups * pencils} pencils.",
        groups * pencils,
    )


_TEMPLATES: list[Callable[[random.Random], Problem]] = [_boxes, _change, _pages, _groups]


class WordProblems(Task):
    name = "word_problems"
    version = "1"
    description = "two-step word problems, plain vs chain-of-thought (guidance by size)"
    promptings = ("plain", "cot")
    answer_type = "number"
    chance = 0.0

    def __init__(self, shots: int = 4) -> None:
        if not 0 <= shots <= 8:
            raise UsageError(f"word_problems: shots must be 0 to 8, not {shots}")
        self.shots = shots

    def params(self) -> dict[str, str]:
        return {"shots": str(self.shots)}

    def _exemplar(self, problem: Problem, prompting: str) -> str:
        reasoning = f"{problem.reasoning} " if prompting == "cot" else ""
        return f"Q: {problem.question}\nA: {reasoning}The answer is {problem.answer}.\n\n"

    def instances(self, seed: int, limit: int | None, prompting: str) -> list[Instance]:
        self.check_prompting(prompting)
        # The exemplars are fixed for a seed (as in the chain-of-thought paper) and differ only in
        # whether the worked reasoning is shown; the items are drawn from a separate stream.
        shots_rng = self.rng(seed, "exemplars")
        exemplars = [_TEMPLATES[i % len(_TEMPLATES)](shots_rng) for i in range(self.shots)]
        context = "".join(self._exemplar(p, prompting) for p in exemplars)
        rng = self.rng(seed, "items")
        count = _DEFAULT_ITEMS if limit is None else limit
        out: list[Instance] = []
        for index in range(count):
            problem = rng.choice(_TEMPLATES)(rng)
            out.append(
                Instance(
                    task=self.name,
                    prompting=prompting,
                    item_id=f"{index:05d}",
                    prompt=f"{context}Q: {problem.question}\nA:",
                    answer_type="number",
                    target=str(problem.answer),
                    max_tokens=96 if prompting == "cot" else 12,
                    stop=["\n"],
                    shared_prefix=len(context),
                )
            )
        return out
