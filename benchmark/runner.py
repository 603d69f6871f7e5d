"""The runner: models × tasks × promptings × items → samples. The only place that retries."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any, Protocol, TypeVar

from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_after_attempt

import providers
from benchmark import __version__
from benchmark.cache import ResponseCache, request_key
from benchmark.cost import Budget, PriceTable, estimate_tokens, load_prices
from benchmark.errors import BenchError, UsageError
from benchmark.rundir import RunDir
from benchmark.schemas import Instance, Manifest, ModelInfo, Sample, TaskInfo, utc_now
from benchmark.scoring import Score, number_metrics, score_generation, score_logprobs
from providers.base import (
    ContinuationScores,
    ErrorKind,
    GenerateRequest,
    Provider,
    ProviderError,
    ProviderOptions,
    generation_from,
    scores_from,
)
from tasks.base import Task

T = TypeVar("T")

SampleKey = tuple[str, str, str, str]
"""(model label, task, prompting, item id): one sample of a run."""


def sample_key(model: str, instance: Instance) -> SampleKey:
    return (model, instance.task, instance.prompting, instance.item_id)


DEADLINE_GRACE_S = 5.0
"""The runner abandons a remote call this long after the provider's own --timeout should have."""


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


def _identity(info: ModelInfo) -> tuple[str, str, str, str | None]:
    return (info.provider, info.model, info.label, info.details.get("sha256"))


def _retryable(error: BaseException) -> bool:
    return isinstance(error, ProviderError) and error.kind in (ErrorKind.RATE_LIMIT, ErrorKind.TRANSIENT)


def _delay(error: BaseException | None, attempt: int) -> float:
    """Seconds before retrying after failed attempt number `attempt`: the server's Retry-After, else
    exponential backoff with full jitter (0.5 s base, 30 s cap)."""
    if isinstance(error, ProviderError) and error.retry_after is not None:
        return error.retry_after
    return random.uniform(0, min(30.0, 0.5 * 2 ** (attempt - 1)))


def _first_error(group: BaseExceptionGroup) -> BaseException:
    """The exception to report from a group of failed workers: ours (a BenchError) first."""
    leaves: list[BaseException] = []
    stack: list[BaseException] = [group]
    while stack:
        error = stack.pop(0)
        if isinstance(error, BaseExceptionGroup):
            stack.extend(error.exceptions)
        else:
            leaves.append(error)
    return next((e for e in leaves if isinstance(e, BenchError)), leaves[0])


class Runner:
    def __init__(
        self,
        config: RunConfig,
        run_dir: RunDir,
        progress: Progress | None = None,
        factory: ProviderFactory = providers.create,
        prices: PriceTable | None = None,
        cache: ResponseCache | None = None,
        resume: bool = False,
    ) -> None:
        """`cache`: answers already bought are taken from it and new ones stored (None: --no-cache).
        `resume`: `run_dir` holds an unfinished run of the same configuration; its samples are kept and
        only the missing ones are asked for."""
        self.config = config
        self.run_dir = run_dir
        self.progress = progress or SilentProgress()
        self.factory = factory
        self.cache = cache
        self.resume = resume
        self.retries = 0
        self.requests = 0
        """Attempts that reached a model (answers not taken from the cache; each retry counts)."""
        self.errors = 0
        """Samples written with an error (no answer after the retry budget)."""
        self.kept = 0
        """Samples found in the run directory when resuming."""
        self.prices = prices or load_prices()
        self.budget = Budget(config.max_cost, self.prices) if config.max_cost is not None else None

    def run(self) -> Manifest:
        return asyncio.run(self._run())

    def _instances(self) -> Iterator[tuple[Task, Instance]]:
        """Every (task, instance) of the run, rendered as needed (a large run is never held in memory)."""
        config = self.config
        for plan in config.tasks:
            for prompting in plan.promptings:
                for instance in plan.task.iter_instances(config.seed, config.limit, prompting):
                    yield plan.task, instance

    async def _run(self) -> Manifest:
        config = self.config
        task_infos: list[TaskInfo] = [plan.task.info(list(plan.promptings)) for plan in config.tasks]
        # The first instance of each task and prompting is rendered before any model is loaded, so bad
        # task options fail fast; the rest are rendered as they are asked for, and counted without
        # rendering them: a --limit of 10**20 starts at once, and Ctrl-C stops it at once.
        total = 0
        for plan in config.tasks:
            for prompting in plan.promptings:
                next(iter(plan.task.iter_instances(config.seed, 1, prompting)), None)
                total += plan.task.count(config.seed, config.limit, prompting)
        done: set[SampleKey] = set()
        previous: list[ModelInfo] = []
        if self.resume:
            manifest = self.run_dir.read_manifest()
            if [t.model_dump() for t in manifest.tasks] != [t.model_dump() for t in task_infos]:
                raise UsageError(
                    f"{self.run_dir.path}: its tasks (names, versions, parameters) differ from what this "
                    "bench renders for the same command; finish it with the bench version that began it"
                )
            done = {(s.model, s.task, s.prompting, s.item_id) for s in self.run_dir.iter_samples()}
            self.kept = len(done)
            previous, manifest.models = manifest.models, []
            manifest.finished_at = None
            manifest.resumed_at.append(utc_now())
        else:
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
        for index, spec in enumerate(config.models):
            if self.budget is not None and self.budget.stopped:
                break
            before = previous[index] if index < len(previous) else None
            already = sum(1 for key in done if key[0] == before.label) if before is not None else 0
            if before is not None and already >= total:
                manifest.models.append(before)  # finished before the interruption: not even loaded
                continue
            self.progress.loading(spec.model or f"{spec.provider} default model")
            options = replace(config.options, base_url=spec.base_url or config.options.base_url)
            provider = await asyncio.to_thread(self.factory, spec.provider, spec.model, options)
            try:
                info = self._describe(provider.info, spec, {m.label for m in manifest.models})
                if before is not None and _identity(before) != _identity(info):
                    raise UsageError(
                        f"{self.run_dir.path}: model {index + 1} is not the one the run began with "
                        f"({before.label}, {before.details.get('sha256', before.model)}); "
                        "resume with the same models"
                    )
                manifest.models.append(info)
                self.run_dir.write_manifest(manifest)
                label = info.label
                todo = ((t, i) for t, i in self._instances() if sample_key(label, i) not in done)
                await self._run_model(provider, info, todo, total - already)
            finally:
                await provider.aclose()  # one model in memory at a time
        manifest.models.extend(previous[len(manifest.models) :])  # stopped by --max-cost: keep the rest
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
        self, provider: Provider, info: ModelInfo, instances: Iterator[tuple[Task, Instance]], total: int
    ) -> None:
        """Ask for every instance with `--concurrency` workers pulling from one iterator: the cost per
        request does not grow with the run, and a fatal error stops the other workers at once."""
        workers = self.config.concurrency
        if provider.max_concurrency is not None:
            workers = min(workers, provider.max_concurrency)
        self.progress.start_model(info.label, total)
        identity = provider.identity

        async def worker() -> None:
            for task, instance in instances:
                estimate = 0.0
                if self.budget is not None:
                    reserved = self.budget.reserve(info.model, instance.prompt, instance.max_tokens)
                    if reserved is None:
                        return  # over budget: not asked, no sample
                    estimate = reserved
                sample = await self._sample(provider, identity, info, task, instance)
                # Tokens as reported; estimated the same way as the reservation where they are not.
                sample.cost_usd = self.prices.cost(
                    info.model,
                    sample.prompt_tokens
                    if sample.prompt_tokens is not None
                    else estimate_tokens(instance.prompt),
                    sample.completion_tokens if sample.completion_tokens is not None else instance.max_tokens,
                )
                if self.budget is not None:
                    self.budget.settle(estimate, None if sample.cached else sample.cost_usd)
                self.run_dir.append_sample(sample)
                if sample.error is not None:
                    self.errors += 1
                self.progress.advance()

        try:
            async with asyncio.TaskGroup() as group:
                for _ in range(workers):
                    group.create_task(worker())
        except BaseExceptionGroup as failed:
            raise _first_error(failed) from None
        finally:
            self.progress.end_model()

    async def _call(self, provider: Provider, make: Callable[[], Awaitable[T]]) -> T:
        """Call the provider with the run's retry policy. Fatal errors end the run.

        Remote calls also get a deadline of their own (the provider's timeout plus a grace period), so a
        server that stops in the middle of an answer cannot hang the run. The first attempt is made
        directly; tenacity takes over only after a retryable failure."""
        deadline = None if provider.in_process else self.config.options.timeout + DEADLINE_GRACE_S

        async def attempt_once() -> T:
            self.requests += 1
            try:
                async with asyncio.timeout(deadline):
                    return await make()
            except TimeoutError:
                raise ProviderError(ErrorKind.TRANSIENT, f"no answer within {deadline:g} s") from None

        try:
            return await attempt_once()
        except ProviderError as error:
            if not _retryable(error) or self.config.max_attempts < 2:
                raise
            self._retrying(1, error)
            await asyncio.sleep(_delay(error, 1))

        def before_sleep(state: RetryCallState) -> None:
            error = state.outcome.exception() if state.outcome else None
            self._retrying(state.attempt_number + 1, error)

        async for attempt in AsyncRetrying(
            retry=retry_if_exception(_retryable),
            wait=lambda state: _delay(
                state.outcome.exception() if state.outcome else None, state.attempt_number + 1
            ),
            stop=stop_after_attempt(self.config.max_attempts - 1),
            before_sleep=before_sleep,
            reraise=True,
        ):
            with attempt:
                return await attempt_once()
        raise AssertionError("unreachable")

    def _retrying(self, attempt: int, error: BaseException | None) -> None:
        self.retries += 1
        self.progress.retrying(f"retry {attempt}: {error}")

    async def _ask(
        self,
        provider: Provider,
        identity: dict[str, str],
        task: Task,
        request: dict[str, Any],
        make: Callable[[], Awaitable[object]],
        check: Callable[[object], T],
    ) -> tuple[T, bool]:
        """The answer to `request` from the cache, or from the provider (then stored). Returns it and
        whether it came from the cache. `check` reads an answer (the provider's, or the fields of a
        cached one) and raises InvalidAnswer on a malformed one: that is the item's error, and it is
        never stored; a cached entry it refuses is asked for again."""
        key = request_key(identity, request["kind"], request, task.version)
        stored = self.cache.get(key, check) if self.cache is not None else None
        if stored is not None:
            return stored, True
        answer = check(await self._call(provider, make))
        if self.cache is not None:
            self.cache.put(key, request["kind"], dict(vars(answer)))  # a flat dataclass: its fields
        return answer, False

    async def _sample(
        self, provider: Provider, identity: dict[str, str], info: ModelInfo, task: Task, instance: Instance
    ) -> Sample:
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
        from_cache: list[bool] = []

        async def scored(continuations: list[str]) -> ContinuationScores:
            request = {
                "kind": "score",
                "prompt": instance.prompt,
                "continuations": continuations,
                "shared_prefix": instance.shared_prefix,
            }
            answer, hit = await self._ask(
                provider,
                identity,
                task,
                request,
                lambda: provider.score_continuations(instance.prompt, continuations, instance.shared_prefix),
                lambda answer: scores_from(answer, len(continuations)),
            )
            from_cache.append(hit)
            return answer

        try:
            if use_logprobs:
                classes = instance.classes or []
                scores = await scored(classes)
                score = score_logprobs(instance, scores.logprobs)
                class_logprobs = dict(zip(classes, scores.logprobs, strict=True))
                prompt_tokens, completion_tokens = scores.prompt_tokens, scores.continuation_tokens
            else:
                request = GenerateRequest(
                    instance.prompt, instance.max_tokens, tuple(instance.stop), instance.shared_prefix
                )
                generation, hit = await self._ask(
                    provider,
                    identity,
                    task,
                    {
                        "kind": "generate",
                        "prompt": request.prompt,
                        "max_tokens": request.max_tokens,
                        "stop": list(request.stop),
                        "temperature": 0,
                        "shared_prefix": request.shared_prefix,
                    },
                    lambda: provider.generate(request),
                    generation_from,
                )
                from_cache.append(hit)
                response = generation.text
                score = score_generation(instance, response)
                prompt_tokens, completion_tokens = generation.prompt_tokens, generation.completion_tokens
                if instance.answer_type == "number":
                    metrics = number_metrics(score.extracted, instance.target)
                if instance.target_continuation is not None and provider.supports_logprobs:
                    target_scores = await scored([instance.target_continuation])
                    metrics["target_logprob"] = target_scores.logprobs[0]
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
            cached=bool(from_cache) and all(from_cache),
            error=error,
            metrics=metrics,
        )
