"""Timers on a bench run, attached through its public hooks only: the runner's progress protocol
(`benchmark.runner.Progress`: a model is loading, its evaluation starts, it ends) and the provider
interface (`providers.base.Provider`: every `generate`/`score` call the runner makes goes through a
wrapper), handed to `benchmark.run(progress=..., factory=...)`. Nothing of bench is patched, so a
renamed private method cannot silently leave a timer off.

    timers = Timers()
    benchmark.run(progress=timers.progress(), factory=timers.factory(), provider="scripted", ...)
    timers.seconds["eval"], timers.calls["score"]
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

import providers
from benchmark.runner import ProviderFactory, SilentProgress
from benchmark.schemas import ModelInfo
from providers.base import (
    ContinuationScores,
    GenerateRequest,
    Generation,
    Provider,
    ProviderOptions,
    ScoreRequest,
)

T = TypeVar("T")
KEYS = ("load", "eval", "generate", "score")
"""What is timed: the provider's construction (`load`: the factory's call, the model's load), the
runner's whole pass over a model's items (`eval`: from its start to its end as the progress protocol
tells them), and the time inside the provider's generation and scoring calls."""


class Timers:
    """Seconds and calls per key (KEYS), summed over every model of a run."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = dict.fromkeys(KEYS, 0.0)
        self.calls: Counter[str] = Counter(dict.fromkeys(KEYS, 0))

    def add(self, key: str, seconds: float, calls: int = 1) -> None:
        self.seconds[key] += seconds
        self.calls[key] += calls

    def progress(self) -> TimingProgress:
        return TimingProgress(self)

    def factory(self, make: ProviderFactory = providers.create) -> ProviderFactory:
        """`make` (bench's own by default), timed as `load`, its providers wrapped in a TimedProvider."""

        def timed(provider: str, model: str | None, options: ProviderOptions) -> Provider:
            start = time.perf_counter()
            made = make(provider, model, options)
            self.add("load", time.perf_counter() - start)
            return TimedProvider(made, self)

        return timed

    def as_json(self) -> dict[str, float | int]:
        """`KEY_s` and `KEY_calls` for each key."""
        found: dict[str, float | int] = {}
        for key in KEYS:
            found[f"{key}_s"] = self.seconds[key]
            found[f"{key}_calls"] = self.calls[key]
        return found


class TimingProgress(SilentProgress):
    """The runner's progress protocol, timing each model's evaluation (start_model to end_model)."""

    def __init__(self, timers: Timers) -> None:
        self.timers = timers
        self.started: float | None = None

    def start_model(self, label: str, total: int) -> None:
        self.started = time.perf_counter()

    def end_model(self) -> None:
        if self.started is not None:
            self.timers.add("eval", time.perf_counter() - self.started)
            self.started = None


class TimedProvider(Provider):
    """Another provider behind the provider interface, with the time inside its calls counted."""

    def __init__(self, inner: Provider, timers: Timers) -> None:
        self.inner = inner
        self.timers = timers
        self.name = inner.name  # type: ignore[misc]
        self.info: ModelInfo = inner.info
        self.supports_logprobs = inner.supports_logprobs
        self.batch_size = inner.batch_size
        self.max_concurrency = inner.max_concurrency  # type: ignore[misc]
        self.in_process = inner.in_process  # type: ignore[misc]

    @property
    def identity(self) -> dict[str, str]:
        return self.inner.identity

    async def _timed(self, key: str, calls: int, call: Callable[[], Awaitable[T]]) -> T:
        start = time.perf_counter()
        try:
            return await call()
        finally:
            self.timers.add(key, time.perf_counter() - start, calls)

    async def generate(self, request: GenerateRequest) -> Generation:
        return await self._timed("generate", 1, lambda: self.inner.generate(request))

    async def score(self, request: ScoreRequest) -> ContinuationScores:
        return await self._timed("score", 1, lambda: self.inner.score(request))

    async def generate_many(self, requests: Sequence[GenerateRequest]) -> list[Generation]:
        return await self._timed("generate", len(requests), lambda: self.inner.generate_many(requests))

    async def score_many(self, requests: Sequence[ScoreRequest]) -> list[ContinuationScores]:
        return await self._timed("score", len(requests), lambda: self.inner.score_many(requests))

    def sent(self, prompt: str) -> str | None:
        return self.inner.sent(prompt)

    async def aclose(self) -> None:
        await self.inner.aclose()
