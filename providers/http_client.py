"""The JSON client for self-hosted OpenAI-compatible servers (vLLM, llama.cpp's server, TGI, Ollama, ...):
aiohttp, used bare, because the openai SDK's per-request overhead, not the server, limits throughput
there (perf/README.md, "HTTP clients": measured against a 50 ms loopback server at 32 in flight).

One job: POST a JSON body, return the status, the headers and the parsed answer. aiohttp keeps
connections alive and pooled (up to `max_connections`, closed after `keepalive_expiry` seconds idle,
or when the server says `Connection: close`) and reads answers sized by Content-Length, chunked, or
ending with the connection, gzip or deflate. Proxies are honoured as the environment sets them
(`HTTP_PROXY`, `HTTPS_PROXY`, `NO_PROXY`: aiohttp's `trust_env`).

Failures: an HTTP status is never an exception (the caller classifies it). Refused, reset, dropped or
malformed answers raise TransportError; the per-request deadline raises RequestTimeout (a
TransportError). Messages never quote the request or its headers.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from typing import Any, NamedTuple
from urllib.parse import urlsplit

__all__ = ["JSONClient", "RequestTimeout", "Response", "TransportError"]


class TransportError(Exception):
    """The request got no complete answer: refused, reset, dropped, timed out or malformed."""


class RequestTimeout(TransportError):
    """The request's deadline passed before the answer was complete."""


class Response(NamedTuple):
    status: int
    headers: dict[str, str]
    """Header names in lower case; repeated headers joined with ", "."""
    body: Any
    """The parsed JSON, or the text where the answer is not JSON ("" for none)."""


class JSONClient:
    """A keep-alive connection pool to the server of `base_url` (http or https); paths passed to
    `post_json` are relative to its path (`http://host:8000/v1` + `completions`). It may be used from
    several event loops in turn (a probe at load, then the run): each loop gets its own session."""

    def __init__(
        self,
        base_url: str,
        headers: Mapping[str, str] | None = None,
        *,
        max_connections: int = 256,
        keepalive_expiry: float = 4.0,
    ) -> None:
        url = urlsplit(base_url)
        if url.scheme not in ("http", "https") or not url.hostname:
            raise ValueError(f"not an http(s) URL: {base_url}")
        # user:password@ is never sent: the URL is rebuilt from its parts, without it.
        host = f"[{url.hostname}]" if ":" in url.hostname else url.hostname
        self._origin = f"{url.scheme}://{host}{f':{url.port}' if url.port else ''}"
        self._prefix = url.path.rstrip("/")
        self._query = f"?{url.query}" if url.query else ""
        self._headers = {"User-Agent": "bench", "Accept": "application/json", **(headers or {})}
        self._max, self._expiry = max_connections, keepalive_expiry
        self._session: Any = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def _session_here(self) -> Any:
        import aiohttp

        loop = asyncio.get_running_loop()
        if self._session is None or self._loop is not loop or self._session.closed:
            # A session belongs to the loop it was made in; the old one's loop has ended (asyncio.run).
            connector = aiohttp.TCPConnector(limit=self._max, keepalive_timeout=self._expiry)
            self._session = aiohttp.ClientSession(
                connector=connector, headers=self._headers, trust_env=True, auto_decompress=True
            )
            self._loop = loop
        return self._session

    async def post_json(self, path: str, body: Any, timeout: float | None = 60.0) -> Response:
        """POST `body` as JSON to `path`; the answer, whatever its status. Raises TransportError."""
        import aiohttp

        session = self._session_here()
        url = f"{self._origin}{self._prefix}/{path.lstrip('/')}{self._query}"
        payload = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
        headers = {"Content-Type": "application/json"}
        try:
            async with asyncio.timeout(timeout):
                async with session.post(url, data=payload, headers=headers) as answer:
                    raw = await answer.read()
                    found: dict[str, str] = {}
                    for name, value in answer.headers.items():
                        key = name.lower()
                        found[key] = f"{found[key]}, {value}" if key in found else value
                    return Response(answer.status, found, _decode(raw))
        except TimeoutError:
            raise RequestTimeout(f"no complete answer within {timeout} s") from None
        except aiohttp.ClientConnectorError as exc:
            raise TransportError(f"cannot connect: {exc.os_error.strerror or exc.os_error}") from None
        except aiohttp.ServerDisconnectedError:
            raise TransportError("the server closed the connection without answering") from None
        except aiohttp.ClientResponseError as exc:  # its text would quote the URL: the message alone
            raise TransportError(f"malformed answer: {exc.message}") from None
        except aiohttp.ClientPayloadError:
            raise TransportError("malformed answer: its body was cut off or badly encoded") from None
        except OSError as exc:
            raise TransportError(f"the connection failed: {exc.strerror or type(exc).__name__}") from None
        except aiohttp.ClientError as exc:
            raise TransportError(f"the connection failed: {type(exc).__name__}") from None

    async def aclose(self) -> None:
        if (
            self._session is not None
            and not self._session.closed
            and self._loop is asyncio.get_running_loop()
        ):
            await self._session.close()
        self._session = None


def _decode(data: bytes) -> Any:
    if not data:
        return ""
    try:
        return json.loads(data.decode())
    except (ValueError, RecursionError):  # UnicodeDecodeError included; RecursionError: nested too deep
        return data.decode("utf-8", "replace").strip()
