"""The runner: models × tasks × promptings × items → samples. The only place that retries.

Over 400 lines: a run is one loop read top to bottom here (survey, load one model at a time, ask,
retry, record), and its pieces share the Runner's state: the retry policy (`_call`), the fixed groups
of a batching engine (`_todo`, `_prefetch`), the cache (`_ask`) and one sample (`_sample`)."""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_after_attempt

import providers
from benchmark import __version__
from benchmark.cache import ResponseCache, request_key
from benchmark.cost import Budget, PriceTable, estimate_tokens, load_prices
from benchmark.errors import BenchError, DoesNotFitError, UsageError
from benchmark.jobs import SampleKey, sample_key, saved_key, scoring_modes
from benchmark.rundir import RunDir
from benchmark.schemas import (
    Instance,
    Manifest,
    ModelInfo,
    RunSettings,
    Sample,
    ScoringMode,
    TaskInfo,
    utc_now,
)
from benchmark.scoring import Score, score_logprobs, score_with
from benchmark.variants import condition_label, task_label
from providers.base import (
    ContinuationScores,
    ErrorKind,
    Footprint,
    GenerateRequest,
    Provider,
    ProviderError,
    ProviderOptions,
    ScoreRequest,
    generation_from,
    scores_from,
)
from tasks.base import Task

T = TypeVar("T")

Job = tuple[Task, Instance, ScoringMode, bool]
"""One sample to take from a model: a task's instance, its scoring mode, and whether it is done."""

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
    revision: str | None = None
    """Training checkpoint (Hub revision); for provider hf already part of `model` (org/name@rev)."""
    tokens: float | None = None
    """Training tokens seen at `revision`."""
    hub_id: str | None = None
    """The Hub model this is, for matching published results."""


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
    scoring: str = "both"
    """One of SCORING_CHOICES (see `scoring_modes`)."""
    settings: RunSettings | None = None
    """The options as given, saved in the manifest for --resume."""


class Progress(Protocol):
    """What the runner tells whoever shows its progress (benchmark/terminal.py's bar, perf/'s timers)."""

    def loading(self, model: str) -> None: ...
    def start_model(self, label: str, total: int) -> None:
        """`total` samples to take from the model `label` ("Gemma 3 270m (2/5)": the second of five)."""

    def working_on(self, what: str) -> None:
        """The samples being taken now are of `what` ("arithmetic (digits=2) · plain · generated")."""

    def advance(self) -> None: ...
    def retrying(self, message: str) -> None: ...
    def end_model(self) -> None: ...


class SilentProgress:
    def loading(self, model: str) -> None: ...
    def start_model(self, label: str, total: int) -> None: ...
    def working_on(self, what: str) -> None: ...
    def advance(self) -> None: ...
    def retrying(self, message: str) -> None: ...
    def end_model(self) -> None: ...


ProviderFactory = Callable[[str, str | None, ProviderOptions], Provider]
Sizer = Callable[[str, str | None, ProviderOptions, int | None], Footprint | None]


def _what(job: Job) -> str:
    """What a job's sample is of, as the progress bar names it: task variant · prompting · scoring."""
    task, instance, mode, _ = job
    return f"{task_label(task.name, task.params())} · {condition_label(instance.prompting, mode)}"


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
        self.sizer: Sizer = providers.footprint if factory is providers.create else (lambda *_: None)
        """What a model will need before it is loaded (a test's own factory has no footprints)."""
        self.cache = cache
        self.resume = resume
        self.retries = 0
        self.requests = 0
        """Attempts that reached a model (answers not taken from the cache; each retry counts)."""
        self.errors = 0
        """Samples written with an error (no answer after the retry budget)."""
        self.kept = 0
        """Samples found in the run directory when resuming."""
        self.not_run = 0
        """Sizes left out because they cannot fit in memory (ModelInfo.error)."""
        self._memo: dict[str, Any] = {}
        """Answers a batching engine computed for the current group of items (`_prefetch`)."""
        self.prices = prices or load_prices()
        self.budget = Budget(config.max_cost, self.prices) if config.max_cost is not None else None
        self._stop_asked = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._main: asyncio.Task[Any] | None = None

    def run(self) -> Manifest:
        """Take every sample of the run. After `stop()`: KeyboardInterrupt, once the model's current
        call has ended and every finished sample is written."""
        try:
            return asyncio.run(self._run())
        except asyncio.CancelledError:
            if self._stop_asked:
                raise KeyboardInterrupt from None
            raise

    def stop(self) -> None:
        """Ask the run to stop, from a signal handler or another thread: the work in hand is cancelled
        at its next await (an engine's call in progress runs to its end), and `run` raises
        KeyboardInterrupt. Before the run has started, it stops as soon as it starts."""
        self._stop_asked = True
        if self._loop is not None and self._main is not None and not self._main.done():
            with contextlib.suppress(RuntimeError):  # the loop closed in the meantime: nothing to stop
                self._loop.call_soon_threadsafe(self._main.cancel)

    def _instances(self) -> Iterator[tuple[Task, Instance]]:
        """Every (task, instance) of the run, rendered as needed (a large run is never held in memory)."""
        config = self.config
        for plan in config.tasks:
            for prompting in plan.promptings:
                for instance in plan.task.iter_instances(config.seed, config.limit, prompting):
                    yield plan.task, instance

    def _jobs(self, supports_logprobs: bool) -> Iterator[tuple[Task, Instance, ScoringMode]]:
        """Every sample to take from a model: each instance once per scoring mode."""
        for task, instance in self._instances():
            for mode in scoring_modes(instance, supports_logprobs, self.config.scoring):
                yield task, instance, mode

    def _survey(self) -> tuple[dict[bool, int], list[TaskInfo]]:
        """The samples per model, for a model without log-probs (False) and one with them (True), and
        each task's info with its generation budget per condition. Rendered before any model is loaded,
        so bad task options fail fast. A task whose items are alike under one condition (the generated
        ones: `generation_limit`) renders only its first and counts the rest without
        rendering them, so a --limit of 10**20 starts at once and Ctrl-C stops it at once; a file's
        items are all read."""
        seed, limit = self.config.seed, self.config.limit
        totals = {False: 0, True: 0}
        infos = []
        for plan in self.config.tasks:
            budget: dict[str, int] = {}
            for prompting in plan.promptings:
                known = plan.task.generation_limit(prompting)
                repeats = 1 if known is None else plan.task.count(seed, limit, prompting)
                for instance in plan.task.iter_instances(seed, limit if known is None else 1, prompting):
                    budget[prompting] = max(budget.get(prompting, 0), known or instance.max_tokens)
                    for supports in (False, True):
                        modes = scoring_modes(instance, supports, self.config.scoring)
                        totals[supports] += repeats * len(modes)
            infos.append(plan.task.info(list(plan.promptings)).model_copy(update={"max_tokens": budget}))
        return totals, infos

    async def _run(self) -> Manifest:
        self._loop, self._main = asyncio.get_running_loop(), asyncio.current_task()
        if self._stop_asked:
            raise asyncio.CancelledError
        totals, task_infos = self._survey()
        done: set[SampleKey] = set()
        previous: list[ModelInfo] = []
        if self.resume:
            manifest, done, previous = self._resumed(task_infos)
        else:
            manifest = self._fresh(task_infos)
        self.run_dir.write_manifest(manifest)
        for index, spec in enumerate(self.config.models):
            if self.budget is not None and self.budget.stopped:
                break
            before = previous[index] if index < len(previous) else None
            already = sum(1 for key in done if key[0] == before.label) if before is not None else 0
            if before is not None and already >= totals[before.supports_logprobs]:
                manifest.models.append(before)  # finished before the interruption: not even loaded
                continue
            await self._run_size(index, spec, before, manifest, done, totals, already)
        manifest.models.extend(previous[len(manifest.models) :])  # stopped by --max-cost: keep the rest
        manifest.finished_at = utc_now()
        self.run_dir.write_manifest(manifest)
        return manifest

    def _fresh(self, task_infos: list[TaskInfo]) -> Manifest:
        config = self.config
        return Manifest(
            tool_version=__version__,
            command=config.command,
            settings=config.settings,
            seed=config.seed,
            limit=config.limit,
            tasks=task_infos,
            models=[],
            started_at=utc_now(),
        )

    def _resumed(self, task_infos: list[TaskInfo]) -> tuple[Manifest, set[SampleKey], list[ModelInfo]]:
        """The run's manifest to go on with (its models to be listed again as they are reached), the
        samples already taken, and the models as the run recorded them."""
        manifest = self.run_dir.read_manifest()
        manifest.tasks = _file_sha256_filled(manifest.tasks, task_infos)
        changed = _data_changed(manifest.tasks, task_infos)
        if changed is not None:
            raise UsageError(f"{self.run_dir.path}: {changed}")
        if [t.model_dump() for t in manifest.tasks] != [t.model_dump() for t in task_infos]:
            raise UsageError(
                f"{self.run_dir.path}: its tasks (names, versions, parameters) differ from what this "
                "bench renders for the same command; finish it with the bench version that began it"
            )
        done: set[SampleKey] = set()
        spent = 0.0  # --max-cost is the run's: what its samples cost counts against it
        for sample in self.run_dir.iter_samples():
            done.add(saved_key(sample))
            spent += 0.0 if sample.cached else sample.cost_usd or 0.0
        self.kept = len(done)
        if self.budget is not None:
            self.budget.spent = spent
        if manifest.settings is not None and self.config.settings is not None:  # a resume may raise it
            manifest.settings.max_cost = self.config.settings.max_cost
        previous, manifest.models = manifest.models, []
        manifest.finished_at = None
        manifest.resumed_at.append(utc_now())
        return manifest, done, previous

    async def _run_size(
        self,
        index: int,
        spec: ModelSpec,
        before: ModelInfo | None,
        manifest: Manifest,
        done: set[SampleKey],
        totals: dict[bool, int],
        already: int,
    ) -> None:
        """One model: loaded (or one error row if it cannot fit), asked what it has not answered yet in
        this run (`before`: how a resumed run recorded it), and freed before the next."""
        config = self.config
        options = config.options.model_copy(
            update={
                "base_url": spec.base_url or config.options.base_url,
                "chat_template": chat_template(config.options.chat_template, spec.variant),
            }
        )
        self.progress.loading(spec.model or f"{spec.provider} default model")
        try:
            provider = await self._load(spec, options)
        except DoesNotFitError as exc:  # this size is left out; the sweep goes on
            manifest.models.append(self._not_run(spec, str(exc), {m.label for m in manifest.models}))
            self.run_dir.write_manifest(manifest)
            return
        try:
            info = self._describe(provider.info, spec, {m.label for m in manifest.models})
            if before is not None and before.error is None and _identity(before) != _identity(info):
                raise UsageError(
                    f"{self.run_dir.path}: model {index + 1} is not the one the run began with "
                    f"({before.label}, {before.details.get('sha256', before.model)}); "
                    "resume with the same models"
                )
            manifest.models.append(info)
            self.run_dir.write_manifest(manifest)
            label = info.label
            every = (
                (task, instance, mode, sample_key(label, task, instance, mode) in done)
                for task, instance, mode in self._jobs(info.supports_logprobs)
            )
            position = f" ({index + 1}/{len(config.models)})" if len(config.models) > 1 else ""
            await self._run_model(provider, info, every, totals[info.supports_logprobs] - already, position)
        finally:
            await provider.aclose()  # one model in memory at a time

    async def _load(self, spec: ModelSpec, options: ProviderOptions) -> Provider:
        """The model, unless its size is known not to fit in the memory there is (DoesNotFitError)."""
        found = self.sizer(spec.provider, spec.model, options, spec.params)
        if found is not None and not found.fits:
            raise DoesNotFitError(
                f"needs about {_gb(found.memory_bytes)} of {found.where} memory for its weights, "
                f"{_gb(found.available_bytes)} free"
            )
        return await asyncio.to_thread(self.factory, spec.provider, spec.model, options)

    def _not_run(self, spec: ModelSpec, reason: str, taken: set[str]) -> ModelInfo:
        self.not_run += 1
        info = ModelInfo(
            provider=spec.provider,
            model=spec.model or f"{spec.provider} default model",
            label=spec.model or f"{spec.provider} default model",
            params=spec.params,
            scripted=False,
            supports_logprobs=False,
            error=reason,
        )
        return self._describe(info, spec, taken)

    @staticmethod
    def _describe(info: ModelInfo, spec: ModelSpec, taken: set[str]) -> ModelInfo:
        """The provider's description plus what the family file says; labels made unique (a checkpoint's
        label ends in @revision: pythia-70m@step2000)."""
        label = info.label
        if spec.revision is not None and not label.endswith(f"@{spec.revision}"):
            label += f"@{spec.revision}"
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
                "hub_id": spec.hub_id or info.hub_id,
                "revision": spec.revision or info.revision,
                "tokens": spec.tokens,
            }
        )

    async def _run_model(
        self,
        provider: Provider,
        info: ModelInfo,
        jobs: Iterator[tuple[Task, Instance, ScoringMode, bool]],
        total: int,
        position: str = "",
    ) -> None:
        """Ask for every instance not yet done (the flag) with `--concurrency` workers pulling from one
        iterator: the cost per request does not grow with the run, and a fatal error stops the other
        workers at once. A batching engine gets one worker and fixed groups of items (`_todo`)."""
        workers = self.config.concurrency
        if provider.max_concurrency is not None:
            workers = min(workers, provider.max_concurrency)
        if provider.batch_size > 1:
            workers = 1
        self.progress.start_model(info.label + position, total)
        identity = provider.identity
        todo = self._todo(provider, identity, jobs)

        async def worker() -> None:
            async for task, instance, mode in todo:
                estimate = 0.0
                if self.budget is not None:
                    reserved = self.budget.reserve(info.model, instance.prompt, instance.max_tokens)
                    if reserved is None:
                        return  # over budget: not asked, no sample
                    estimate = reserved
                sample = await self._sample(provider, identity, info, task, instance, mode)
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

    async def _todo(
        self, provider: Provider, identity: dict[str, str], jobs: Iterator[Job]
    ) -> AsyncIterator[tuple[Task, Instance, ScoringMode]]:
        """The jobs still to do (the flag: done). For a batching engine, in groups of `batch_size`
        consecutive jobs of the whole run (done ones included, so the groups never change), each group
        computed in one call before its jobs are handed out (`_prefetch`)."""
        size = provider.batch_size
        group: list[Job] = []
        for job in jobs:
            if size == 1:
                if not job[3]:
                    self.progress.working_on(_what(job))
                    yield job[0], job[1], job[2]
                continue
            group.append(job)
            if len(group) == size:
                async for todo in self._group(provider, identity, group):
                    yield todo
                group = []
        if group:
            async for todo in self._group(provider, identity, group):
                yield todo

    async def _group(
        self, provider: Provider, identity: dict[str, str], group: list[Job]
    ) -> AsyncIterator[tuple[Task, Instance, ScoringMode]]:
        """A batching engine's group: computed in one call (`_prefetch`), then its jobs not yet done."""
        todo = [job for job in group if not job[3]]
        if todo:
            self.progress.working_on(_what(todo[0]))
        await self._prefetch(provider, identity, group)
        for task, instance, mode, _ in todo:
            yield task, instance, mode

    async def _prefetch(self, provider: Provider, identity: dict[str, str], group: list[Job]) -> None:
        """Every request of the group's instances in one `generate_many` and one `score_many` call, when
        any instance still to do needs an answer the cache does not have; the answers wait in the memo,
        where `_ask` finds them. The whole group is computed, so an item's neighbours are always the same
        (bit-for-bit the same numbers when a run is resumed)."""
        self._memo = {}
        planned = [
            (done, request_key(identity, kind, body, task.version), request)
            for task, instance, mode, done in group
            for kind, body, request in _requests(provider, instance, mode)
        ]
        if all(done or (self.cache is not None and self.cache.has(key)) for done, key, _ in planned):
            return
        generate = [(key, r) for _, key, r in planned if isinstance(r, GenerateRequest)]
        score = [(key, r) for _, key, r in planned if isinstance(r, ScoreRequest)]
        try:
            if generate:
                texts = await self._call(provider, lambda: provider.generate_many([r for _, r in generate]))
                self._memo.update(zip((key for key, _ in generate), texts, strict=True))
            if score:
                scores = await self._call(provider, lambda: provider.score_many([r for _, r in score]))
                self._memo.update(zip((key for key, _ in score), scores, strict=True))
        except ProviderError as exc:
            if exc.kind is ErrorKind.FATAL:
                raise BenchError(f"{provider.info.provider} {provider.info.model}: {exc}") from None
            return  # still failing after the retries: each item is asked alone, and records its error
        self.requests += len(generate) + len(score) - bool(generate) - bool(score)  # each request a call

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
        """The answer to `request` from the cache, or computed with its group (`_prefetch`), or from the
        provider (then stored). Returns it and
        whether it came from the cache. `check` reads an answer (the provider's, or the fields of a
        cached one) and raises InvalidAnswer on a malformed one: that is the item's error, and it is
        never stored; a cached entry it refuses is asked for again."""
        key = request_key(identity, request["kind"], request, task.version)
        stored = self.cache.get(key, check) if self.cache is not None else None
        if stored is not None:
            return stored, True
        computed = self._memo.pop(key) if key in self._memo else await self._call(provider, make)
        answer = check(computed)
        if self.cache is not None:
            self.cache.put(key, request["kind"], dict(vars(answer)))  # a flat dataclass: its fields
        return answer, False

    async def _sample(
        self,
        provider: Provider,
        identity: dict[str, str],
        info: ModelInfo,
        task: Task,
        instance: Instance,
        mode: ScoringMode,
    ) -> Sample:
        start = time.perf_counter()
        answer = _Answer()
        error: str | None = None
        try:
            if mode == "logprob":
                await self._by_logprobs(provider, identity, task, instance, answer)
            else:
                await self._by_generation(provider, identity, task, instance, answer)
        except ProviderError as exc:
            if exc.kind is ErrorKind.FATAL:
                raise BenchError(f"{info.provider} {info.model}: {exc}") from None
            error = f"{exc.kind.value}: {exc}"
        sent = provider.sent(instance.prompt)
        return _record(info, task, instance, mode, answer, error, sent, time.perf_counter() - start)

    async def _by_logprobs(
        self, provider: Provider, identity: dict[str, str], task: Task, instance: Instance, answer: _Answer
    ) -> None:
        """The item's classes scored as continuations; the answer is the likeliest."""
        classes = instance.classes or []
        scores = await self._scores(provider, identity, task, instance, classes, answer)
        answer.score = score_logprobs(instance, scores.logprobs)
        answer.class_logprobs = dict(zip(classes, scores.logprobs, strict=True))
        answer.prompt_tokens, answer.completion_tokens = scores.prompt_tokens, scores.continuation_tokens

    async def _by_generation(
        self, provider: Provider, identity: dict[str, str], task: Task, instance: Instance, answer: _Answer
    ) -> None:
        """A generated answer, read from the text; with the target's log-prob where the provider has
        log-probs and the item a target continuation (a continuous measure)."""
        body, request = _generate_request(instance)
        generation, hit = await self._ask(
            provider, identity, task, body, lambda: provider.generate(request), generation_from
        )
        answer.from_cache.append(hit)
        answer.response = generation.text
        cut_off = (generation.completion_tokens or 0) >= instance.max_tokens
        answer.score = score_with(task.answer_scorer(), instance, generation.text, cut_off)
        answer.metrics = dict(answer.score.metrics)
        answer.prompt_tokens, answer.completion_tokens = (
            generation.prompt_tokens,
            generation.completion_tokens,
        )
        if instance.target_continuation is not None and provider.supports_logprobs:
            target = await self._scores(
                provider, identity, task, instance, [instance.target_continuation], answer
            )
            answer.metrics["target_logprob"] = target.logprobs[0]

    async def _scores(
        self,
        provider: Provider,
        identity: dict[str, str],
        task: Task,
        instance: Instance,
        continuations: list[str],
        answer: _Answer,
    ) -> ContinuationScores:
        body, request = _score_request(instance, continuations)
        scores, hit = await self._ask(
            provider,
            identity,
            task,
            body,
            lambda: provider.score(request),
            lambda found: scores_from(found, len(continuations)),
        )
        answer.from_cache.append(hit)
        return scores


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


def chat_template(option: str, variant: str | None) -> str:
    """on/off for one model: `--chat-template auto` is on for a family's instruct members."""
    if option == "auto":
        return "on" if variant == "instruct" else "off"
    return option


def _gb(count: int | None) -> str:
    return "? GB" if count is None else f"{count / 1e9:.1f} GB"


def _score_request(instance: Instance, continuations: list[str]) -> tuple[dict[str, Any], ScoreRequest]:
    """The cache's description of a scoring request, and the request itself."""
    body = {
        "kind": "score",
        "prompt": instance.prompt,
        "continuations": continuations,
        "shared_prefix": instance.shared_prefix,
    }
    return body, ScoreRequest(instance.prompt, tuple(continuations), instance.shared_prefix)


def _generate_request(instance: Instance) -> tuple[dict[str, Any], GenerateRequest]:
    """The cache's description of a greedy generation, and the request itself."""
    body = {
        "kind": "generate",
        "prompt": instance.prompt,
        "max_tokens": instance.max_tokens,
        "stop": list(instance.stop),
        "temperature": 0,
        "shared_prefix": instance.shared_prefix,
    }
    request = GenerateRequest(
        instance.prompt, instance.max_tokens, tuple(instance.stop), instance.shared_prefix
    )
    return body, request


def _requests(
    provider: Provider, instance: Instance, mode: ScoringMode
) -> list[tuple[str, dict[str, Any], GenerateRequest | ScoreRequest]]:
    """Every request `_sample` makes for `instance` scored by `mode`: (kind, cache description,
    request)."""
    if mode == "logprob":
        return [("score", *_score_request(instance, instance.classes or []))]
    found: list[tuple[str, dict[str, Any], GenerateRequest | ScoreRequest]] = [
        ("generate", *_generate_request(instance))
    ]
    if instance.target_continuation is not None and provider.supports_logprobs:
        found.append(("score", *_score_request(instance, [instance.target_continuation])))
    return found


def _file_sha256_filled(before: list[TaskInfo], now: list[TaskInfo]) -> list[TaskInfo]:
    """The run's tasks, with each task file's sha256 as found now where the run did not record one (a
    run of schema 8 or older): checked as before on this resume, and by its bytes from then on."""
    filled = [
        old if old.file_sha256 is not None else old.model_copy(update={"file_sha256": new.file_sha256})
        for old, new in zip(before, now, strict=False)
    ]
    return filled + before[len(filled) :]


def _data_changed(before: list[TaskInfo], now: list[TaskInfo]) -> str | None:
    """Why a resumed run cannot go on with its items: a task file, or a published task's data file,
    whose sha256 differs from the one the run recorded (the items would change mid-run, whatever
    version the file declares); None when none does."""
    for old, new in zip(before, now, strict=False):
        if old.name == new.name and old.file_sha256 != new.file_sha256:
            then, now_ = (old.file_sha256 or "absent")[:12], (new.file_sha256 or "absent")[:12]
            return (
                f"task {old.name} read {old.params.get('file', 'its file')} with sha256 {then}… and "
                f"finds {now_}… now (its version, {old.version!r}, says nothing of an edit); restore "
                "the file to finish the run, or start a new run"
            )
        if old.name != new.name or old.dataset is None or new.dataset is None:
            continue
        was, found = old.dataset.files, new.dataset.files
        for path in sorted({*was, *found}):
            if was.get(path) != found.get(path):
                then, now_ = was.get(path, "absent")[:12], found.get(path, "absent")[:12]
                return (
                    f"task {old.name} read {old.dataset.repo} {path} with sha256 {then}… (commit "
                    f"{old.dataset.revision[:12]}), and finds {now_}… now (commit "
                    f"{new.dataset.revision[:12]}); restore those files to finish the run"
                )
    return None
