"""Gambles with an expected value: the material of the hindsight-neglect trap (Inverse Scaling Prize),
shared by the generator (tasks/hindsight_neglect) and by the task-file formats that describe gambles
(`gamble:` items in a bench trap file, tasks/formats.py), in English and zh-TW.

A gamble's right answer is computed from its expected value, never typed; `draw_gamble` gives one
whose expected value is clearly positive or negative (never near zero) and whose outcome agrees or
disagrees with it, as asked.
"""

from __future__ import annotations

import functools
import random
from dataclasses import dataclass

from benchmark.prompting import Exemplars, Shot

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
