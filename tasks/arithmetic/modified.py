"""BIG-bench "modified arithmetic": five worked lines of a hidden operation, then a sixth to complete."""

from __future__ import annotations

from collections.abc import Iterator

from benchmark.errors import UsageError
from benchmark.prompting import Question
from tasks.arithmetic import draw_operand, widest_answer
from tasks.base import GeneratedTask, distinct

# op -> (symbol, digits, true operation). The modified form adds one to the result: the model must
# infer from the five examples that "->" is not plain arithmetic.
_OPS = {
    "+": ("+", 3, lambda a, b: a + b),
    "-": ("-", 3, lambda a, b: a - b),
    "*": ("*", 2, lambda a, b: a * b),
}
_DEFAULT_ITEMS = 1000
_LINES = 5


class ModifiedArithmetic(GeneratedTask):
    name = "modified_arithmetic"
    version = "2"
    description = "infer a hidden operation from five 'a op b -> c' lines (BIG-bench; emergent)"
    answer_type = "number"
    chance = 0.0

    def __init__(self, op: str = "+", modified: bool = True) -> None:
        if op not in _OPS:
            raise UsageError(f"modified_arithmetic: op must be one of {' '.join(_OPS)}, not {op!r}")
        self.op, self.modified = op, modified

    def params(self) -> dict[str, str]:
        return {"op": self.op, "modified": str(self.modified).lower()}

    def item_count(self, seed: int) -> int:
        """Every pair of operands for the question (the examples above it change with each item)."""
        digits = _OPS[self.op][1]
        return (9 * 10 ** (digits - 1)) ** 2

    def generation_limit(self, prompting: str) -> int:
        """Each item's budget is its answer's length + 4: at most the widest answer's."""
        _, digits, fn = _OPS[self.op]
        shift = 1 if self.modified else 0
        return widest_answer(lambda a, b: fn(a, b) + shift, digits, 2) + 4

    def questions(self, seed: int, limit: int | None) -> Iterator[Question]:
        symbol, digits, fn = _OPS[self.op]
        shift = 1 if self.modified else 0
        rng = self.rng(seed, "items")

        def draw() -> list[tuple[int, int]]:
            # Each item has its own five examples, as in BIG-bench; no question is asked twice.
            return [(draw_operand(rng, digits), draw_operand(rng, digits)) for _ in range(_LINES + 1)]

        count = min(_DEFAULT_ITEMS if limit is None else limit, self.item_count(seed))
        for index, pairs in enumerate(distinct(draw, lambda pairs: pairs[-1], set(), count)):
            lines = [f"{a} {symbol} {b} -> {fn(a, b) + shift}\n" for a, b in pairs[:_LINES]]
            a, b = pairs[-1]
            answer = str(fn(a, b) + shift)
            text = "".join(lines) + f"{a} {symbol} {b} ->"
            yield Question(
                f"{index:05d}", text, "number", answer, len(answer) + 4, target_continuation=f" {answer}"
            )
