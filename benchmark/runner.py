"""The runner: models × tasks × promptings × items → samples. The only place that retries."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import Protocol, TypeVar

from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_after_attempt

import providers
from benchmark import __version__
from benchmark.cost import Budget, PriceTable, estimate_tokens, load_prices
from benchmark.errors import BenchError
from benchmark.rundir import RunDir
from benchmark.schemas import Instance, Manifest, ModelInfo, Sample, TaskInfo, utc_now
from benchmark.scoring import Score, number_metrics, score_generation, score_logprobs
from providers.base import ErrorKind, GenerateRequest, Provider, ProviderError, ProviderOptions
from tasks.base import Task

T = TypeVar("T")


@dataclass(frozen=True)
class TaskPlan:
    task: Task
    promptings: tuple[str, ...]


@dataclass(frozen=True)
class ModelSpec:
    """One model to run: from --provider/--model, or a member of a --family file."""

    provider: str
    model: str | None
    """Model id for the provider; None is the provider's default model."""
    family: str | None = None
    variant: str | None = None
    params: int | None = None
    """Stated size, used when the provider cannot count parameters itself."""
    rank: int | None = None
    """Size rank, for families whose sizes are undisclosed."""
    base_url: str | None = None


@dataclass(frozen=True)
class RunConfig:
    models: list[ModelSpec]
    """One per size, run in this order (one loaded at a time)."""
    tasks: list[TaskPlan]
    limit: int | None
    seed: int
    concurrency: int = 1
    max_attempts: int = 5
    command: list[str] = field(default_factory=list)
    options: ProviderOptions = field(default_factory=ProviderOptions)
    max_cost: float | None = None
    """Dollars; the run stops before a request that would exceed it (prices: providers/prices.yaml)."""


class Progress(Protocol):
    def loading(self, model: str) -> None: ...
    def start_model(self, label: str, total: int) -> None: ...
    def advance(self) -> None: ...
    def retrying(self, message: str) -> None: ...
    def end_model(self) -> None: ...


class SilentProgress:
    def loading(self, model: str) -> None: ...
    def start_model(self, label: str, total: int) -> None: ...
    def advance(self) -> None: ...
    def retrying(self, message: str) -> None: ...
    def end_model(self) -> None: ...


ProviderFactory = Callable[[str, str | None, ProviderOptions], Provider]


def _retryable(error: BaseException) -> bool:
    return isinstance(error, ProviderError) and error.kind is not ErrorKind.FATAL


def _wait(state: RetryCallState) -> float:
    """Honour Retry-After; otherwise exponential backoff with full jitter (0.5 s base, 30 s cap)."""
    error = state.outcome.exception() if state.outcome else None
    if isinstance(error, ProviderError) and error.retry_after is not None:
        return error.retry_after
    return random.uniform(0, min(30.0, 0.5 * 2 ** (state.attempt_number - 1)))


class Runner:
    def __init__(
        self,
        config: RunConfig,
        run_dir: RunDir,
        progress: Progress | None = None,
        factory: ProviderFactory = providers.create,
        prices: PriceTable | None = None,
    ) -> None:
        self.config = config
        self.run_dir = run_dir
        self.progress = progress or SilentProgress()
        self.factory = factory
        self.retries = 0
        self.prices = prices or load_prices()
        self.budget = Budget(config.max_cost, self.prices) if config.max_cost is not None else None

    def run(self) -> Manifest:
        return asyncio.run(self._run())

    async def _run(self) -> Manifest:
        config = self.config
        task_infos: list[TaskInfo] = [plan.task.info(list(plan.promptings)) for plan in config.tasks]
        # Render every instance once, before any model is loaded: bad task options fail fast.
        instances = [
            (plan.task, instance)
            for plan in config.tasks
            for prompting in plan.promptings
            for instance in plan.task.instances(config.seed, config.limit, prompting)
        ]
        manifest = Manifest(
            tool_version=__version__,
            command=config.command,
            seed=config.seed,
            limit=config.limit,
            tasks=task_infos,
            models=[],
            started_at=utc_now(),
        )
        self.run_dir.write_manifest(manifest)
        for spec in config.models:
            if self.budget is not None and self.budget.stopped:
                break
            self.progress.loading(spec.model or f"{spec.provider} default model")
            options = replace(config.options, base_url=spec.base_url or config.options.base_url)
            provider = await asyncio.to_thread(self.factory, spec.provider, spec.model, options)
            try:
                info = self._describe(provider.info, spec, {m.label for m in manifest.models})
                manifest.models.append(info)
                self.run_dir.write_manifest(manifest)
                await self._run_model(provider, info, instances)
            finally:
                await provider.aclose()  # one model in memory at a time
        manifest.finished_at = utc_now()
        self.run_dir.write_manifest(manifest)
        return manifest

    @staticmethod
    def _describe(info: ModelInfo, spec: ModelSpec, taken: set[str]) -> ModelInfo:
        """The provider's description plus what the family file says; labels made unique."""
        label = info.label
        if label in taken:
            label = f"{label} [{spec.model or spec.provider}]"
        while label in taken:
            label += "'"
        return info.model_copy(
            update={
                "label": label,
                "params": info.params if info.params is not None else spec.params,
                "family": spec.family,
                "variant": spec.variant,
                "size_rank": spec.rank,
            }
        )

    async def _run_model(
        self, provider: Provider, info: ModelInfo, instances: list[tuple[Task, Instance]]
    ) -> None:
        limit = self.config.concurrency
        if provider.max_concurrency is not None:
            limit = min(limit, provider.max_concurrency)
        semaphore = asyncio.Semaphore(limit)
        self.progress.start_model(info.label, len(instances))

        async def one(task: Task, instance: Instance) -> None:
            async with semaphore:
                estimate = 0.0
                if self.budget is not None:
                    reserved = self.budget.reserve(info.model, instance.prompt, instance.max_tokens)
                    if reserved is None:
                        return  # over budget: not asked, no sample
                    estimate = reserved
                sample = await self._sample(provider, info, task, instance)
                # Tokens as reported; estimated the same way as the reservation where they are not.
                sample.cost_usd = self.prices.cost(
                    info.model,
                    sample.prompt_tokens
                    if sample.prompt_tokens is not None
                    else estimate_tokens(instance.prompt),
                    sample.completion_tokens if sample.completion_tokens is not None else instance.max_tokens,
                )
                if self.budget is not None:
                    self.budget.settle(estimate, sample.cost_usd)
            self.run_dir.append_sample(sample)
            self.progress.advance()

        try:
            await asyncio.gather(*(one(task, instance) for task, instance in instances))
        finally:
            self.progress.end_model()

    async def _call(self, make: Callable[[], Awaitable[T]]) -> T:
        """Call the provider with the run's retry policy. Fatal errors end the run."""

        def before_sleep(state: RetryCallState) -> None:
            self.retries += 1
            error = state.outcome.exception() if state.outcome else None
            self.progress.retrying(f"retry {state.attempt_number}: {error}")

        async for attempt in AsyncRetrying(
            retry=retry_if_exception(_retryable),
            wait=_wait,
            stop=stop_after_attempt(self.config.max_attempts),
            before_sleep=before_sleep,
            reraise=True,
        ):
            with attempt:
                return await make()
        raise AssertionError("unreachable")

    async def _sample(self, provider: Provider, info: ModelInfo, task: Task, instance: Instance) -> Sample:
        start = time.perf_counter()
        use_logprobs = (
            instance.answer_type == "choice" and instance.logprob_scoring and provider.supports_logprobs
        )
        metrics: dict[str, float] = {}
        score = Score(extracted=None, correct=False)
        response: str | None = None
        class_logprobs: dict[str, float] | None = None
        prompt_tokens: int | None = None
        completion_tokens: int | None = None
        error: str | None = None
        try:
            if use_logprobs:
                classes = instance.classes or []
                scores = await self._call(
                    lambda: provider.score_continuations(instance.prompt, classes, instance.shared_prefix)
                )
                score = score_logprobs(instance, scores.logprobs)
                class_logprobs = dict(zip(classes, scores.logprobs, strict=True))
                prompt_tokens, completion_tokens = scores.prompt_tokens, scores.continuation_tokens
            else:
                request = GenerateRequest(
                    instance.prompt, instance.max_tokens, tuple(instance.stop), instance.shared_prefix
                )
                generation = await self._call(lambda: provider.generate(request))
                response = generation.text
                score = score_generation(instance, response)
                prompt_tokens, completion_tokens = generation.prompt_tokens, generation.completion_tokens
                if instance.answer_type == "number":
                    metrics = number_metrics(score.extracted, instance.target)
                if instance.target_continuation is not None and provider.supports_logprobs:
                    target = instance.target_continuation
                    scored = await self._call(
                        lambda: provider.score_continuations(
                            instance.prompt, [target], instance.shared_prefix
                        )
                    )
                    metrics["target_logprob"] = scored.logprobs[0]
        except ProviderError as exc:
            if exc.kind is ErrorKind.FATAL:
                raise BenchError(f"{info.provider} {info.model}: {exc}") from None
            error = f"{exc.kind.value}: {exc}"
        return Sample(
            model=info.label,
            provider=info.provider,
            params=info.params,
            scripted=info.scripted,
            family=info.family,
            variant=info.variant,
            size_rank=info.size_rank,
            task=instance.task,
            task_version=task.version,
            prompting=instance.prompting,
            item_id=instance.item_id,
            prompt=instance.prompt,
            response=response,
            extracted=score.extracted,
            target=instance.target,
            correct=score.correct,
            extraction_failed=error is None and score.extraction_failed,
            scoring="logprob" if use_logprobs else "generate",
            class_logprobs=class_logprobs,
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            latency_s=round(time.perf_counter() - start, 6),
            error=error,
            metrics=metrics,
        )
