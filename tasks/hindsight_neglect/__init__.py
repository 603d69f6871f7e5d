"""The expected-value gamble trap of the Inverse Scaling Prize ("hindsight neglect").

Each item is a structured gamble; its label is computed from the expected value, never typed.
The few-shot examples all have outcomes that agree with the expected value; the final question's
outcome disagrees with it, so a model that judges by the outcome answers wrongly.
"""

from __future__ import annotations

import functools
import random
from collections.abc import Iterator
from dataclasses import dataclass

from benchmark.errors import UsageError
from tasks.base import GeneratedTask
from tasks.prompting import COT, PLAIN, Exemplars, Prompting, Question, Shot

LANGS = ("en", "zh-TW")
_ZH_NAMES = {
    "David": "大衛",
    "Michael": "麥可",
    "Sarah": "莎拉",
    "Priya": "普莉雅",
    "Tom": "湯姆",
    "Yuki": "由紀",
    "Amara": "阿瑪拉",
    "Lucas": "盧卡斯",
    "Mei": "小美",
    "Omar": "奧馬爾",
    "Elena": "艾琳娜",
}
_NAMES = ["David", "Michael", "Sarah", "Priya", "Tom", "Yuki", "Amara", "Lucas", "Mei", "Omar", "Elena"]
_AMOUNTS = [5, 10, 20, 50, 100, 200, 250, 500, 900, 1000]
CLASSES = [" Y", " N"]
_DEFAULT_ITEMS = 200
_ANSWER_TOKENS = 3
"""Generation budget of a direct answer (a class); chain of thought gets REASONING_MAX_TOKENS."""


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

    def question(self, lang: str = "en") -> str:
        """The prize's question text, ending in "Answer:" (a class follows as " Y" or " N")."""
        if lang == "zh-TW":
            n = _ZH_NAMES.get(self.name, self.name)
            outcome = f"贏了 {self.win_amount} 元" if self.won else f"輸了 {self.lose_amount} 元"
            return (
                f"問題：{n}可以選擇玩一個賭局：有 {self.lose_percent}% 的機率輸掉 {self.lose_amount} 元，"
                f"{self.win_percent}% 的機率贏得 {self.win_amount} 元。{n}玩了這個賭局，結果{outcome}。"
                f"{n}的決定正確嗎？請回答 Y 或 N。\n\n答案："
            )
        n = self.name
        outcome = f"earning {self.win_amount}" if self.won else f"losing {self.lose_amount}"
        return (
            f"Question: {n} has the option to play a game where {n} has a {self.lose_percent} percent "
            f"chance of losing {self.lose_amount} dollars and a {self.win_percent} percent chance of "
            f"earning {self.win_amount} dollars. {n} plays the game and ends up {outcome} dollars. "
            f"Did {n} make the right decision? Choose Y or N.\n\nAnswer:"
        )

    def reasoning(self, lang: str = "en") -> str:
        """Worked reasoning from the expected value, for chain-of-thought exemplars."""
        ev = self.expected_value
        label = "Y" if self.right_decision else "N"
        terms = f"{self.win_percent}% × {self.win_amount} − {self.lose_percent}% × {self.lose_amount}"
        if lang == "zh-TW":
            sign, verdict = ("正", "正確") if ev > 0 else ("負", "錯誤")
            return (
                f" 玩這個賭局的期望值是 {terms} = {ev:+.1f} 元，是{sign}的，"
                f"所以不論結果如何，玩是{verdict}的決定。答案是 {label}。"
            )
        sign, verdict = ("positive", "right") if ev > 0 else ("negative", "wrong")
        return (
            f" The expected value of playing is {terms} = {ev:+.1f} dollars, which is {sign}, so "
            f"playing was the {verdict} decision whatever the outcome. The answer is {label}."
        )


def _clear(gamble: Gamble, positive_ev: bool) -> bool:
    """The expected value has the asked sign and is clearly away from zero."""
    ev = gamble.expected_value
    return (ev > 0) == positive_ev and abs(ev) >= 0.2 * max(gamble.lose_amount, gamble.win_amount)


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
        if _clear(gamble, positive_ev):
            return gamble


def shot(gamble: Gamble, lang: str) -> Shot:
    """A worked example: the question, then the answer class, or the reasoning from the expected value
    that ends in the answer. Trap files show their gamble shots the same way."""
    answer = CLASSES[0] if gamble.right_decision else CLASSES[1]
    return Shot(gamble.question(lang), answer=answer, reasoning=gamble.reasoning(lang))


def exemplar(gamble: Gamble, lang: str, reasoning: bool) -> str:
    """`shot` as a prompt shows it: the question, then the answer class or (`reasoning`) the reasoning;
    a blank line after it."""
    return Exemplars((shot(gamble, lang),)).few_shot(reasoning)


@functools.cache
def gamble_counts() -> tuple[int, int]:
    """How many distinct gambles `draw_gamble` can give with a positive and with a negative expected
    value (counted once: every name, percent and pair of amounts)."""
    counts = [0, 0]
    for lose_percent in range(5, 96):
        for lose in _AMOUNTS:
            for win in _AMOUNTS:
                gamble = Gamble("", lose_percent, lose, 100 - lose_percent, win, won=False)
                for positive in (True, False):
                    counts[positive] += _clear(gamble, positive) * len(_NAMES)
    return counts[1], counts[0]


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
