"""n-digit arithmetic in the GPT-3 format, scored by exact match (the emergence setting).

Besides exact match, every item records continuous measures (digit accuracy, normalized edit
distance, and the log-probability of the correct answer where the provider gives log-probs), so a
jump under exact match can be told from a smooth rise underneath (Schaeffer et al. 2023).
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from benchmark.errors import UsageError
from benchmark.prompting import Exemplars, Question, Shot
from tasks.base import GeneratedTask, distinct

OPS = ("+", "-", "*", "(a+b)*c")
_WORDS = {"+": "plus", "-": "minus", "*": "times"}
_DEFAULT_ITEMS = 1000


@dataclass(frozen=True)
class Problem:
    operands: tuple[int, ...]
    op: str

    @property
    def answer(self) -> int:
        a, b, *rest = self.operands
        if self.op == "(a+b)*c":
            return (a + b) * rest[0]
        return a + b if self.op == "+" else a - b if self.op == "-" else a * b

    def question(self) -> str:
        if self.op == "(a+b)*c":
            a, b, c = self.operands
            return f"Q: What is ({a} plus {b}) times {c}?\n\nA:"
        a, b = self.operands
        return f"Q: What is {a} {_WORDS[self.op]} {b}?\n\nA:"


def widest_answer(answer: Callable[..., int], digits: int, operands: int) -> int:
    """The most characters an answer of `answer` over operands of `digits` digits can have. Each
    operation is linear in each operand, so its largest and most negative values lie at the ends of the
    operand ranges."""
    ends = (0 if digits == 1 else 10 ** (digits - 1), 10**digits - 1)
    return max(len(str(answer(*corner))) for corner in itertools.product(ends, repeat=operands))


def draw_operand(rng: random.Random, digits: int) -> int:
    """A number with exactly `digits` digits (0–9 for one digit)."""
    low = 0 if digits == 1 else 10 ** (digits - 1)
    return rng.randint(low, 10**digits - 1)


class Arithmetic(GeneratedTask):
    name = "arithmetic"
    version = "3"
    description = "n-digit arithmetic, k-shot, exact match + continuous measures (emergent abilities)"
    answer_type = "number"
    chance = 0.0
    sweeps = ("digits",)

    def __init__(self, digits: int = 2, op: str = "+", shots: int = 4) -> None:
        if not 1 <= digits <= 5:
            raise UsageError(f"arithmetic: digits must be 1 to 5, not {digits}")
        if op not in OPS:
            raise UsageError(f"arithmetic: op must be one of {', '.join(OPS)}; not {op!r}")
        if not 0 <= shots <= 50:
            raise UsageError(f"arithmetic: shots must be 0 to 50, not {shots}")
        self.digits, self.op, self.shots = digits, op, shots

    def params(self) -> dict[str, str]:
        return {"digits": str(self.digits), "op": self.op, "shots": str(self.shots)}

    def draw(self, rng: random.Random) -> Problem:
        return Problem(tuple(draw_operand(rng, self.digits) for _ in range(self._operands)), self.op)

    @property
    def _operands(self) -> int:
        return 3 if self.op == "(a+b)*c" else 2

    def _exemplars(self, seed: int) -> list[Problem]:
        """One exemplar set per seed, shared by all items: the few-shot prefix is the same for every
        item, so an engine with a prefix cache pays for it once."""
        shots_rng = self.rng(seed, "exemplars")
        return [self.draw(shots_rng) for _ in range(self.shots)]

    def item_count(self, seed: int) -> int:
        """Every operand tuple of the variant, less the exemplars (whose answers the prompt shows):
        e.g. 10 × 10 − 4 = 96 for one-digit addition with 4 shots."""
        values = 10 if self.digits == 1 else 9 * 10 ** (self.digits - 1)
        return values**self._operands - len({p.operands for p in self._exemplars(seed)})

    def generation_limit(self, prompting: str) -> int:
        """Each item's budget is its answer's length + 4: at most the widest answer's."""
        return widest_answer(lambda *ops: Problem(ops, self.op).answer, self.digits, self._operands) + 4

    def exemplars(self, seed: int) -> Exemplars:
        return Exemplars(tuple(Shot(p.question(), answer=f" {p.answer}") for p in self._exemplars(seed)))

    def questions(self, seed: int, limit: int | None) -> Iterator[Question]:
        rng = self.rng(seed, "items")
        count = min(_DEFAULT_ITEMS if limit is None else limit, self.item_count(seed))
        taken: set[object] = {p.operands for p in self._exemplars(seed)}
        problems = distinct(lambda: self.draw(rng), lambda p: p.operands, taken, count)
        for index, problem in enumerate(problems):
            answer = str(problem.answer)
            yield Question(
                f"{index:05d}",
                problem.question(),
                "number",
                answer,
                len(answer) + 4,
                target_continuation=f" {answer}",
            )
