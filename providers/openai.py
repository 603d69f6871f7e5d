"""OpenAI and OpenAI-compatible servers (vLLM, llama.cpp server, Ollama, ...).

Client: api.openai.com (no `--base-url`, or one on openai.com) goes through the `openai` SDK. Any
other `--base-url` (a self-hosted server) goes through providers/http11.py, a plain keep-alive HTTP/1.1
JSON client (proxies from the environment honoured): the SDK's per-request CPU cost capped a loopback
server well below what `--concurrency` asked for, and neither the SDK on aiohttp nor bare aiohttp or
httpx reached 90% of it (perf/README.md, "HTTP clients"). Both send the same
JSON bodies and headers that matter (`Authorization: Bearer ...`), read the same fields of the answer
and map failures to the same ProviderErrors, so a run's samples, errors and ModelInfo (its `details`,
hence the response cache's key) do not depend on which client was used; the client is not recorded.
Over 400 lines for that reason: both clients' requests and the one reading of their answers and
failures are kept side by side.

The API key comes from the environment (`OPENAI_API_KEY`) only and is never written anywhere; with
`--base-url` and no key, a placeholder key is sent (local servers do not check it).

API (`--api`): `completions` sends the prompt as is (base models); `chat` sends it as one user
message, so the server wraps it in the model's chat template. `auto` picks completions when a
`--base-url` is given (local servers serve base models), else chat, unless the model id looks like a
completions model (`*-instruct`, `davinci-002`, `babbage-002`).

Log-probabilities of continuations (`score`) use the completions endpoint with
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

The adapter never retries: the SDK client is made with `max_retries=0` (http11 retries only a request
that a stale keep-alive connection never delivered), and every failure becomes a ProviderError whose
kind tells the runner whether to retry.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any, TypeVar
from urllib.parse import urlsplit

from benchmark.errors import MissingExtraError, UsageError
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
    scores_from,
    token_count,
)
from providers.body_limit import max_body_bytes
from providers.http11 import HTTP11Client, RequestTimeout, TransportError
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

T = TypeVar("T")

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
    api = APIOptions.of(options).api
    if api in ("completions", "chat"):
        return api
    if options.base_url:
        return "completions"
    model = spec.rsplit("/", 1)[-1]
    return "completions" if model.endswith("-instruct") or model in _COMPLETIONS_MODELS else "chat"


def is_self_hosted(base_url: str | None) -> bool:
    """A --base-url that is not OpenAI's own API: served through http11 rather than the SDK."""
    host = (urlsplit(base_url).hostname or "") if base_url else "openai.com"
    return not (host == "openai.com" or host.endswith(".openai.com"))


def _body_message(body: object) -> str | None:
    """The server's own message in an error body (`{"error": {"message": ...}}`, as the SDK unwraps it)."""
    if isinstance(body, Mapping):
        message = body.get("message") or body.get("detail") or body.get("error")
        if message:
            return str(message)
    if isinstance(body, str) and body:
        return body
    return None


def _server_message(exc: Any) -> str:
    """The server's own error message from an APIStatusError (body `{"error": {"message": ...}}`)."""
    return _body_message(getattr(exc, "body", None)) or str(getattr(exc, "message", "") or exc)


def _status_error(
    status: int,
    message: str,
    headers: Mapping[str, str] | None,
    model: str,
    base_url: str,
    secrets: Sequence[str],
) -> ProviderError:
    return classify_status(
        status,
        redact(first_line(message), *secrets),
        key_variable=OpenAIProvider.key_env,
        model=model,
        where=base_url,
        headers=headers,
        not_found_hint="; check --model, and --base-url, which usually ends in /v1",
    )


def map_error(exc: BaseException, model: str, base_url: str, secrets: Sequence[str] = ()) -> ProviderError:
    """Classify an exception of the openai SDK or of http11 for the runner (which alone retries).
    `base_url` is the public one (public_url); `secrets` are redacted from every message."""
    if isinstance(exc, RequestTimeout):
        return ProviderError(ErrorKind.TRANSIENT, f"request timed out ({base_url})")
    if isinstance(exc, TransportError):
        detail = f": {first_line(str(exc), 120)}" if str(exc) else ""
        return ProviderError(ErrorKind.TRANSIENT, redact(f"cannot connect to {base_url}{detail}", *secrets))
    import openai

    if isinstance(exc, openai.APIStatusError):
        headers = getattr(exc.response, "headers", None)
        return _status_error(exc.status_code, _server_message(exc), headers, model, base_url, secrets)
    if isinstance(exc, openai.APITimeoutError):
        return ProviderError(ErrorKind.TRANSIENT, f"request timed out ({base_url})")
    if isinstance(exc, openai.APIConnectionError):
        cause = exc.__cause__
        detail = f": {first_line(str(cause), 120)}" if cause and str(cause) else ""
        return ProviderError(ErrorKind.TRANSIENT, redact(f"cannot connect to {base_url}{detail}", *secrets))
    return ProviderError(ErrorKind.FATAL, redact(f"{type(exc).__name__}: {first_line(str(exc))}", *secrets))


_JSON_VALUES = (str, int, float, list, type(None))


def _get(obj: Any, name: str) -> Any:
    """A field of an answer: an SDK object's attribute or a parsed JSON object's key (None if absent,
    or if `obj` is a JSON value that has no fields)."""
    if isinstance(obj, Mapping):
        return obj.get(name)
    return None if isinstance(obj, _JSON_VALUES) else getattr(obj, name, None)


def _first_choice(out: Any) -> Any:
    choices = _get(out, "choices")
    if not isinstance(choices, Sequence) or isinstance(choices, str) or not choices:
        raise InvalidAnswer(f"choices is {first_line(repr(choices), 40)}, not a list of choices")
    return choices[0]


def _text(choice: Any, api: str) -> Any:
    """The generated text of a choice, unchecked: `text` (completions) or `message.content` (chat)."""
    return _get(choice, "text") if api == "completions" else _get(_get(choice, "message"), "content")


class OpenAIProvider(Provider):
    name = "openai"
    key_env = "OPENAI_API_KEY"
    Options = APIOptions
    max_concurrency = None

    def __init__(self, spec: str, options: ProviderOptions) -> None:
        _require_sdk()
        self.spec = spec
        self.api = choose_api(spec, options)
        self.base_url = options.base_url or OPENAI_URL
        self.where = public_url(self.base_url)
        """The endpoint as written down and shown: without a password or token."""
        self.timeout = options.timeout
        key = self.api_key()
        self._secret = key
        self._secrets = tuple(x for x in (key, *url_secrets(self.base_url)) if x)
        self.client: Any = None  # the SDK's, for OpenAI's own API
        self.http: HTTP11Client | None = None  # for a self-hosted server
        if is_self_hosted(options.base_url):
            self.http = self._http_client()
        else:
            from openai import AsyncOpenAI

            self.client = AsyncOpenAI(
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
            details={"api": self.api, "base_url": self.where}
            | ({"decoding": GREEDY_NOTE} if self.http is not None else {}),
        )

    @classmethod
    def check_spec(cls, spec: str | None, options: ProviderOptions) -> None:
        _require_sdk()
        check_api_spec(cls, spec, options, "gpt-4o-mini", "the OpenAI API")

    def _error(self, exc: BaseException) -> ProviderError:
        return map_error(exc, self.spec, self.where, self._secrets)

    def _http_client(self) -> HTTP11Client:
        try:
            return HTTP11Client(
                self.base_url,
                {"Authorization": f"Bearer {self._secret or PLACEHOLDER_KEY}"},
                max_body=max_body_bytes(),
            )
        except ValueError as exc:  # an unsupported proxy in the environment
            raise UsageError(str(exc)) from None

    async def aclose(self) -> None:
        if self.http is not None:
            await self.http.aclose()
        await super().aclose()

    async def _request(self, path: str, body: dict[str, Any], http: HTTP11Client | None = None) -> Any:
        """POST `body` to the endpoint `path` (completions or chat/completions) and return the answer:
        through http11 for a self-hosted server, else the SDK. Failures become ProviderErrors."""
        http = http or self.http
        if http is None:
            import openai

            endpoint = self.client.completions if path == "completions" else self.client.chat.completions
            try:
                return await endpoint.create(**body)
            except openai.OpenAIError as exc:
                raise self._error(exc) from None
        try:
            status, headers, out = await http.post_json(path, body, timeout=self.timeout)
        except TransportError as exc:
            raise self._error(exc) from None
        if status >= 300:
            data = out.get("error", out) if isinstance(out, Mapping) else out
            message = _body_message(data) or f"Error code: {status}"
            raise _status_error(status, message, headers, self.spec, self.where, self._secrets)
        if not isinstance(out, Mapping):
            shown = redact(first_line(str(out), 120), *self._secrets)
            raise InvalidAnswer(f"{self.where}/{path} answered {shown!r}, not a JSON object")
        return out

    # -- generation ---------------------------------------------------------------------------
    async def generate(self, request: GenerateRequest) -> Generation:
        stop = list(request.stop)[:MAX_STOP] or None
        body: dict[str, Any] = {"model": self.spec}
        if self.api == "completions":
            body["prompt"] = request.prompt
        else:
            body["messages"] = [{"role": "user", "content": request.prompt}]
        body.update(max_tokens=request.max_tokens, temperature=0, stop=stop)
        if self.http is not None:
            body.update(GREEDY_EXTRAS)
        path = "completions" if self.api == "completions" else "chat/completions"
        out = await self._request(path, body)
        usage = _get(out, "usage")
        text = _text(_first_choice(out), self.api)
        return generated(text, request.stop, _get(usage, "prompt_tokens"), _get(usage, "completion_tokens"))

    # -- log-probabilities ----------------------------------------------------------------------
    def _enable_logprobs(self, options: ProviderOptions) -> None:
        """Ask once (synchronously, at load time) whether the endpoint returns prompt log-probs."""
        if self.api != "completions":
            raise UsageError(f"{LOGPROBS_ENV}=1 needs the completions API (--api completions)")
        prompt, continuation = "The capital of France is", " Paris"
        try:
            out = self._probe(self._echo_args(prompt + continuation), options)
        except ProviderError as exc:
            raise UsageError(
                f"{LOGPROBS_ENV}=1: {self.where} does not give prompt log-probs "
                f"({exc.message}); llama.cpp's server needs --logits_all true"
            ) from None
        try:
            _sum_after(out, len(prompt), len(prompt + continuation))
        except ProviderError as exc:
            raise UsageError(f"{LOGPROBS_ENV}=1: {self.where} {exc.message}") from None
        self.supports_logprobs = True

    def _probe(self, body: dict[str, Any], options: ProviderOptions) -> Any:
        """One completions request from synchronous code, on a client of its own."""
        if self.http is not None:
            probe = self._http_client()

            async def ask() -> Any:
                try:
                    return await self._request("completions", body, probe)
                finally:
                    await probe.aclose()

            return run_sync(ask)
        import openai

        client = openai.OpenAI(
            api_key=self._secret or PLACEHOLDER_KEY,
            base_url=self.base_url,
            max_retries=0,
            timeout=options.timeout,
        )
        try:
            return client.completions.create(**body)
        except openai.OpenAIError as exc:
            raise self._error(exc) from None
        finally:
            client.close()

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

    async def score(self, request: ScoreRequest) -> ContinuationScores:
        prompt, continuations = request.prompt, request.continuations
        if not self.supports_logprobs:
            raise ProviderError(ErrorKind.FATAL, f"log-probs are off (set {LOGPROBS_ENV}=1)")
        totals: list[float] = []
        counted = 0
        prompt_tokens: int | None = None
        for continuation in continuations:
            out = await self._request("completions", self._echo_args(prompt + continuation))
            total, n = _sum_after(out, len(prompt), len(prompt + continuation))
            totals.append(total)
            counted += n
            used = token_count(_get(_get(out, "usage"), "prompt_tokens"), "usage.prompt_tokens")
            if prompt_tokens is None and used is not None:
                prompt_tokens = max(0, used - n)
        return scores_from(
            {"logprobs": totals, "prompt_tokens": prompt_tokens, "continuation_tokens": counted},
            len(continuations),
        )


def _numbers(values: Any, kind: type | tuple[type, ...], name: str) -> list[Any]:
    """`values` as a list of `kind` (or None), else InvalidAnswer."""
    if not isinstance(values, Sequence) or isinstance(values, str) or not values:
        raise InvalidAnswer(f"the endpoint returned no prompt log-probs (echo + logprobs): {name} is missing")
    for value in values:
        if value is not None and (isinstance(value, bool) or not isinstance(value, kind)):
            raise InvalidAnswer(f"{name} holds {first_line(repr(value), 40)}")
    return list(values)


def _sum_after(out: Any, start: int, end: int) -> tuple[float, int]:
    """Sum of the echoed token log-probs with text offset in [start, end), and their number."""
    logprobs = _get(_first_choice(out), "logprobs")
    offsets = _numbers(_get(logprobs, "text_offset"), int, "text_offset")
    values = _numbers(_get(logprobs, "token_logprobs"), (int, float), "token_logprobs")
    return sum_between(offsets, values, start, end)
