"""How much of a server's answer the HTTP adapters read.

An answer's body over the limit, `BENCH_MAX_RESPONSE_BYTES` (default 64 MiB; a chat or completions
answer is a few kilobytes), is that item's `invalid_answer`: reading stops there, whatever the answer's
Content-Length says, and a compressed body (gzip, deflate) is inflated only up to the same limit, so a
body that announces 50 GiB or inflates to gigabytes costs at most the limit in memory. providers/http11.py
(openai with a --base-url) reads with `Inflater` and `too_large`; hf-inference (huggingface_hub over
httpx2) through `bounded_session`.
"""

from __future__ import annotations

import os
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING

from benchmark.errors import UsageError
from providers.base import InvalidAnswer

if TYPE_CHECKING:
    import httpx2

MAX_BODY_ENV = "BENCH_MAX_RESPONSE_BYTES"
DEFAULT_MAX_BODY = 64 * 2**20
"""64 MiB: thousands of times a real answer, small enough to hold in memory (and JSON-parse) per item."""
INFLATED = ("gzip", "x-gzip", "deflate")
"""Content-Encodings inflated here (with a bound); zlib's wbits 47 reads a gzip or zlib wrapper."""


class BodyTooLarge(InvalidAnswer):
    """An answer whose body is over the limit: the item's invalid_answer, not retried."""

    def __init__(self, limit: int) -> None:
        super().__init__(
            f"the answer's body is over {limit:,} bytes (the limit, set by {MAX_BODY_ENV}); "
            "it was read no further"
        )


def max_body_bytes() -> int:
    """The limit from the environment (UsageError for a value that is not a whole number above 0)."""
    raw = os.environ.get(MAX_BODY_ENV, "").strip()
    if not raw:
        return DEFAULT_MAX_BODY
    value = int(raw) if raw.isdigit() else 0
    if value < 1:
        raise UsageError(
            f"{MAX_BODY_ENV}={raw[:40]!r} is not a number of bytes above 0 "
            f"(unset it for the default, {DEFAULT_MAX_BODY} = 64 MiB)"
        )
    return value


class Inflater:
    """A gzip or zlib body inflated piece by piece, refused once its output passes `limit` bytes."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.size = 0
        self._zlib = zlib.decompressobj(47)

    def feed(self, data: bytes) -> bytes:
        """Inflated bytes of `data`; BodyTooLarge past the limit, zlib.error for a damaged body."""
        out = self._zlib.decompress(data, self.limit - self.size + 1)  # at most one byte too many
        self.size += len(out)
        if self.size > self.limit:
            raise BodyTooLarge(self.limit)
        return out

    def end(self) -> None:
        """zlib.error when the compressed body stopped before its end (a truncated answer)."""
        if not self._zlib.eof:
            raise zlib.error("incomplete or truncated stream")


def inflate(data: bytes, limit: int) -> bytes:
    """A whole gzip or zlib body, inflated up to `limit` bytes."""
    inflater = Inflater(limit)
    out = inflater.feed(data)
    inflater.end()
    return out


def bounded_session(limit: int) -> httpx2.AsyncClient:
    """huggingface_hub's async HTTP session (its hooks and settings) that reads at most `limit` bytes of
    an answer's body, inflated or not."""
    from huggingface_hub import get_async_session

    session = get_async_session()
    hooks = session.event_hooks
    session.event_hooks = {**hooks, "response": [*hooks["response"], _limit_hook(limit)]}
    return session


def _limit_hook(limit: int) -> Callable[[httpx2.Response], Awaitable[None]]:
    """An httpx2 response hook: refuses a Content-Length over `limit` at once, and wraps the body's
    stream so that reading it stops past `limit` bytes, inflated or not."""
    import httpx2

    class Bounded(httpx2.AsyncByteStream):
        def __init__(self, inner: httpx2.AsyncByteStream, inflating: bool) -> None:
            self.inner, self.inflating = inner, inflating

        async def __aiter__(self) -> AsyncIterator[bytes]:
            inflater, size = (Inflater(limit) if self.inflating else None), 0
            async for chunk in self.inner:
                size += len(chunk)
                if size > limit:
                    raise BodyTooLarge(limit)
                try:
                    out = inflater.feed(chunk) if inflater is not None else chunk
                except zlib.error:
                    raise InvalidAnswer("the answer's compressed body is damaged") from None
                yield out
            try:
                if inflater is not None:
                    inflater.end()
            except zlib.error:
                raise InvalidAnswer("the answer's compressed body is cut short") from None

        async def aclose(self) -> None:
            await self.inner.aclose()

    async def hook(response: httpx2.Response) -> None:
        length = response.headers.get("content-length", "").strip()
        if length.isdigit() and int(length) > limit:
            raise BodyTooLarge(limit)
        encoding = response.headers.get("content-encoding", "").strip().lower()
        inflating = encoding in INFLATED
        if inflating:  # inflated here, with the bound, not again by httpx2
            del response.headers["content-encoding"]
        if not isinstance(response.stream, httpx2.AsyncByteStream):
            raise TypeError("huggingface_hub's session is not asynchronous")
        response.stream = Bounded(response.stream, inflating)

    return hook
