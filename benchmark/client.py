"""The model client: every call a run makes to one loaded model goes through here, the only place that
retries (tenacity, with the provider's timeout plus a grace period as each call's deadline). It takes
answers from the response cache and stores new ones, and for a batching engine computes fixed groups
of items in one call each (`todo`), whose answers wait in a memo until each item asks for its own."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_after_attempt

from benchmark.cache import ResponseCache, request_key
from benchmark.errors import BenchError
from benchmark.progress import Progress
from benchmark.schemas import Instance, ScoringMode
from benchmark.variants import condition_label, task_label
from providers.base import (
    ContinuationScores,
    ErrorKind,
    GenerateRequest,
    Generation,
    Provider,
    ProviderError,
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


@dataclass
class CallCounts:
    """The calls of a whole run, over every model's client."""

    requests: int = 0
    """Attempts that reached a model (answers not taken from the cache; each retry counts)."""
    retries: int = 0


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int
    """Attempts per request, the first included; rate limits and transient errors are retried."""
    timeout: float
    """The provider's own timeout (--timeout), in seconds."""


class ModelClient:
    """One loaded model's calls: retried, cached, and batched for an engine that evaluates groups."""

    def __init__(
        self,
        provider: Provider,
        cache: ResponseCache | None,
        policy: RetryPolicy,
        progress: Progress,
        counts: CallCounts,
    ) -> None:
        self.provider = provider
        self.identity = provider.identity
        self.cache = cache
        self.policy = policy
        self.progress = progress
        self.counts = counts
        self._memo: dict[str, Any] = {}
        """Answers a batching engine computed for the current group of items (`_prefetch`)."""

    async def generate(self, task: Task, instance: Instance) -> tuple[Generation, bool]:
        """The instance's greedy generation, and whether it came from the cache (see `_ask`)."""
        body, request = generate_request(instance)
        return await self._ask(task, body, lambda: self.provider.generate(request), generation_from)

    async def score(
        self, task: Task, instance: Instance, continuations: list[str]
    ) -> tuple[ContinuationScores, bool]:
        """The log-probs of `continuations` after the instance's prompt, and whether they were cached."""
        body, request = score_request(instance, continuations)
        return await self._ask(
            task,
            body,
            lambda: self.provider.score(request),
            lambda found: scores_from(found, len(continuations)),
        )

    async def todo(self, jobs: Iterator[Job]) -> AsyncIterator[tuple[Task, Instance, ScoringMode]]:
        """The jobs still to do (the flag: done). For a batching engine, in groups of `batch_size`
        consecutive jobs of the whole run (done ones included, so the groups never change), each group
        computed in one call before its jobs are handed out (`_prefetch`)."""
        size = self.provider.batch_size
        group: list[Job] = []
        for job in jobs:
            if size == 1:
                if not job[3]:
                    self.progress.working_on(_what(job))
                    yield job[0], job[1], job[2]
                continue
            group.append(job)
            if len(group) == size:
                async for todo in self._group(group):
                    yield todo
                group = []
        if group:
            async for todo in self._group(group):
                yield todo

    async def _group(self, group: list[Job]) -> AsyncIterator[tuple[Task, Instance, ScoringMode]]:
        """A batching engine's group: computed in one call (`_prefetch`), then its jobs not yet done."""
        todo = [job for job in group if not job[3]]
        if todo:
            self.progress.working_on(_what(todo[0]))
        await self._prefetch(group)
        for task, instance, mode, _ in todo:
            yield task, instance, mode

    async def _prefetch(self, group: list[Job]) -> None:
        """Every request of the group's instances in one `generate_many` and one `score_many` call, when
        any instance still to do needs an answer the cache does not have; the answers wait in the memo,
        where `_ask` finds them. The whole group is computed, so an item's neighbours are always the same
        (bit-for-bit the same numbers when a run is resumed)."""
        provider = self.provider
        self._memo = {}
        planned = [
            (done, request_key(self.identity, kind, body, task.version), request)
            for task, instance, mode, done in group
            for kind, body, request in requests(provider, instance, mode)
        ]
        if all(done or (self.cache is not None and self.cache.has(key)) for done, key, _ in planned):
            return
        generate = [(key, r) for _, key, r in planned if isinstance(r, GenerateRequest)]
        score = [(key, r) for _, key, r in planned if isinstance(r, ScoreRequest)]
        try:
            if generate:
                texts = await self._call(lambda: provider.generate_many([r for _, r in generate]))
                self._memo.update(zip((key for key, _ in generate), texts, strict=True))
            if score:
                scores = await self._call(lambda: provider.score_many([r for _, r in score]))
                self._memo.update(zip((key for key, _ in score), scores, strict=True))
        except ProviderError as exc:
            if exc.kind is ErrorKind.FATAL:
                raise BenchError(f"{provider.info.provider} {provider.info.model}: {exc}") from None
            return  # still failing after the retries: each item is asked alone, and records its error
        self.counts.requests += len(generate) + len(score) - bool(generate) - bool(score)  # one each

    async def _ask(
        self,
        task: Task,
        request: dict[str, Any],
        make: Callable[[], Awaitable[object]],
        check: Callable[[object], T],
    ) -> tuple[T, bool]:
        """The answer to `request` from the cache, or computed with its group (`_prefetch`), or from the
        provider (then stored). Returns it and whether it came from the cache. `check` reads an answer
        (the provider's, or the fields of a cached one) and raises InvalidAnswer on a malformed one: that
        is the item's error, and it is never stored; a cached entry it refuses is asked for again."""
        key = request_key(self.identity, request["kind"], request, task.version)
        stored = self.cache.get(key, check) if self.cache is not None else None
        if stored is not None:
            return stored, True
        computed = self._memo.pop(key) if key in self._memo else await self._call(make)
        answer = check(computed)
        if self.cache is not None:
            self.cache.put(key, request["kind"], dict(vars(answer)))  # a flat dataclass: its fields
        return answer, False

    async def _call(self, make: Callable[[], Awaitable[T]]) -> T:
        """Call the provider with the run's retry policy. Fatal errors end the run.

        Remote calls also get a deadline of their own (the provider's timeout plus a grace period), so a
        server that stops in the middle of an answer cannot hang the run. The first attempt is made
        directly; tenacity takes over only after a retryable failure."""
        deadline = None if self.provider.in_process else self.policy.timeout + DEADLINE_GRACE_S
        attempts = self.policy.max_attempts

        async def attempt_once() -> T:
            self.counts.requests += 1
            try:
                async with asyncio.timeout(deadline):
                    return await make()
            except TimeoutError:
                raise ProviderError(ErrorKind.TRANSIENT, f"no answer within {deadline:g} s") from None

        try:
            return await attempt_once()
        except ProviderError as error:
            if not _retryable(error) or attempts < 2:
                raise
            self._retrying(1, error)
            await asyncio.sleep(_delay(error, 1))

        def before_sleep(state: RetryCallState) -> None:
            self._retrying(state.attempt_number + 1, _outcome(state))

        async for attempt in AsyncRetrying(
            retry=retry_if_exception(_retryable),
            wait=lambda state: _delay(_outcome(state), state.attempt_number + 1),
            stop=stop_after_attempt(attempts - 1),
            before_sleep=before_sleep,
            reraise=True,
        ):
            with attempt:
                return await attempt_once()
        raise AssertionError("unreachable")

    def _retrying(self, attempt: int, error: BaseException | None) -> None:
        self.counts.retries += 1
        self.progress.retrying(f"retry {attempt}: {error}")


def _what(job: Job) -> str:
    """What a job's sample is of, as the progress bar names it: task variant · prompting · scoring."""
    task, instance, mode, _ = job
    return f"{task_label(task.name, task.params())} · {condition_label(instance.prompting, mode)}"


def _outcome(state: RetryCallState) -> BaseException | None:
    return state.outcome.exception() if state.outcome else None


def _retryable(error: BaseException) -> bool:
    return isinstance(error, ProviderError) and error.kind in (ErrorKind.RATE_LIMIT, ErrorKind.TRANSIENT)


def _delay(error: BaseException | None, attempt: int) -> float:
    """Seconds before retrying after failed attempt number `attempt`: the server's Retry-After, else
    exponential backoff with full jitter (0.5 s base, 30 s cap)."""
    if isinstance(error, ProviderError) and error.retry_after is not None:
        return error.retry_after
    return random.uniform(0, min(30.0, 0.5 * 2 ** (attempt - 1)))


def score_request(instance: Instance, continuations: list[str]) -> tuple[dict[str, Any], ScoreRequest]:
    """The cache's description of a scoring request, and the request itself."""
    body = {
        "kind": "score",
        "prompt": instance.prompt,
        "continuations": continuations,
        "shared_prefix": instance.shared_prefix,
    }
    return body, ScoreRequest(instance.prompt, tuple(continuations), instance.shared_prefix)


def generate_request(instance: Instance) -> tuple[dict[str, Any], GenerateRequest]:
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


def requests(
    provider: Provider, instance: Instance, mode: ScoringMode
) -> list[tuple[str, dict[str, Any], GenerateRequest | ScoreRequest]]:
    """Every request the sampler makes for `instance` scored by `mode` (benchmark/sampler.py): (kind,
    cache description, request)."""
    if mode == "logprob":
        return [("score", *score_request(instance, instance.classes or []))]
    found: list[tuple[str, dict[str, Any], GenerateRequest | ScoreRequest]] = [
        ("generate", *generate_request(instance))
    ]
    if instance.target_continuation is not None and provider.supports_logprobs:
        found.append(("score", *score_request(instance, [instance.target_continuation])))
    return found
