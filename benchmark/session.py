"""The session: one run from start to end. It surveys the run before any model is loaded (bad task
options fail fast), begins the run directory or resumes it (the samples already taken are kept, and a
run whose models or data changed is refused), loads one model at a time (a size that cannot fit is one
error row), hands its jobs to `--concurrency` workers within the --max-cost budget, and stops on
`stop()`. Each model's calls go through its client (benchmark/client.py), each answer becomes a sample
in the sampler (benchmark/sampler.py)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterator
from typing import Any

import providers
from benchmark import __version__
from benchmark.cache import ResponseCache
from benchmark.client import CallCounts, Job, ModelClient, RetryPolicy
from benchmark.cost import Budget, PriceTable, estimate_tokens, load_prices
from benchmark.errors import BenchError, DoesNotFitError, UsageError
from benchmark.jobs import SampleKey, sample_key, saved_key, scoring_modes
from benchmark.progress import Progress, SilentProgress
from benchmark.resume import resumable_tasks
from benchmark.runconfig import ModelSpec, RunPlan
from benchmark.rundir import RunDir
from benchmark.sampler import Sampler
from benchmark.schemas import Instance, Manifest, ModelInfo, ScoringMode, TaskInfo, utc_now
from providers.base import Footprint, Provider, ProviderOptions
from tasks.base import Task

ProviderFactory = Callable[[str, str | None, ProviderOptions], Provider]
Sizer = Callable[[str, str | None, ProviderOptions, int | None], Footprint | None]


def _identity(info: ModelInfo) -> tuple[str, str, str, str | None]:
    return (info.provider, info.model, info.label, info.details.get("sha256"))


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


class Session:
    """One run: models × tasks × promptings × items → samples in `run_dir`."""

    def __init__(
        self,
        plan: RunPlan,
        run_dir: RunDir,
        progress: Progress | None = None,
        factory: ProviderFactory = providers.create,
        prices: PriceTable | None = None,
        cache: ResponseCache | None = None,
        resume: bool = False,
        sizer: Sizer = providers.footprint,
    ) -> None:
        """`plan`: the run's settings resolved (`benchmark.runconfig.plan_run`); every option is read
        from `plan.settings`. `factory` loads each model; `sizer` says from a model's spec what it will
        need (its download and memory) before it is loaded, None for a model that loads nothing here,
        and a size that cannot fit is left out. `cache`: answers already bought are taken from it and
        new ones stored (None: --no-cache). `resume`: `run_dir` holds an unfinished run of the same
        configuration; its samples are kept and only the missing ones are asked for."""
        self.plan = plan
        self.settings = plan.settings
        self.run_dir = run_dir
        self.progress = progress or SilentProgress()
        self.factory = factory
        self.sizer = sizer
        self.cache = cache
        self.resume = resume
        self.calls = CallCounts()
        """Every model's calls, retries included."""
        self.errors = 0
        """Samples written with an error (no answer after the retry budget)."""
        self.kept = 0
        """Samples found in the run directory when resuming."""
        self.not_run = 0
        """Sizes left out because they cannot fit in memory (ModelInfo.error)."""
        self.prices = prices or load_prices()
        max_cost = plan.settings.max_cost
        self.budget = Budget(max_cost, self.prices) if max_cost is not None else None
        self._stop_asked = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._main: asyncio.Task[Any] | None = None

    @property
    def requests(self) -> int:
        """Attempts that reached a model (answers not taken from the cache; each retry counts)."""
        return self.calls.requests

    @property
    def retries(self) -> int:
        return self.calls.retries

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
        seed, limit = self.settings.seed, self.settings.limit
        for plan in self.plan.task_plans:
            for prompting in plan.promptings:
                for instance in plan.task.iter_instances(seed, limit, prompting):
                    yield plan.task, instance

    def _jobs(self, supports_logprobs: bool) -> Iterator[tuple[Task, Instance, ScoringMode]]:
        """Every sample to take from a model: each instance once per scoring mode."""
        for task, instance in self._instances():
            for mode in scoring_modes(instance, supports_logprobs, self.settings.scoring):
                yield task, instance, mode

    def _survey(self) -> tuple[dict[bool, int], list[TaskInfo]]:
        """The samples per model, for a model without log-probs (False) and one with them (True), and
        each task's info with its generation budget per condition. Rendered before any model is loaded,
        so bad task options fail fast. A task whose items are alike under one condition (the generated
        ones: `generation_limit`) renders only its first and counts the rest without
        rendering them, so a --limit of 10**20 starts at once and Ctrl-C stops it at once; a file's
        items are all read."""
        seed, limit = self.settings.seed, self.settings.limit
        totals = {False: 0, True: 0}
        infos = []
        for plan in self.plan.task_plans:
            budget: dict[str, int] = {}
            for prompting in plan.promptings:
                known = plan.task.generation_limit(prompting)
                repeats = 1 if known is None else plan.task.count(seed, limit, prompting)
                for instance in plan.task.iter_instances(seed, limit if known is None else 1, prompting):
                    budget[prompting] = max(budget.get(prompting, 0), known or instance.max_tokens)
                    for supports in (False, True):
                        modes = scoring_modes(instance, supports, self.settings.scoring)
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
        for index, spec in enumerate(self.plan.model_specs):
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
        return Manifest(
            tool_version=__version__,
            command=self.plan.command,
            settings=self.settings,
            seed=self.settings.seed,
            limit=self.settings.limit,
            tasks=task_infos,
            models=[],
            started_at=utc_now(),
        )

    def _resumed(self, task_infos: list[TaskInfo]) -> tuple[Manifest, set[SampleKey], list[ModelInfo]]:
        """The run's manifest to go on with (its models to be listed again as they are reached), the
        samples already taken, and the models as the run recorded them."""
        manifest = self.run_dir.read_manifest()
        manifest.tasks = resumable_tasks(self.run_dir.path, manifest.tasks, task_infos)
        done: set[SampleKey] = set()
        spent = 0.0  # --max-cost is the run's: what its samples cost counts against it
        for sample in self.run_dir.iter_samples():
            done.add(saved_key(sample))
            spent += 0.0 if sample.cached else sample.cost_usd or 0.0
        self.kept = len(done)
        if self.budget is not None:
            self.budget.spent = spent
        if manifest.settings is not None:  # a resume may raise it
            manifest.settings.max_cost = self.settings.max_cost
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
        given = self.plan.options
        options = given.model_copy(
            update={
                "base_url": spec.base_url or given.base_url,
                "chat_template": chat_template(given.chat_template, spec.variant),
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
            sizes = len(self.plan.model_specs)
            position = f" ({index + 1}/{sizes})" if sizes > 1 else ""
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
        self, provider: Provider, info: ModelInfo, jobs: Iterator[Job], total: int, position: str = ""
    ) -> None:
        """Ask for every instance not yet done (the flag) with `--concurrency` workers pulling from one
        iterator: the cost per request does not grow with the run, and a fatal error stops the other
        workers at once. A batching engine gets one worker and fixed groups of items (the client's
        `todo`)."""
        workers = self.settings.concurrency
        if provider.max_concurrency is not None:
            workers = min(workers, provider.max_concurrency)
        if provider.batch_size > 1:
            workers = 1
        self.progress.start_model(info.label + position, total)
        policy = RetryPolicy(self.settings.max_attempts, self.settings.timeout)
        client = ModelClient(provider, self.cache, policy, self.progress, self.calls)
        sampler = Sampler(client, info)
        todo = client.todo(jobs)

        async def worker() -> None:
            async for task, instance, mode in todo:
                if not await self._take(sampler, task, instance, mode):
                    return  # over budget: not asked, no sample

        try:
            async with asyncio.TaskGroup() as group:
                for _ in range(workers):
                    group.create_task(worker())
        except BaseExceptionGroup as failed:
            raise _first_error(failed) from None
        finally:
            self.progress.end_model()

    async def _take(self, sampler: Sampler, task: Task, instance: Instance, mode: ScoringMode) -> bool:
        """One sample taken, priced and written; False, and nothing asked, when --max-cost would be
        exceeded."""
        model = sampler.info.model
        estimate = 0.0
        if self.budget is not None:
            reserved = self.budget.reserve(model, instance.prompt, instance.max_tokens)
            if reserved is None:
                return False
            estimate = reserved
        sample = await sampler.sample(task, instance, mode)
        # Tokens as reported; estimated the same way as the reservation where they are not.
        sample.cost_usd = self.prices.cost(
            model,
            sample.prompt_tokens if sample.prompt_tokens is not None else estimate_tokens(instance.prompt),
            sample.completion_tokens if sample.completion_tokens is not None else instance.max_tokens,
        )
        if self.budget is not None:
            self.budget.settle(estimate, None if sample.cached else sample.cost_usd)
        self.run_dir.append_sample(sample)
        if sample.error is not None:
            self.errors += 1
        self.progress.advance()
        return True


def chat_template(option: str, variant: str | None) -> str:
    """on/off for one model: `--chat-template auto` is on for a family's instruct members."""
    if option == "auto":
        return "on" if variant == "instruct" else "off"
    return option


def _gb(count: int | None) -> str:
    return "? GB" if count is None else f"{count / 1e9:.1f} GB"
