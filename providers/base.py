"""The provider interface: one required method, `generate`; log-probs where the backend can."""

from __future__ import annotations

import abc
import asyncio
import contextlib
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, is_dataclass
from enum import Enum
from typing import ClassVar, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from benchmark.errors import UsageError
from benchmark.schemas import MAX_LOGPROB, MIN_LOGPROB, ModelInfo

LOCAL_WEIGHTS = ("native", "f32")
"""How the local engine computes with a GGUF's weights. native: llama.cpp's kernels for the file's own
(quantized) types, which also round the activations to 8 bits for the products; f32: the weights
dequantized once to float32 (a converted copy under the cache folder) and every product in float32,
the numbers transformers (and lm-evaluation-harness's `hf` model) compute from the same GGUF."""


class ProviderOptions(BaseModel):
    """Settings from the command line for every model of a run: the options every provider takes, and,
    as extra fields, the values given to one provider's own options (`--weights` of local, `--dtype` of
    hf, `--api` of openai and hf-inference), which that provider's `Options` model reads and checks."""

    model_config = ConfigDict(extra="allow", frozen=True, use_attribute_docstrings=True)

    base_url: str | None = None
    """Endpoint of an OpenAI-compatible, TGI or other server (vLLM, llama.cpp server, Ollama, ...)."""
    timeout: float = 60.0
    """Seconds before one request is abandoned (then retried by the runner, as a transient error)."""
    chat_template: str = "off"
    """local, hf: "on" wraps every prompt in the model's chat template (instruct models), "off" sends it
    as is; the runner resolves the command line's "auto" per model (on for a family's instruct members)."""


class SharedOptions(ProviderOptions):
    """The options a provider takes (`Provider.Options`): the shared ones; a provider with options of
    its own declares them in a subclass. A value for an option it does not have is refused."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    @classmethod
    def of(cls, options: ProviderOptions) -> Self:
        """`options` as this model (its shared fields, and this provider's own where given); a
        UsageError for another provider's option or a value out of range."""
        if type(options) is cls:
            return options
        try:
            return cls.model_validate(options.model_dump(exclude_defaults=True))
        except ValidationError as exc:
            error = exc.errors()[0]
            name = str(error["loc"][0]) if error["loc"] else "?"
            raise UsageError(f"-P {name}={error.get('input')}: {error['msg']}") from None


MAX_THREADS = 4096


class EngineOptions(SharedOptions):
    """The options of an engine that computes in this process on the CPU (local, hf)."""

    threads: int | None = Field(default=None, ge=1, le=MAX_THREADS)
    """`--threads`: threads the engine computes with; None: the CPUs this process may use
    (benchmark/engine_threads.py). It does not change the numbers, so it is not in the cache's key."""


@dataclass(frozen=True)
class GenerateRequest:
    """Greedy completion of `prompt` (temperature 0), stopping at any of `stop`."""

    prompt: str
    max_tokens: int
    stop: tuple[str, ...] = ()
    shared_prefix: int = 0
    """Length in characters of the prompt's start that other requests share (few-shot exemplars);
    a hint for engines with a prefix cache, free to ignore."""


@dataclass(frozen=True)
class ScoreRequest:
    """Log-probabilities of each of `continuations` after `prompt` (`shared_prefix` as in
    GenerateRequest)."""

    prompt: str
    continuations: tuple[str, ...]
    shared_prefix: int = 0


@dataclass(frozen=True)
class Generation:
    text: str
    prompt_tokens: int | None = None
    completion_tokens: int | None = None


@dataclass(frozen=True)
class ContinuationScores:
    """Total log-probability of each continuation after the prompt, in the order asked."""

    logprobs: tuple[float, ...]
    prompt_tokens: int | None = None
    continuation_tokens: int | None = None


def cut_at_stop(text: str, stop: Sequence[str]) -> str:
    """`text` up to the first of `stop` (servers apply only some, or none, of the stop sequences)."""
    cuts = [i for i in (text.find(s) for s in stop if s) if i >= 0]
    return text[: min(cuts)] if cuts else text


@dataclass(frozen=True)
class Footprint:
    """What loading a model will take, known before it is loaded (for the table a sweep prints first,
    and to leave out a size that cannot fit)."""

    download_bytes: int | None
    """Still to download (0: local or cached; None: unknown)."""
    memory_bytes: int | None
    """To hold the weights where they compute (None: unknown)."""
    available_bytes: int | None
    """Free there now: the GPUs' free memory, or the machine's available memory."""
    where: str
    """"GPU" or "CPU"."""

    @property
    def fits(self) -> bool:
        """False only when both sizes are known and the weights are larger than what is free."""
        return (
            self.memory_bytes is None
            or self.available_bytes is None
            or self.memory_bytes <= self.available_bytes
        )


class ErrorKind(Enum):
    RATE_LIMIT = "rate_limit"
    TRANSIENT = "transient"
    INVALID = "invalid_answer"
    """An answer that is not one (not JSON, wrong types, missing fields): that item's error, not retried,
    never cached."""
    FATAL = "fatal"


@dataclass
class ProviderError(Exception):
    """An adapter's classification of a failed request; the runner alone decides whether to retry."""

    kind: ErrorKind
    message: str
    retry_after: float | None = field(default=None)

    def __str__(self) -> str:
        return self.message


class InvalidAnswer(ProviderError, ValueError):
    """A malformed answer (ErrorKind.INVALID), from a server or from a damaged cache entry."""

    def __init__(self, message: str) -> None:
        super().__init__(ErrorKind.INVALID, f"malformed answer: {message}")


MAX_TOKEN_COUNT = 2**53
"""Larger token counts are not counts (and would not survive a float)."""


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:39] + "…"


def token_count(value: object, name: str) -> int | None:
    """`value` as a reported token count (None when not reported); InvalidAnswer when it is not one."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_TOKEN_COUNT:
        raise InvalidAnswer(f"{name} is {_shown(value)}, not a token count")
    return value


def _fields(answer: object, names: tuple[str, ...]) -> Mapping[str, object]:
    fields = vars(answer) if is_dataclass(answer) and not isinstance(answer, type) else answer
    if not isinstance(fields, Mapping) or not set(fields) <= set(names):
        raise InvalidAnswer(f"{_shown(answer)} is not an answer with the fields {', '.join(names)}")
    return fields


def generation_from(answer: object) -> Generation:
    """A Generation whose every field has its type, from a provider's answer or a cached one (a mapping
    of the fields); InvalidAnswer otherwise. The one check before an answer is used or stored."""
    fields = _fields(answer, ("text", "prompt_tokens", "completion_tokens"))
    text = fields.get("text")
    if not isinstance(text, str):
        raise InvalidAnswer(f"text is {_shown(text)}, not a string")
    return Generation(
        text,
        token_count(fields.get("prompt_tokens"), "prompt_tokens"),
        token_count(fields.get("completion_tokens"), "completion_tokens"),
    )


def generated(
    text: object, stop: Sequence[str], prompt_tokens: object = None, completion_tokens: object = None
) -> Generation:
    """An adapter's Generation from the fields a server sent: null text is "", text that is not a string
    or a count that is not one is InvalidAnswer; the text is cut at the first of `stop`."""
    if text is None:
        text = ""
    if not isinstance(text, str):
        raise InvalidAnswer(f"the generated text is {_shown(text)}, not a string")
    fields = {"text": cut_at_stop(text, stop), "prompt_tokens": prompt_tokens}
    return generation_from(fields | {"completion_tokens": completion_tokens})


def logprob(value: float) -> float:
    """A finite `value` as a log-probability: InvalidAnswer outside [MIN_LOGPROB, MAX_LOGPROB] (a huge
    finite number is no log-probability, and sums of such numbers overflow)."""
    if not MIN_LOGPROB <= value <= MAX_LOGPROB:
        raise InvalidAnswer(
            f"log-probability {_shown(value)} is outside [{MIN_LOGPROB:g}, 0]; no real one is"
        )
    return float(value)


def scores_from(answer: object, count: int) -> ContinuationScores:
    """ContinuationScores with `count` finite log-probs and real token counts, from a provider's answer
    or a cached one; InvalidAnswer otherwise."""
    fields = _fields(answer, ("logprobs", "prompt_tokens", "continuation_tokens"))
    logprobs = fields.get("logprobs")
    if not isinstance(logprobs, list | tuple) or len(logprobs) != count:
        raise InvalidAnswer(f"logprobs is {_shown(logprobs)}, not {count} log-probabilities")
    values: list[float] = []
    for value in logprobs:
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise InvalidAnswer(f"log-probability {_shown(value)} is not a finite number")
        values.append(logprob(value))
    return ContinuationScores(
        tuple(values),
        token_count(fields.get("prompt_tokens"), "prompt_tokens"),
        token_count(fields.get("continuation_tokens"), "continuation_tokens"),
    )


class Provider(abc.ABC):
    """One model behind one backend.

    Subclasses implement `generate`; those whose backend can score given text also set
    `supports_logprobs = True` and implement `score`. `info` describes the model. By default a
    provider is built as `cls(spec, options)` after `check_spec`, and names its model by `spec`.
    """

    name: ClassVar[str]
    """The name `--provider` chooses it by (the name of its `bench.providers` entry point)."""
    Options: ClassVar[type[SharedOptions]] = SharedOptions
    """The options it takes (pydantic, extra="forbid"): the shared ones, or a subclass that adds the
    provider's own. The registry hands `check_spec`, `from_spec` and `footprint` an instance of it."""
    key_env: ClassVar[str | None] = None
    """The environment variable that holds the provider's API key (OPENAI_API_KEY, ...); None when it
    needs none. `check_key` asks for it before a run (unless a --base-url server is used), and
    authentication errors name it."""
    supports_logprobs: bool = False
    max_concurrency: ClassVar[int | None] = None
    """Upper bound on requests in flight (1 for an in-process engine); None leaves it to the user."""
    in_process: ClassVar[bool] = False
    """True for an engine running in this process: its calls cannot be abandoned, so the runner does
    not put its own deadline on them (remote calls get one, in case a server stops mid-answer)."""
    batch_size: int = 1
    """Requests an engine evaluates together. Above 1 the runner hands it fixed groups of consecutive
    items (`generate_many`, `score_many`), the same groups whatever was cached or done before, so a
    resumed run computes every item with the neighbours it would have had."""

    info: ModelInfo

    def __init__(self, spec: str | None, options: ProviderOptions) -> None:
        """The default model: named by `spec` (the provider's name when None), no size, no details.
        Providers that describe their model better set `info` in their own `__init__`."""
        label = spec or self.name
        self.info = ModelInfo(
            provider=self.name,
            model=label,
            label=label,
            params=None,
            scripted=False,
            supports_logprobs=self.supports_logprobs,
        )

    @property
    def identity(self) -> dict[str, str]:
        """What makes this model's answers this model's: the response cache's key. By default the
        provider, the model id and the details (endpoint, API); engines that read a file override it
        with the file's hash."""
        return {"provider": self.info.provider, "model": self.info.model, **self.info.details}

    @classmethod
    def from_spec(cls, spec: str | None, options: ProviderOptions) -> Self:
        """Load the model named by `spec` (None: the provider's default): `check_spec`, then
        `cls(spec, options)`. Providers that resolve `spec` first (a file, a download) override it."""
        cls.check_spec(spec, options)
        return cls(spec, options)

    @classmethod
    def api_key(cls) -> str | None:
        """The key in the environment variable `key_env`; None when unset, blank, or not needed."""
        return (os.environ.get(cls.key_env) or "").strip() or None if cls.key_env else None

    @classmethod
    def check_spec(cls, spec: str | None, options: ProviderOptions) -> None:
        """Raise a BenchError if `spec` clearly cannot be used (missing package, file or key); cheap.
        By default only the key (`check_key`)."""
        cls.check_key(options)

    @classmethod
    def check_key(cls, options: ProviderOptions, service: str | None = None) -> None:
        """A UsageError when the provider has a `key_env` that is not set and no --base-url server of
        one's own is used; `service` names what the key is for."""
        if cls.key_env and not cls.api_key() and not options.base_url:
            raise UsageError(
                f"--provider {cls.name} needs the environment variable {cls.key_env}"
                f"{f' for {service}' if service else ''} (or --base-url for a server of your own)"
            )

    @classmethod
    def footprint(cls, spec: str | None, options: ProviderOptions, params: int | None) -> Footprint | None:
        """Download and memory the model will need (`params`: its size where a family states it);
        None for models that run elsewhere."""
        return None

    @abc.abstractmethod
    async def generate(self, request: GenerateRequest) -> Generation:
        """The model's greedy completion of `request.prompt`, cut at the first of `request.stop`."""

    async def score(self, request: ScoreRequest) -> ContinuationScores:
        """Log-probability of each of `request.continuations` after `request.prompt`."""
        raise NotImplementedError(f"provider {self.name!r} does not give log-probabilities")

    async def generate_many(self, requests: Sequence[GenerateRequest]) -> list[Generation]:
        """`generate` for each request; engines that batch (batch_size > 1) override it."""
        return [await self.generate(request) for request in requests]

    async def score_many(self, requests: Sequence[ScoreRequest]) -> list[ContinuationScores]:
        """`score` for each request; engines that batch override it."""
        return [await self.score(request) for request in requests]

    def sent(self, prompt: str) -> str | None:
        """The text the model is given for `prompt` when it is not the prompt itself (a chat template
        applied by this engine); None by default."""
        return None

    async def aclose(self) -> None:
        """Free what the model holds; the runner awaits this after each model of a sweep (one model
        in memory at a time). By default it closes an SDK client kept in `self.client`."""
        client = getattr(self, "client", None)
        if client is not None:
            await client.close()

    def close(self) -> None:
        """`aclose` for callers outside an event loop (scripts, tests)."""
        with contextlib.suppress(Exception):  # connections of a loop that has ended: nothing to free
            asyncio.run(self.aclose())
