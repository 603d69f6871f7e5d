"""BIG-bench "modified arithmetic": five worked lines of a hidden operation, then a sixth to complete."""

from __future__ import annotations

from collections.abc import Iterator

from benchmark.errors import UsageError
from benchmark.schemas import Instance
from tasks.arithmetic import draw_operand
from tasks.base import GeneratedTask

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
    version = "1"
    description = "infer a hidden operation from five 'a op b -> c' lines (BIG-bench; emergent)"
    answer_type = "number"
    chance = 0.0

    def __init__(self, op: str = "+", modified: bool = True) -> None:
        if op not in _OPS:
            raise UsageError(f"modified_arithmetic: op must be one of {' '.join(_OPS)}, not {op!r}")
        self.op, self.modified = op, modified

    def params(self) -> dict[str, str]:
        return {"op": self.op, "modified": str(self.modified).lower()}

    def iter_instances(self, seed: int, limit: int | None, prompting: str) -> Iterator[Instance]:
        self.check_prompting(prompting)
        symbol, digits, fn = _OPS[self.op]
        shift = 1 if self.modified else 0
        rng = self.rng(seed, "items")
        for index in range(_DEFAULT_ITEMS if limit is None else limit):
            # Each item has its own five examples, as in BIG-bench.
            pairs = [(draw_operand(rng, digits), draw_operand(rng, digits)) for _ in range(_LINES + 1)]
            lines = [f"{a} {symbol} {b} -> {fn(a, b) + shift}\n" for a, b in pairs[:_LINES]]
            a, b = pairs[-1]
            answer = fn(a, b) + shift
            yield (
                Instance(
                    task=self.name,
                    prompting=prompting,
                    item_id=f"{index:05d}",
                    prompt="".join(lines) + f"{a} {symbol} {b} ->",
                    answer_type="number",
                    target=str(answer),
                    target_continuation=f" {answer}",
                    max_tokens=len(str(answer)) + 4,
                    stop=["\n"],
                )
            )
