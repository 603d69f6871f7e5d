"""What the HTTP API adapters (openai, anthropic, hf) share: the checks of --model and the API key
before anything is sent, and the classification of HTTP errors (Retry-After, one-line, redacted)."""

from __future__ import annotations

import contextlib
import email.utils
import os
import time
from collections.abc import Mapping

from benchmark.errors import UsageError
from providers.base import ErrorKind, ProviderError, ProviderOptions

MAX_RETRY_AFTER = 60.0
"""A server asking for a longer wait is retried after this many seconds (the runner's budget applies)."""


def parse_retry_after(headers: Mapping[str, str] | None, now: float | None = None) -> float | None:
    """Seconds to wait from `retry-after-ms`, or `retry-after` in seconds or as an HTTP date; at most
    MAX_RETRY_AFTER, at least 0; None when absent or unreadable."""
    if not headers:
        return None
    lower = {k.lower(): v for k, v in headers.items()}
    value: float | None = None
    millis = lower.get("retry-after-ms")
    if millis is not None:
        with contextlib.suppress(ValueError):
            value = float(millis) / 1000
    seconds = lower.get("retry-after")
    if value is None and seconds is not None:
        with contextlib.suppress(ValueError):
            value = float(seconds)
        if value is None:
            with contextlib.suppress(TypeError, ValueError, IndexError, OverflowError):
                when = email.utils.parsedate_to_datetime(seconds)
                value = when.timestamp() - (time.time() if now is None else now)
    if value is None or value != value:  # absent or NaN
        return None
    return min(max(value, 0.0), MAX_RETRY_AFTER)


def first_line(text: str, limit: int = 200) -> str:
    line = next((x.strip() for x in text.splitlines() if x.strip()), "")
    return line if len(line) <= limit else line[: limit - 1] + "…"


def check_api_spec(
    provider: str,
    spec: str | None,
    options: ProviderOptions,
    key_variable: str,
    model_example: str,
    service: str,
) -> None:
    """--model is required; so is the key in `key_variable`, unless a --base-url server is used."""
    if spec is None:
        raise UsageError(
            f"--provider {provider} needs --model (a model id such as {model_example}, or the name a "
            "--base-url server gives its model)"
        )
    if not os.environ.get(key_variable) and not options.base_url:
        raise UsageError(
            f"--provider {provider} needs the environment variable {key_variable} for {service} "
            "(or --base-url for a server of your own)"
        )


def redact(text: str, secret: str | None) -> str:
    """`text` with the API key replaced, for messages that may quote a request or a URL."""
    return text.replace(secret, "***") if secret else text


def classify_status(
    status: int,
    message: str,
    *,
    key_variable: str,
    model: str,
    where: str,
    headers: Mapping[str, str] | None = None,
    not_found_hint: str = "",
    wait_on_transient: bool = False,
) -> ProviderError:
    """The HTTP status policy shared by the API adapters (each only extracts status, message and
    headers from its SDK's error): 429 waits for its Retry-After; 5xx (529 "overloaded" included), 408
    and 409 are transient; 401/403 end the run naming the key to check; 404 names the model; any other
    4xx ends the run with the server's message. `message` is one line, already redacted.
    `wait_on_transient`: honour Retry-After on transient statuses too (Anthropic sends it with 529)."""
    described = f"HTTP {status}: {message}" if message else f"HTTP {status}"
    retry_after = parse_retry_after(headers)
    if status == 429:
        return ProviderError(ErrorKind.RATE_LIMIT, f"rate limited (429): {message}", retry_after)
    if status >= 500 or status in (408, 409):
        return ProviderError(ErrorKind.TRANSIENT, described, retry_after if wait_on_transient else None)
    if status in (401, 403):
        return ProviderError(ErrorKind.FATAL, f"authentication failed ({status}): check {key_variable}")
    if status == 404:
        return ProviderError(
            ErrorKind.FATAL,
            f"model {model} not found at {where} (404: {first_line(message, 120)}{not_found_hint})",
        )
    return ProviderError(ErrorKind.FATAL, described)
