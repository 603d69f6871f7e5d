"""The expected-value gamble trap of the Inverse Scaling Prize ("hindsight neglect").

Each item is a structured gamble; its label is computed from the expected value, never typed.
The few-shot examples all have outcomes that agree with the expected value; the final question's
outcome disagrees with it, so a model that judges by the outcome answers wrongly.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from benchmark.errors import UsageError
from benchmark.schemas import Instance
from tasks.base import Task

_NAMES = ["David", "Michael", "Sarah", "Priya", "Tom", "Yuki", "Amara", "Lucas", "Mei", "Omar", "Elena"]
_AMOUNTS = [5, 10, 20, 50, 100, 200, 250, 500, 900, 1000]
CLASSES = [" Y", " N"]
_DEFAULT_ITEMS = 200


@dataclass(frozen=True)
class Gamble:
    name: str
    lose_percent: int
    lose_amount: int
    win_percent: int
    win_amount: int
    won: bool

    @property
    def expected_value(self) -> float:
        return (self.win_percent * self.win_amount - self.lose_percent * self.lose_amount) / 100

    @property
    def right_decision(self) -> bool:
        """Playing was right exactly when the expected value is positive, whatever the outcome."""
        return self.expected_value > 0

    def question(self) -> str:
        n = self.name
        outcome = f"earning {self.win_amount}" if self.won else f"losing {self.lose_amount}"
        return (
            f"Question: {n} has the option to play a game where {n} has a {self.lose_percent} percent "
            f"chance of losing {self.lose_amount} dollars and a {self.win_percent} percent chance of "
            f"earning {self.win_amount} dollars. {n} plays the game and ends up {outcome} dollars. "
            f"Did {n} make the right decision? Choose Y or N.\n\nAnswer:"
        )


def draw_gamble(rng: random.Random, positive_ev: bool, won: bool) -> Gamble:
    """A gamble whose expected value has the asked sign and is clearly away from zero."""
    while True:
        lose_percent = rng.randint(5, 95)
        gamble = Gamble(
            name=rng.choice(_NAMES),
            lose_percent=lose_percent,
            lose_amount=rng.choice(_AMOUNTS),
            win_percent=100 - lose_percent,
            win_amount=rng.choice(_AMOUNTS),
            won=won,
        )
        ev = gamble.expected_value
        if (ev > 0) == positive_ev and abs(ev) >= 0.2 * max(gamble.lose_amount, gamble.win_amount):
            return gamble


class HindsightNeglect(Task):
    name = "hindsight_neglect"
    version = "1"
    description = "expected-value gamble trap, Y/N (inverse / U-shaped scaling)"
    answer_type = "choice"
    chance = 0.5

    def __init__(self, shots: int = 10) -> None:
        if not 0 <= shots <= 20:
            raise UsageError(f"hindsight_neglect: shots must be 0 to 20, not {shots}")
        self.shots = shots

    def params(self) -> dict[str, str]:
        return {"shots": str(self.shots)}

    def gambles(self, seed: int, count: int) -> tuple[list[Gamble], list[Gamble]]:
        """(examples, final questions). The examples (one set per seed, shared by every item, as a
        shared prefix) agree with the expected value; each final question's outcome disagrees."""
        shots_rng = self.rng(seed, "exemplars")
        examples = [draw_gamble(shots_rng, positive_ev=i % 2 == 0, won=i % 2 == 0) for i in range(self.shots)]
        shots_rng.shuffle(examples)
        rng = self.rng(seed, "items")
        out = []
        for index in range(count):
            positive = index % 2 == 0  # balanced classes: Y, N, Y, N, ...
            out.append(draw_gamble(rng, positive_ev=positive, won=not positive))
        return examples, out

    def instances(self, seed: int, limit: int | None, prompting: str) -> list[Instance]:
        self.check_prompting(prompting)
        count = _DEFAULT_ITEMS if limit is None else limit
        out: list[Instance] = []
        examples, finals = self.gambles(seed, count)
        context = "".join(
            f"{g.question()}{CLASSES[0] if g.right_decision else CLASSES[1]}\n\n" for g in examples
        )
        for index, final in enumerate(finals):
            answer_index = 0 if final.right_decision else 1
            out.append(
                Instance(
                    task=self.name,
                    prompting=prompting,
                    item_id=f"{index:05d}",
                    prompt=context + final.question(),
                    answer_type="choice",
                    target=CLASSES[answer_index],
                    classes=list(CLASSES),
                    answer_index=answer_index,
                    max_tokens=3,
                    stop=["\n"],
                    shared_prefix=len(context),
                )
            )
        return out
