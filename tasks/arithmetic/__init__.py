"""n-digit arithmetic in the GPT-3 format, scored by exact match (the emergence setting)."""

from __future__ import annotations

import random

from benchmark.errors import UsageError
from benchmark.schemas import Instance
from tasks.base import Task

_WORDS = {"+": "plus", "-": "minus", "*": "times"}
_DEFAULT_ITEMS = 1000


class Arithmetic(Task):
    name = "arithmetic"
    version = "1"
    description = "n-digit arithmetic, k-shot, exact match (emergent abilities)"
    answer_type = "number"
    chance = 0.0

    def __init__(self, digits: int = 2, op: str = "+", shots: int = 4) -> None:
        if not 1 <= digits <= 5:
            raise UsageError(f"arithmetic: digits must be 1 to 5, not {digits}")
        if op not in _WORDS:
            raise UsageError(f"arithmetic: op must be one of {' '.join(_WORDS)}, not {op!r}")
        if not 0 <= shots <= 50:
            raise UsageError(f"arithmetic: shots must be 0 to 50, not {shots}")
        self.digits, self.op, self.shots = digits, op, shots

    def params(self) -> dict[str, str]:
        return {"digits": str(self.digits), "op": self.op, "shots": str(self.shots)}

    def _operands(self, rng: random.Random) -> tuple[int, int]:
        low = 0 if self.digits == 1 else 10 ** (self.digits - 1)
        return rng.randint(low, 10**self.digits - 1), rng.randint(low, 10**self.digits - 1)

    def _answer(self, a: int, b: int) -> int:
        return a + b if self.op == "+" else a - b if self.op == "-" else a * b

    def _question(self, a: int, b: int) -> str:
        return f"Q: What is {a} {_WORDS[self.op]} {b}?\n\nA:"

    def instances(self, seed: int, limit: int | None, prompting: str) -> list[Instance]:
        self.check_prompting(prompting)
        # One exemplar set per seed, shared by all items: the few-shot prefix is the same for every
        # item, so an engine with a prefix cache pays for it once.
        shots_rng = self.rng(seed, "exemplars")
        context = "".join(
            f"{self._question(x, y)} {self._answer(x, y)}\n\n"
            for x, y in (self._operands(shots_rng) for _ in range(self.shots))
        )
        rng = self.rng(seed, "items")
        count = _DEFAULT_ITEMS if limit is None else limit
        out: list[Instance] = []
        for index in range(count):
            a, b = self._operands(rng)
            out.append(
                Instance(
                    task=self.name,
                    prompting=prompting,
                    item_id=f"{index:05d}",
                    prompt=context + self._question(a, b),
                    answer_type="number",
                    target=str(self._answer(a, b)),
                    max_tokens=self.digits * 2 + 3,
                    stop=["\n"],
                    shared_prefix=len(context),
                )
            )
        return out
