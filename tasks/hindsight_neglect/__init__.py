"""The expected-value gamble trap of the Inverse Scaling Prize ("hindsight neglect").

Each item is a structured gamble; its label is computed from the expected value, never typed.
The few-shot examples all have outcomes that agree with the expected value; the final question's
outcome disagrees with it, so a model that judges by the outcome answers wrongly. The gambles
themselves (drawing, rendering in en and zh-TW) are in tasks/gambles.py.
"""

from __future__ import annotations

from collections.abc import Iterator

from benchmark.errors import UsageError
from benchmark.prompting import COT, PLAIN, Exemplars, Prompting, Question
from tasks.base import GeneratedTask
from tasks.gambles import CLASSES, LANGS, Gamble, draw_gamble, exemplar, gamble_counts, shot

_DEFAULT_ITEMS = 200
_ANSWER_TOKENS = 3


class HindsightNeglect(GeneratedTask):
    name = "hindsight_neglect"
    version = "3"
    description = "expected-value gamble trap, Y/N, en or zh-TW (inverse / U-shaped scaling)"
    promptings = (PLAIN.name, COT.name)
    answer_type = "choice"
    chance = 0.5

    def __init__(self, shots: int = 10, lang: str = "en") -> None:
        if not 0 <= shots <= 20:
            raise UsageError(f"hindsight_neglect: shots must be 0 to 20, not {shots}")
        if lang not in LANGS:
            raise UsageError(f"hindsight_neglect: lang must be one of {', '.join(LANGS)}, not {lang!r}")
        self.shots, self.lang = shots, lang

    def params(self) -> dict[str, str]:
        return {"shots": str(self.shots), "lang": self.lang}

    def item_count(self, seed: int) -> int:
        """Final questions alternate Y and N, so the smaller of the two pools bounds them."""
        positive, negative = gamble_counts()
        return 2 * min(positive, negative) + (positive > negative)

    def gambles(self, seed: int, count: int) -> tuple[list[Gamble], list[Gamble]]:
        """(examples, final questions). The examples (one set per seed, shared by every item, as a
        shared prefix) agree with the expected value; each final question's outcome disagrees (so
        none can be an example), and no final question is asked twice."""
        finals = zip(range(count), self._finals(seed), strict=False)
        return self._examples(seed), [final for _, final in finals]

    def _examples(self, seed: int) -> list[Gamble]:
        shots_rng = self.rng(seed, "exemplars")
        examples = [draw_gamble(shots_rng, positive_ev=i % 2 == 0, won=i % 2 == 0) for i in range(self.shots)]
        shots_rng.shuffle(examples)
        return examples

    def _finals(self, seed: int) -> Iterator[Gamble]:
        """The final questions, one at a time, each at most once, until the item space is used up (a
        run of any --limit holds none of them but the ones it has asked)."""
        rng = self.rng(seed, "items")
        seen: set[Gamble] = set()
        for index in range(self.item_count(seed)):
            positive = index % 2 == 0  # balanced classes: Y, N, Y, N, ...
            final = draw_gamble(rng, positive_ev=positive, won=not positive)
            while final in seen:
                final = draw_gamble(rng, positive_ev=positive, won=not positive)
            seen.add(final)
            yield final

    def exemplars(self, seed: int) -> Exemplars:
        return Exemplars(tuple(shot(g, self.lang) for g in self._examples(seed)))

    def generation_limit(self, prompting: str) -> int:
        return Prompting.named(prompting).max_tokens(_ANSWER_TOKENS)

    def questions(self, seed: int, limit: int | None) -> Iterator[Question]:
        count = _DEFAULT_ITEMS if limit is None else limit
        finals = zip(range(count), self._finals(seed), strict=False)  # range, not islice: of any size
        for index, final in finals:
            answer_index = 0 if final.right_decision else 1
            text, target = final.question(self.lang), CLASSES[answer_index]
            yield Question(
                f"{index:05d}", text, "choice", target, _ANSWER_TOKENS, tuple(CLASSES), answer_index
            )


__all__ = [
    "CLASSES",
    "LANGS",
    "Gamble",
    "HindsightNeglect",
    "draw_gamble",
    "exemplar",
    "gamble_counts",
    "shot",
]
