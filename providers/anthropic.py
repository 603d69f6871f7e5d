"""Claude through Anthropic's Messages API, with the official `anthropic` SDK (the `anthropic` extra).

One user turn per item; no log-probabilities, so tasks that would score classes by log-prob are
scored from the generated answer instead. Sampling is the API's default: the SDK this adapter is
written against (anthropic 2.x) has no `temperature` parameter on `messages.create` any more, and
forcing one in through `extra_body` risks a 400 from models that refuse sampling settings.
The SDK's own retries are off (`max_retries=0`): the runner is the only retry layer, and this
adapter only classifies failures.

Stop sequences: the API rejects whitespace-only stop sequences (such as "\\n", which most tasks
use), so those are left out of the request and the returned text is cut locally at the first
occurrence of any of the request's stop sequences.

The API key is read from ANTHROPIC_API_KEY and is never written into model info, errors or logs.
"""

from __future__ import annotations

import importlib.util
import sys
from typing import TYPE_CHECKING, Any

from benchmark.errors import MissingExtraError
from benchmark.schemas import ModelInfo
from providers.base import (
    ErrorKind,
    GenerateRequest,
    Generation,
    InvalidAnswer,
    Provider,
    ProviderError,
    ProviderOptions,
    generated,
)
from providers.http_api import check_api_spec, classify_status, first_line, public_url, redact, url_secrets

if TYPE_CHECKING:
    import anthropic as anthropic_sdk

DEFAULT_BASE_URL = "https://api.anthropic.com"
_PLACEHOLDER_KEY = "no-key-set"
"""Sent when --base-url points at a server of one's own and ANTHROPIC_API_KEY is unset."""
"""Longest Retry-After honoured, in seconds; a longer one is cut to this (the runner retries anyway)."""


def _sdk_installed() -> bool:
    """Whether the SDK can be imported, without importing it (that takes seconds)."""
    if "anthropic" in sys.modules:
        return sys.modules["anthropic"] is not None
    try:
        return importlib.util.find_spec("anthropic") is not None
    except (ImportError, ValueError):
        return False


def _import_sdk() -> Any:
    try:
        import anthropic
    except ImportError:
        raise MissingExtraError("anthropic", "anthropic", "--provider anthropic") from None
    return anthropic


class AnthropicProvider(Provider):
    name = "anthropic"
    key_env = "ANTHROPIC_API_KEY"
    supports_logprobs = False

    def __init__(self, model: str, options: ProviderOptions) -> None:
        anthropic = _import_sdk()
        # check_spec asked for the key unless --base-url points at a server of one's own
        api_key = self.api_key() or _PLACEHOLDER_KEY
        self.model = model
        self._sdk = anthropic
        self._fatal: ProviderError | None = None
        self._where = public_url(options.base_url or DEFAULT_BASE_URL)
        self._secrets = tuple(x for x in (api_key, *url_secrets(options.base_url)) if x)
        self.client: anthropic_sdk.AsyncAnthropic = anthropic.AsyncAnthropic(
            api_key=api_key,
            base_url=options.base_url,
            max_retries=0,
            timeout=options.timeout,
        )
        self.info = ModelInfo(
            provider=self.name,
            model=model,
            label=model,
            params=None,
            scripted=False,
            supports_logprobs=False,
            details={
                "base_url": self._where,
                "sampling": "API default (no temperature parameter in the Messages API SDK)",
            },
        )

    @classmethod
    def check_spec(cls, spec: str | None, options: ProviderOptions) -> None:
        if not _sdk_installed():
            raise MissingExtraError("anthropic", "anthropic", "--provider anthropic")
        check_api_spec(cls, spec, options, "claude-sonnet-4-5", "the Anthropic API")

    async def generate(self, request: GenerateRequest) -> Generation:
        if self._fatal is not None:
            # Fail fast: after a fatal answer (bad key, unknown model) every request would fail the same.
            raise self._fatal
        # The API refuses whitespace-only stop sequences; those are applied to the text below.
        sent_stops = [stop for stop in request.stop if stop.strip()]
        extra: dict[str, Any] = {"stop_sequences": sent_stops} if sent_stops else {}
        try:
            message = await self.client.messages.create(
                model=self.model,
                max_tokens=request.max_tokens,
                messages=[{"role": "user", "content": request.prompt}],
                **extra,
            )
        except self._sdk.AnthropicError as exc:
            error = self._classify(exc)
            if error.kind is ErrorKind.FATAL:
                self._fatal = error
            raise error from None
        blocks = getattr(message, "content", None)
        if not isinstance(blocks, list):
            raise InvalidAnswer(f"content is {first_line(repr(blocks), 40)}, not a list of blocks")
        texts = [getattr(block, "text", None) for block in blocks if getattr(block, "type", None) == "text"]
        if not all(isinstance(t, str) for t in texts):
            raise InvalidAnswer("a text block holds no string")
        text = "".join(t for t in texts if isinstance(t, str))
        usage = getattr(message, "usage", None)
        tokens = getattr(usage, "input_tokens", None), getattr(usage, "output_tokens", None)
        return generated(text, request.stop, *tokens)

    def _redact(self, message: str) -> str:
        return redact(message, *self._secrets)

    def _classify(self, exc: Exception) -> ProviderError:
        sdk = self._sdk
        if isinstance(exc, sdk.APITimeoutError):
            return ProviderError(ErrorKind.TRANSIENT, "request timed out")
        if isinstance(exc, sdk.APIConnectionError):
            cause = exc.__cause__ or exc.__context__
            detail = f": {self._redact(str(cause)).splitlines()[0]}" if cause and str(cause) else ""
            return ProviderError(ErrorKind.TRANSIENT, f"connection error{detail}")
        if not isinstance(exc, sdk.APIStatusError):
            first = (str(exc).splitlines() or [type(exc).__name__])[0]
            return ProviderError(ErrorKind.FATAL, f"anthropic SDK error: {self._redact(first)}")
        server = getattr(exc, "api_message", None) or exc.message or ""
        return classify_status(
            exc.status_code,
            first_line(self._redact(str(server)), 200),
            key_variable=self.key_env,
            model=repr(self.model),
            where=self._where,
            headers=exc.response.headers if exc.response is not None else None,
            wait_on_transient=True,
        )
