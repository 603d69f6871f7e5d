"""Hugging Face Inference Providers, TGI and OpenAI-compatible servers through
`huggingface_hub.AsyncInferenceClient`.

Without `--base-url` the model id (`--model org/name`) goes to Hugging Face Inference Providers, with
the token from `HF_TOKEN`. With `--base-url` requests go to that endpoint: `HF_TOKEN` is sent if set,
else a placeholder (never the token saved by `hf auth login`, which the library would otherwise send
to whatever server the URL names).

API (`--api`):
- `chat` (also `auto`, the default): `chat_completion` with the prompt as one user message, so the
  server wraps it in the model's chat template. Any OpenAI-compatible server speaks this (vLLM,
  llama.cpp's server, TGI's Messages API, Inference Providers).
- `completions`: `text_generation(prompt, details=True)`, the raw prompt to TGI's native `/generate`
  API (`--base-url` is the TGI server's root URL). It needs a real TGI server (or a TGI-backed
  Inference Endpoint); OpenAI-compatible servers do not serve it.

Log-probabilities of given continuations only from a TGI server (`completions` with `--base-url`): its
`/generate` returns the prompt's own token log-probs with `decoder_input_details`, asked for once at
load; a class's score is the sum over the tokens that start inside it. Elsewhere choice items are scored
from the generated answer. The adapter never retries; failures become ProviderErrors whose kind tells
the runner whether to retry.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence
from typing import Any

from benchmark.errors import UsageError
from benchmark.schemas import ModelInfo
from providers.base import (
    ContinuationScores,
    ErrorKind,
    GenerateRequest,
    Generation,
    InvalidAnswer,
    Provider,
    ProviderError,
    ProviderOptions,
    ScoreRequest,
    generated,
)
from providers.body_limit import bounded_session, max_body_bytes
from providers.http_api import (
    GREEDY_EXTRAS,
    GREEDY_NOTE,
    APIOptions,
    check_api_spec,
    classify_status,
    first_line,
    public_url,
    redact,
    run_sync,
    sum_between,
    url_secrets,
)

HF_ROUTER = "https://router.huggingface.co"
PLACEHOLDER_TOKEN = "hf_no_token_needed"


def _require_hub() -> None:
    try:
        import huggingface_hub  # noqa: F401
    except ImportError:
        raise UsageError(
            "--provider hf needs the Python package 'huggingface_hub' (a dependency of bench): "
            "pip install 'huggingface_hub>=2.4'"
        ) from None


def _http_status(exc: BaseException) -> tuple[int | None, Any]:
    """HTTP status and response of an error, looking through the chain (TGI errors wrap the HTTP one)."""
    seen: BaseException | None = exc
    for _ in range(5):
        if seen is None:
            break
        response = getattr(seen, "response", None)
        status = getattr(response, "status_code", None)
        if isinstance(status, int):
            return status, response
        seen = seen.__cause__ or seen.__context__
    return None, None


def _server_message(exc: BaseException, response: Any) -> str:
    message = getattr(exc, "server_message", None)
    if not message and response is not None:
        with contextlib.suppress(Exception):
            body = response.json()
            if isinstance(body, Mapping):
                error = body.get("error")
                if isinstance(error, Mapping):
                    error = error.get("message")
                message = str(error or body.get("message") or "")
    return first_line(str(message or exc))


def map_error(exc: BaseException, model: str, where: str, secrets: Sequence[str] = ()) -> ProviderError:
    """Classify an error of huggingface_hub's inference client (httpx2 underneath) for the runner."""
    from huggingface_hub.errors import InferenceTimeoutError, OverloadedError

    try:  # huggingface_hub 2.x sends requests with httpx2
        import httpx2

        timeouts: tuple[type[BaseException], ...] = (httpx2.TimeoutException,)
        transport: tuple[type[BaseException], ...] = (httpx2.TransportError,)
    except ImportError:
        timeouts, transport = (), ()

    def scrub(text: str) -> str:
        return redact(text, *secrets)

    if isinstance(exc, ProviderError):  # already classified: a body over the limit (body_limit)
        return exc
    status, response = _http_status(exc)
    if status is not None:
        return classify_status(
            status,
            scrub(_server_message(exc, response)),
            key_variable=HFInferenceProvider.key_env,
            model=model,
            where=where,
            headers=getattr(response, "headers", None),
        )
    if isinstance(exc, (InferenceTimeoutError, TimeoutError, *timeouts)):
        return ProviderError(ErrorKind.TRANSIENT, f"request timed out ({where})")
    if isinstance(exc, OverloadedError):
        return ProviderError(ErrorKind.TRANSIENT, scrub(f"server overloaded: {first_line(str(exc))}"))
    if isinstance(exc, (ConnectionError, *transport)):
        return ProviderError(ErrorKind.TRANSIENT, scrub(f"cannot connect to {where}: {first_line(str(exc))}"))
    return ProviderError(ErrorKind.FATAL, scrub(f"{type(exc).__name__}: {first_line(str(exc))}"))


class HFInferenceProvider(Provider):
    name = "hf-inference"
    key_env = "HF_TOKEN"
    Options = APIOptions
    supports_logprobs = False
    max_concurrency = None

    def __init__(self, spec: str, options: ProviderOptions) -> None:
        _require_hub()

        self.spec = spec
        self.api = "completions" if APIOptions.of(options).api == "completions" else "chat"
        self.base_url = options.base_url
        token = self.api_key()
        self.where = public_url(self.base_url or HF_ROUTER)
        self._secrets = tuple(x for x in (token, *url_secrets(self.base_url)) if x)
        self.client: Any = self._bounded_client(token, options.timeout)
        self.supports_logprobs = self._tgi_prefill_logprobs(token, options.timeout)
        self.info = ModelInfo(
            provider=self.name,
            model=spec,
            label=spec,
            params=None,
            scripted=False,
            supports_logprobs=self.supports_logprobs,
            details={"api": self.api, "base_url": self.where}
            | ({"decoding": GREEDY_NOTE} if self.base_url and self.api == "chat" else {})
            | ({"logprobs": "TGI prefill"} if self.supports_logprobs else {}),
        )

    def _bounded_client(self, token: str | None, timeout: float) -> Any:
        """huggingface_hub's AsyncInferenceClient on a session that reads at most
        BENCH_MAX_RESPONSE_BYTES of an answer (providers/body_limit.py); the client has no public way
        to be given one, so its private `_async_client` is set (checked by the tests)."""
        from huggingface_hub import AsyncInferenceClient

        if self.base_url:
            client = AsyncInferenceClient(
                base_url=self.base_url, api_key=token or PLACEHOLDER_TOKEN, timeout=timeout
            )
        else:
            client = AsyncInferenceClient(api_key=token, timeout=timeout)
        client._async_client = bounded_session(max_body_bytes())
        return client

    async def aclose(self) -> None:
        session = self.client._async_client  # not in the client's own exit stack: closed here
        await super().aclose()
        if session is not None:
            await session.aclose()

    def _tgi_prefill_logprobs(self, token: str | None, timeout: float) -> bool:
        """Whether the server is TGI with prompt log-probs (one small request, at load, on a client of
        its own: connections belong to the event loop that opened them)."""
        if not (self.base_url and self.api == "completions"):
            return False
        text = "The capital of France is Paris"

        async def ask() -> Any:
            client = self._bounded_client(token, timeout)
            try:
                return await client.text_generation(
                    text, max_new_tokens=1, details=True, decoder_input_details=True
                )
            finally:
                await client._async_client.aclose()

        try:
            _prefill_sum(run_sync(ask), text, len("The capital of France is"))
        except Exception:  # noqa: BLE001 - no such details here: classes are scored from generated text
            return False
        return True

    @classmethod
    def check_spec(cls, spec: str | None, options: ProviderOptions) -> None:
        _require_hub()
        check_api_spec(
            cls, spec, options, "meta-llama/Llama-3.1-8B-Instruct", "Hugging Face Inference Providers"
        )

    async def score(self, request: ScoreRequest) -> ContinuationScores:
        if not self.supports_logprobs:
            return await super().score(request)
        prompt, continuations = request.prompt, request.continuations
        totals, counts = [], 0
        for continuation in continuations:
            text = prompt + continuation
            try:
                out = await self.client.text_generation(
                    text, max_new_tokens=1, details=True, decoder_input_details=True
                )
            except Exception as exc:  # noqa: BLE001 - every failure is classified for the runner
                raise map_error(exc, self.spec, self.where, self._secrets) from None
            total, n = _prefill_sum(out, text, len(prompt))
            totals.append(total)
            counts += n
        return ContinuationScores(tuple(totals), None, counts)

    async def generate(self, request: GenerateRequest) -> Generation:
        stop = list(request.stop) or None
        try:
            if self.api == "chat":
                out = await self.client.chat_completion(
                    messages=[{"role": "user", "content": request.prompt}],
                    model=self.spec,
                    max_tokens=request.max_tokens,
                    temperature=0,
                    stop=stop,
                    extra_body=GREEDY_EXTRAS if self.base_url else None,
                )
                text = out.choices[0].message.content if out.choices else None
                usage = getattr(out, "usage", None)
                prompt_tokens = getattr(usage, "prompt_tokens", None)
                completion_tokens = getattr(usage, "completion_tokens", None)
            else:
                # TGI's /generate: greedy unless do_sample; `stop` is TGI's stop sequences.
                out = await self.client.text_generation(
                    request.prompt,
                    model=None if self.base_url else self.spec,
                    max_new_tokens=request.max_tokens,
                    stop=stop,
                    details=True,
                )
                text = out.generated_text
                details = getattr(out, "details", None)
                completion_tokens = getattr(details, "generated_tokens", None)
                prefill = getattr(details, "prefill", None)
                prompt_tokens = len(prefill) if prefill else None
        except Exception as exc:  # noqa: BLE001 - every failure is classified for the runner
            raise map_error(exc, self.spec, self.where, self._secrets) from None
        # TGI keeps the stop sequence in the text; OpenAI-compatible servers drop it.
        return generated(text, request.stop, prompt_tokens, completion_tokens)


def _prefill_sum(out: Any, text: str, start: int) -> tuple[float, int]:
    """The log-probs of TGI's prefill tokens that start at or after `start` in `text` (the tokens' texts
    end with `text`; a BOS before it is skipped)."""
    prefill = getattr(getattr(out, "details", None), "prefill", None)
    if not prefill:
        raise InvalidAnswer("the server returned no prompt tokens (decoder_input_details)")
    pieces = [str(getattr(token, "text", "") or "") for token in prefill]
    joined = "".join(pieces)
    if not joined.endswith(text):
        raise InvalidAnswer("the server's prompt tokens do not spell the prompt")
    offsets, position = [], -(len(joined) - len(text))
    for piece in pieces:
        offsets.append(position)
        position += len(piece)
    values = [getattr(token, "logprob", None) for token in prefill]
    return sum_between(offsets, values, start, len(text))
