"""A scripted provider for tests: answers come from a rule, not a model. Always labelled scripted.

Built-in scripts, chosen with `--model SCRIPT[@SIZE]` (SIZE such as 1B gives it a place on the size
axis of a report):
- `calculator`: reads the last question of the prompt and answers it by rule: "What is A plus B?"
  (plus, minus, times) with the number, an expected-value gamble with Y or N; anything else gets
  "I don't know." (an extraction failure).
- `constant:TEXT`: always answers TEXT.
- `outcome`: judges a gamble by its outcome, the hindsight-neglect error (Y when the player ended up
  earning, N when losing); anything else gets "I don't know.".
- `cot:A/B`: answers like script A when the prompt shows reasoning (an expected-value exemplar, or
  "step by step"), like script B otherwise: e.g. `cot:calculator/outcome` is helped by chain of
  thought, `cot:outcome/calculator` hurt by it.

For tests of the runner, two environment variables instrument it: BENCH_SCRIPTED_DELAY (seconds each
call takes) and BENCH_SCRIPTED_CALL_LOG (a file that gets one line per call, "kind<TAB>sha256 of the
prompt", written when the call starts, so it survives the process being killed).
"""

from __future__ import annotations

import asyncio
import hashlib
import math
import os
import re
from collections.abc import Callable

from benchmark.errors import UsageError
from benchmark.schemas import ModelInfo
from benchmark.sizes import parse_size
from providers.base import (
    ContinuationScores,
    GenerateRequest,
    Generation,
    Provider,
    ProviderOptions,
    ScoreRequest,
    cut_at_stop,
)

Rule = Callable[[str], str]

DELAY_ENV = "BENCH_SCRIPTED_DELAY"
CALL_LOG_ENV = "BENCH_SCRIPTED_CALL_LOG"

_ARITHMETIC = re.compile(r"What is (-?\d+) (plus|minus|times) (-?\d+)\?")
_GAMBLE = re.compile(
    r"(\d+) percent chance of losing (\d+) dollars and a (\d+) percent chance of earning (\d+) dollars"
)
_WORD = re.compile(r"\s*\S+|\s+$")
"""A scripted token: a word with the space before it (or trailing space)."""
_OUTCOME = re.compile(r"ends up (earning|losing)")
_REASONING = re.compile(r"expected value|step by step|期望值", re.IGNORECASE)
_CONFIDENCE = 0.9
"""Probability a scripted model puts on the class its rule picks, for log-prob scoring."""


def calculator(prompt: str) -> str:
    arithmetic = _ARITHMETIC.findall(prompt)
    gamble = _GAMBLE.findall(prompt)
    last_arithmetic = prompt.rfind("What is ")
    last_gamble = prompt.rfind("percent chance of losing")
    if arithmetic and last_arithmetic > last_gamble:
        a, op, b = arithmetic[-1]
        x, y = int(a), int(b)
        return f" {x + y if op == 'plus' else x - y if op == 'minus' else x * y}"
    if gamble:
        lose_p, lose, win_p, win = map(int, gamble[-1])
        return " Y" if win_p * win - lose_p * lose > 0 else " N"
    return " I don't know."


def outcome(prompt: str) -> str:
    outcomes = _OUTCOME.findall(prompt)
    if not outcomes:
        return " I don't know."
    return " Y" if outcomes[-1] == "earning" else " N"


def _rule(script: str) -> Rule:
    """The rule a script names (see the module's docstring)."""
    if script == "calculator":
        return calculator
    if script == "outcome":
        return outcome
    if script.startswith("constant:"):
        text = script.removeprefix("constant:")
        return lambda _prompt: text
    if script.startswith("cot:") and "/" in script:
        guided, _, unguided = script.removeprefix("cot:").partition("/")
        with_reasoning, without = _rule(guided), _rule(unguided)
        return lambda prompt: (with_reasoning if _REASONING.search(prompt) else without)(prompt)
    raise UsageError(
        f"unknown scripted model {script!r}; use calculator, outcome, constant:TEXT or cot:A/B, "
        "optionally with @SIZE"
    )


class ScriptedProvider(Provider):
    name = "scripted"

    def __init__(
        self, rule: Rule, label: str, params: int | None = None, supports_logprobs: bool = True
    ) -> None:
        self.rule = rule
        self.supports_logprobs = supports_logprobs
        self.calls = 0
        self.info = ModelInfo(
            provider=self.name,
            model=label,
            label=f"scripted:{label}",
            params=params,
            scripted=True,
            supports_logprobs=supports_logprobs,
            details={"note": "scripted answers from a rule, not a language model"},
        )

    @classmethod
    def check_spec(cls, spec: str | None, options: ProviderOptions) -> None:
        cls.from_spec(spec, options)

    @classmethod
    def from_spec(cls, spec: str | None, options: ProviderOptions) -> ScriptedProvider:
        spec = spec or "calculator"
        script, _, size = spec.partition("@")
        params = parse_size(size) if size else None
        return cls(_rule(script), spec, params)

    async def _called(self, kind: str, prompt: str) -> None:
        self.calls += 1
        log = os.environ.get(CALL_LOG_ENV)
        if log:
            line = f"{kind}\t{hashlib.sha256(prompt.encode()).hexdigest()}\n".encode()
            fd = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                os.write(fd, line)  # one write of one short line: whole or absent after a kill
            finally:
                os.close(fd)
        delay = float(os.environ.get(DELAY_ENV) or 0)
        if delay > 0:
            await asyncio.sleep(delay)

    async def generate(self, request: GenerateRequest) -> Generation:
        """The rule's answer up to the first stop sequence and at most `max_tokens` tokens, counting a
        token per word (so a long scripted answer is cut off like a model's at the budget)."""
        await self._called("generate", request.prompt)
        words = _WORD.findall(cut_at_stop(self.rule(request.prompt), request.stop))
        kept = words[: request.max_tokens]
        return Generation(text="".join(kept), completion_tokens=len(kept))

    async def score(self, request: ScoreRequest) -> ContinuationScores:
        """The rule's answer gets probability 0.9; the other continuations share 0.1 equally."""
        await self._called("score", request.prompt)
        answer = self.rule(request.prompt).strip()
        picked = [c.strip() == answer for c in request.continuations]
        others = max(1, len(picked) - sum(picked))
        return ContinuationScores(
            tuple(math.log(_CONFIDENCE) if p else math.log((1 - _CONFIDENCE) / others) for p in picked)
        )
