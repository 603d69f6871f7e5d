"""OpenAI and OpenAI-compatible servers (vLLM, llama.cpp server, Ollama, ...) through the `openai` SDK.

The API key comes from the environment (`OPENAI_API_KEY`) only and is never written anywhere; with
`--base-url` and no key, a placeholder key is sent (local servers do not check it).

API (`--api`): `completions` sends the prompt as is (base models); `chat` sends it as one user
message, so the server wraps it in the model's chat template. `auto` picks completions when a
`--base-url` is given (local servers serve base models), else chat, unless the model id looks like a
completions model (`*-instruct`, `davinci-002`, `babbage-002`).

Log-probabilities of continuations (`score_continuations`) use the completions endpoint with
`echo=True, logprobs=1` on prompt + continuation and sum the log-probs of the tokens that start at or
after the end of the prompt. They are opt-in: set `BENCH_OPENAI_LOGPROBS=1`, and the adapter checks
once, when the model is loaded, that the endpoint really returns prompt log-probs (else one error line).
They are not on by default because
- the chat API has no prompt log-probs, and OpenAI's own completions models may refuse `echo` with
  `logprobs`;
- llama-cpp-python's server returns them only with `--logits_all true` (its default; with
  `--logits_all false` the request fails), and then it keeps n_ctx × n_vocab floats of scores
  (4.3 GB for Gemma-3 at n_ctx 4096) and sorts the whole vocabulary for every echoed token, which is
  slow on long few-shot prompts;
- `max_tokens=0` means "until the context is full" to llama-cpp-python, so the request asks for one
  token (`max_tokens=1`) and ignores it.

The adapter never retries: the SDK client is made with `max_retries=0`, and every failure becomes a
ProviderError whose kind tells the runner whether to retry.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

from benchmark.errors import MissingExtraError, UsageError
from benchmark.schemas import ModelInfo
from providers.base import (
    ContinuationScores,
    ErrorKind,
    GenerateRequest,
    Generation,
    Provider,
    ProviderError,
    ProviderOptions,
    cut_at_stop,
)
from providers.http_api import check_api_spec, classify_status, first_line, redact

OPENAI_URL = "https://api.openai.com/v1"
PLACEHOLDER_KEY = "sk-no-key-needed"
"""Sent to a --base-url server when OPENAI_API_KEY is not set (the SDK refuses an empty key)."""
LOGPROBS_ENV = "BENCH_OPENAI_LOGPROBS"
MAX_STOP = 4  # OpenAI accepts at most four stop sequences; the rest are applied here
_COMPLETIONS_MODELS = ("davinci-002", "babbage-002")


def _require_sdk() -> None:
    try:
        import openai  # noqa: F401
    except ImportError:
        raise MissingExtraError("openai", "openai", "--provider openai") from None


def choose_api(spec: str, options: ProviderOptions) -> str:
    """The API to use for `spec`: completions or chat (see the module docstring for `auto`)."""
    if options.api in ("completions", "chat"):
        return options.api
    if options.base_url:
        return "completions"
    model = spec.rsplit("/", 1)[-1]
    return "completions" if model.endswith("-instruct") or model in _COMPLETIONS_MODELS else "chat"


def _server_message(exc: Any) -> str:
    """The server's own error message from an APIStatusError (body `{"error": {"message": ...}}`)."""
    body = getattr(exc, "body", None)
    if isinstance(body, Mapping):
        message = body.get("message") or body.get("detail") or body.get("error")
        if message:
            return str(message)
    if isinstance(body, str) and body:
        return body
    return str(getattr(exc, "message", "") or exc)


def map_error(exc: BaseException, model: str, base_url: str, secret: str | None = None) -> ProviderError:
    """Classify an exception of the openai SDK for the runner (which alone retries)."""
    import openai

    def scrub(text: str) -> str:
        return redact(text, secret)

    if isinstance(exc, openai.APIStatusError):
        return classify_status(
            exc.status_code,
            scrub(first_line(_server_message(exc))),
            key_variable="OPENAI_API_KEY",
            model=model,
            where=base_url,
            headers=getattr(exc.response, "headers", None),
            not_found_hint="; check --model, and --base-url, which usually ends in /v1",
        )
    if isinstance(exc, openai.APITimeoutError):
        return ProviderError(ErrorKind.TRANSIENT, f"request timed out ({base_url})")
    if isinstance(exc, openai.APIConnectionError):
        cause = exc.__cause__
        detail = f": {first_line(str(cause), 120)}" if cause and str(cause) else ""
        return ProviderError(ErrorKind.TRANSIENT, scrub(f"cannot connect to {base_url}{detail}"))
    return ProviderError(ErrorKind.FATAL, scrub(f"{type(exc).__name__}: {first_line(str(exc))}"))


class OpenAIProvider(Provider):
    name = "openai"
    max_concurrency = None

    def __init__(self, spec: str, options: ProviderOptions) -> None:
        _require_sdk()
        from openai import AsyncOpenAI

        self.spec = spec
        self.api = choose_api(spec, options)
        self.base_url = options.base_url or OPENAI_URL
        key = os.environ.get("OPENAI_API_KEY") or None
        self._secret = key
        self.client: Any = AsyncOpenAI(
            api_key=key or PLACEHOLDER_KEY,
            base_url=self.base_url,
            max_retries=0,
            timeout=options.timeout,
        )
        self.supports_logprobs = False
        if os.environ.get(LOGPROBS_ENV, "") not in ("", "0"):
            self._enable_logprobs(options)
        self.info = ModelInfo(
            provider=self.name,
            model=spec,
            label=spec,
            params=None,
            scripted=False,
            supports_logprobs=self.supports_logprobs,
            details={"api": self.api, "base_url": self.base_url},
        )

    @classmethod
    def check_spec(cls, spec: str | None, options: ProviderOptions) -> None:
        _require_sdk()
        check_api_spec("openai", spec, options, "OPENAI_API_KEY", "gpt-4o-mini", "the OpenAI API")

    @classmethod
    def from_spec(cls, spec: str | None, options: ProviderOptions) -> OpenAIProvider:
        cls.check_spec(spec, options)
        assert spec is not None
        return cls(spec, options)

    def _error(self, exc: BaseException) -> ProviderError:
        return map_error(exc, self.spec, self.base_url, self._secret)

    # -- generation ---------------------------------------------------------------------------
    async def generate(self, request: GenerateRequest) -> Generation:
        import openai

        stop = list(request.stop)[:MAX_STOP] or None
        try:
            if self.api == "completions":
                out = await self.client.completions.create(
                    model=self.spec,
                    prompt=request.prompt,
                    max_tokens=request.max_tokens,
                    temperature=0,
                    stop=stop,
                )
                text = out.choices[0].text if out.choices else ""
            else:
                out = await self.client.chat.completions.create(
                    model=self.spec,
                    messages=[{"role": "user", "content": request.prompt}],
                    max_tokens=request.max_tokens,
                    temperature=0,
                    stop=stop,
                )
                text = (out.choices[0].message.content if out.choices else None) or ""
        except openai.OpenAIError as exc:
            raise self._error(exc) from None
        usage = getattr(out, "usage", None)
        return Generation(
            text=cut_at_stop(text or "", request.stop),
            prompt_tokens=getattr(usage, "prompt_tokens", None),
            completion_tokens=getattr(usage, "completion_tokens", None),
        )

    # -- log-probabilities ----------------------------------------------------------------------
    def _enable_logprobs(self, options: ProviderOptions) -> None:
        """Ask once (synchronously, at load time) whether the endpoint returns prompt log-probs."""
        if self.api != "completions":
            raise UsageError(f"{LOGPROBS_ENV}=1 needs the completions API (--api completions)")
        import openai

        probe = openai.OpenAI(
            api_key=self._secret or PLACEHOLDER_KEY,
            base_url=self.base_url,
            max_retries=0,
            timeout=options.timeout,
        )
        prompt, continuation = "The capital of France is", " Paris"
        try:
            out = probe.completions.create(**self._echo_args(prompt + continuation))
            _sum_after(out, len(prompt), len(prompt + continuation))
        except openai.OpenAIError as exc:
            raise UsageError(
                f"{LOGPROBS_ENV}=1: {self.base_url} does not give prompt log-probs "
                f"({self._error(exc).message}); llama.cpp's server needs --logits_all true"
            ) from None
        except ProviderError as exc:
            raise UsageError(f"{LOGPROBS_ENV}=1: {self.base_url} {exc.message}") from None
        finally:
            probe.close()
        self.supports_logprobs = True

    def _echo_args(self, text: str) -> dict[str, Any]:
        # max_tokens=1, not 0: llama-cpp-python reads 0 as "until the context is full".
        return {
            "model": self.spec,
            "prompt": text,
            "echo": True,
            "logprobs": 1,
            "max_tokens": 1,
            "temperature": 0,
        }

    async def score_continuations(
        self, prompt: str, continuations: Sequence[str], shared_prefix: int = 0
    ) -> ContinuationScores:
        import openai

        if not self.supports_logprobs:
            raise ProviderError(ErrorKind.FATAL, f"log-probs are off (set {LOGPROBS_ENV}=1)")
        totals: list[float] = []
        counted = 0
        prompt_tokens: int | None = None
        for continuation in continuations:
            try:
                out = await self.client.completions.create(**self._echo_args(prompt + continuation))
            except openai.OpenAIError as exc:
                raise self._error(exc) from None
            total, n = _sum_after(out, len(prompt), len(prompt + continuation))
            totals.append(total)
            counted += n
            used: int | None = getattr(getattr(out, "usage", None), "prompt_tokens", None)
            if prompt_tokens is None and used is not None:
                prompt_tokens = max(0, used - n)
        return ContinuationScores(tuple(totals), prompt_tokens=prompt_tokens, continuation_tokens=counted)


def _sum_after(out: Any, start: int, end: int) -> tuple[float, int]:
    """Sum of the echoed token log-probs with text offset in [start, end), and their number."""
    choice = out.choices[0] if getattr(out, "choices", None) else None
    logprobs = getattr(choice, "logprobs", None)
    offsets = getattr(logprobs, "text_offset", None)
    values = getattr(logprobs, "token_logprobs", None)
    if not offsets or not values:
        raise ProviderError(ErrorKind.FATAL, "the endpoint returned no prompt log-probs (echo + logprobs)")
    total, n = 0.0, 0
    for offset, value in zip(offsets, values, strict=False):
        if start <= offset < end:
            if value is None:
                raise ProviderError(ErrorKind.FATAL, "the endpoint returned no log-prob for a prompt token")
            total += float(value)
            n += 1
    if n == 0:
        raise ProviderError(ErrorKind.FATAL, "the continuation has no tokens of its own in the echo")
    return total, n
