"""The sampler: one instance asked of a model through its client (benchmark/client.py), by its scoring
mode (the classes' log-probs, or a generated answer read by the task's scorer), and what the calls gave
turned into one `Sample`; a request still failing after the client's retries is the sample's error."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from benchmark.client import ModelClient
from benchmark.errors import BenchError
from benchmark.schemas import Instance, ModelInfo, Sample, ScoringMode
from benchmark.scoring import Score, score_logprobs, score_with
from providers.base import ContinuationScores, ErrorKind, ProviderError
from tasks.base import Task


@dataclass
class _Answer:
    """What one sample's calls gave (the defaults stay where a call failed)."""

    score: Score = field(default_factory=lambda: Score(extracted=None, correct=False))
    response: str | None = None
    class_logprobs: dict[str, float] | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    from_cache: list[bool] = field(default_factory=list)
    """Whether each call's answer came from the response cache."""


class Sampler:
    """Samples of one model (`info`, as the run records it), taken through its client."""

    def __init__(self, client: ModelClient, info: ModelInfo) -> None:
        self.client = client
        self.info = info

    async def sample(self, task: Task, instance: Instance, mode: ScoringMode) -> Sample:
        """The sample of `instance` scored by `mode`. A fatal provider error ends the run (BenchError);
        another one, still failing after the retries, is the sample's error."""
        start = time.perf_counter()
        answer = _Answer()
        error: str | None = None
        try:
            if mode == "logprob":
                await self._by_logprobs(task, instance, answer)
            else:
                await self._by_generation(task, instance, answer)
        except ProviderError as exc:
            if exc.kind is ErrorKind.FATAL:
                raise BenchError(f"{self.info.provider} {self.info.model}: {exc}") from None
            error = f"{exc.kind.value}: {exc}"
        sent = self.client.provider.sent(instance.prompt)
        return _record(self.info, task, instance, mode, answer, error, sent, time.perf_counter() - start)

    async def _by_logprobs(self, task: Task, instance: Instance, answer: _Answer) -> None:
        """The item's classes scored as continuations; the answer is the likeliest."""
        classes = instance.classes or []
        scores = await self._scores(task, instance, classes, answer)
        answer.score = score_logprobs(instance, scores.logprobs)
        answer.class_logprobs = dict(zip(classes, scores.logprobs, strict=True))
        answer.prompt_tokens, answer.completion_tokens = scores.prompt_tokens, scores.continuation_tokens

    async def _by_generation(self, task: Task, instance: Instance, answer: _Answer) -> None:
        """A generated answer, read from the text; with the target's log-prob where the provider has
        log-probs and the item a target continuation (a continuous measure)."""
        generation, hit = await self.client.generate(task, instance)
        answer.from_cache.append(hit)
        answer.response = generation.text
        cut_off = (generation.completion_tokens or 0) >= instance.max_tokens
        answer.score = score_with(task.answer_scorer(), instance, generation.text, cut_off)
        answer.metrics = dict(answer.score.metrics)
        answer.prompt_tokens, answer.completion_tokens = (
            generation.prompt_tokens,
            generation.completion_tokens,
        )
        if instance.target_continuation is not None and self.client.provider.supports_logprobs:
            target = await self._scores(task, instance, [instance.target_continuation], answer)
            answer.metrics["target_logprob"] = target.logprobs[0]

    async def _scores(
        self, task: Task, instance: Instance, continuations: list[str], answer: _Answer
    ) -> ContinuationScores:
        scores, hit = await self.client.score(task, instance, continuations)
        answer.from_cache.append(hit)
        return scores


def _record(
    info: ModelInfo,
    task: Task,
    instance: Instance,
    mode: ScoringMode,
    answer: _Answer,
    error: str | None,
    sent: str | None,
    latency: float,
) -> Sample:
    score = answer.score
    return Sample(
        model=info.label,
        provider=info.provider,
        params=info.params,
        scripted=info.scripted,
        family=info.family,
        variant=info.variant,
        size_rank=info.size_rank,
        hub_id=info.hub_id,
        revision=info.revision,
        tokens=info.tokens,
        task=instance.task,
        task_params=task.params(),
        task_version=task.version,
        prompting=instance.prompting,
        item_id=instance.item_id,
        prompt=instance.prompt,
        sent=sent,
        chat_template=sent is not None,
        response=answer.response,
        extracted=score.extracted,
        target=instance.target,
        correct=score.correct,
        extraction_failed=error is None and score.extraction_failed,
        truncated=error is None and score.truncated,
        scoring=mode,
        class_logprobs=answer.class_logprobs,
        prompt_tokens=answer.prompt_tokens,
        completion_tokens=answer.completion_tokens,
        latency_s=round(latency, 6),
        cached=bool(answer.from_cache) and all(answer.from_cache),
        error=error,
        metrics=answer.metrics,
    )
