"""A small asyncio HTTP/1.1 JSON client for self-hosted OpenAI-compatible servers (vLLM, llama.cpp's
server, TGI, Ollama, ...), where an SDK's per-request overhead, not the server, limits throughput.

One job: POST a JSON body, return the status, the headers and the parsed answer. Connections are kept
alive and pooled (grown on demand up to `max_connections`, reused last-in first-out so that idle ones
age out, dropped after `keepalive_expiry` seconds idle or when the server says `Connection: close`).
Answers may be sized by Content-Length, chunked, or end with the connection (HTTP/1.0).

Proxies: as the environment sets them (`HTTP_PROXY`, `HTTPS_PROXY`, `NO_PROXY`, read with urllib's
`getproxies` and `proxy_bypass`, as requests and httpx read them; never for a loopback server, which a
proxy cannot reach): an http server is asked through an http proxy in absolute form (`POST
http://host:port/path`), an https server through a `CONNECT` tunnel that TLS then runs inside; a
proxy's `user:password@` is sent as Proxy-Authorization and written nowhere.

Failures: an HTTP status is never an exception (the caller classifies it). A connection that fails
before any byte of the answer arrived is retried once on a fresh connection, but only if it was a
reused keep-alive connection (the server closed it while idle: a stale connection); everything else —
refused, reset, dropped mid-answer, malformed — raises TransportError, and the per-request deadline
raises RequestTimeout (a TransportError). Messages never quote the request or its headers. A body
over `max_body` bytes (sent or inflated; providers/body_limit.py) raises BodyTooLarge, an InvalidAnswer,
and is read no further.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import ipaddress
import json
import ssl
import urllib.request
import zlib
from collections.abc import Mapping
from typing import Any, NamedTuple
from urllib.parse import unquote, urlsplit

from providers.body_limit import DEFAULT_MAX_BODY, INFLATED, BodyTooLarge, inflate

__all__ = ["HTTP11Client", "RequestTimeout", "Response", "TransportError"]


class TransportError(Exception):
    """The request got no complete answer: refused, reset, dropped, timed out or malformed."""


class RequestTimeout(TransportError):
    """The request's deadline passed before the answer was complete."""


class _NoAnswer(Exception):
    """The connection closed or broke before the first byte of the answer (maybe a stale one)."""


class Response(NamedTuple):
    status: int
    headers: dict[str, str]
    """Header names in lower case; repeated headers joined with ", "."""
    body: Any
    """The parsed JSON, or the text where the answer is not JSON ("" for none)."""


class _Connection:
    __slots__ = ("reader", "writer", "reused", "idle_since")

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.reused = False
        self.idle_since = 0.0


class HTTP11Client:
    """A keep-alive connection pool to the server of `base_url` (http or https); paths passed to
    `post_json` are relative to its path (`http://host:8000/v1` + `completions`)."""

    def __init__(
        self,
        base_url: str,
        headers: Mapping[str, str] | None = None,
        *,
        max_connections: int = 256,
        keepalive_expiry: float = 4.0,
        max_body: int = DEFAULT_MAX_BODY,
    ) -> None:
        url = urlsplit(base_url)
        if url.scheme not in ("http", "https") or not url.hostname:
            raise ValueError(f"not an http(s) URL: {base_url}")
        self.host = url.hostname
        self.port = url.port or (443 if url.scheme == "https" else 80)
        self._ssl = ssl.create_default_context() if url.scheme == "https" else None
        self._prefix = url.path.rstrip("/")
        self._query = f"?{url.query}" if url.query else ""
        host = f"[{self.host}]" if ":" in self.host else self.host
        default_port = self.port == (443 if self._ssl else 80)
        self._common = _header_lines(
            {
                "Host": host if default_port else f"{host}:{self.port}",
                "User-Agent": "bench-http11/1",
                "Accept": "application/json",
                "Content-Type": "application/json",
                **(headers or {}),
            }
        )
        self._proxy = _proxy_for(url.scheme, self.host, self.port)
        if self._proxy is not None and self._ssl is None:  # absolute form, through the proxy
            self._prefix = f"http://{host}:{self.port}{self._prefix}"
            if self._proxy.authorization:
                self._common += _header_lines({"Proxy-Authorization": self._proxy.authorization})
        self._max = max_connections
        self._max_body = max_body
        self._expiry = keepalive_expiry
        self._idle: list[_Connection] = []  # a stack: the most recently used last
        self._open: set[_Connection] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._slots = asyncio.Semaphore(max_connections)

    async def post_json(
        self, path: str, body: Any, headers: Mapping[str, str] | None = None, timeout: float | None = 60.0
    ) -> Response:
        """POST `body` as JSON to `path`; the answer, whatever its status. Raises TransportError."""
        self._bind_loop()
        payload = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
        target = f"{self._prefix}/{path.lstrip('/')}{self._query}"
        head = f"POST {target} HTTP/1.1\r\n{self._common}{_header_lines(headers) if headers else ''}"
        request = f"{head}Content-Length: {len(payload)}\r\n\r\n".encode("latin-1") + payload
        try:
            async with asyncio.timeout(timeout), self._slots:
                return await self._send(request)
        except TimeoutError:
            raise RequestTimeout(f"no complete answer within {timeout} s") from None

    async def _send(self, request: bytes) -> Response:
        for attempt in (1, 2):
            conn = self._take_idle() if attempt == 1 else None
            conn = conn or await self._connect()
            keep = False
            try:
                response, keep = await _exchange(conn, request, self._max_body)
                return response
            except _NoAnswer:
                if conn.reused and attempt == 1:
                    continue  # the server closed this idle connection: ask once on a fresh one
                raise TransportError("the server closed the connection without answering") from None
            finally:
                if keep:
                    self._put_idle(conn)
                else:
                    self._discard(conn)
        raise AssertionError("unreachable")

    # -- the pool ---------------------------------------------------------------------------------
    def _bind_loop(self) -> None:
        """Connections belong to one event loop; a new loop (another asyncio.run) starts afresh."""
        loop = asyncio.get_running_loop()
        if loop is not self._loop:
            for conn in list(self._open):
                self._discard(conn)
            self._idle.clear()
            self._loop, self._slots = loop, asyncio.Semaphore(self._max)

    def _take_idle(self) -> _Connection | None:
        assert self._loop is not None
        if self._idle and self._loop.time() - self._idle[-1].idle_since > self._expiry:
            for conn in self._idle:  # the newest has expired, so have all the others
                self._discard(conn)
            self._idle.clear()
        while self._idle:
            conn = self._idle.pop()
            if not (conn.reader.at_eof() or conn.writer.is_closing()):
                conn.reused = True
                return conn
            self._discard(conn)
        return None

    def _put_idle(self, conn: _Connection) -> None:
        assert self._loop is not None
        conn.idle_since = self._loop.time()
        self._idle.append(conn)

    async def _connect(self) -> _Connection:
        try:
            if self._proxy is None:
                reader, writer = await asyncio.open_connection(
                    self.host, self.port, ssl=self._ssl, limit=1 << 20
                )
            else:
                reader, writer = await self._through_proxy(self._proxy)
        except OSError as exc:  # refused, unreachable, unknown host, TLS failure
            raise TransportError(str(exc) or type(exc).__name__) from None
        conn = _Connection(reader, writer)
        self._open.add(conn)
        return conn

    async def _through_proxy(self, proxy: _Proxy) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        """A connection to the proxy; for an https server, a CONNECT tunnel with TLS inside it."""
        reader, writer = await asyncio.open_connection(proxy.host, proxy.port, limit=1 << 20)
        if self._ssl is None:
            return reader, writer
        target = f"{self.host}:{self.port}"
        auth = {"Proxy-Authorization": proxy.authorization} if proxy.authorization else {}
        writer.write(f"CONNECT {target} HTTP/1.1\r\n{_header_lines({'Host': target, **auth})}\r\n".encode())
        await writer.drain()
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            writer.close()
            raise TransportError("the proxy closed the connection instead of opening a tunnel") from None
        status = head.split(b"\r\n", 1)[0].split()
        if len(status) < 2 or status[1] != b"200":
            writer.close()
            shown = head.split(b"\r\n", 1)[0].decode("latin-1")[:80]
            raise TransportError(f"the proxy refused the tunnel: {shown}")
        await writer.start_tls(self._ssl, server_hostname=self.host)
        return reader, writer

    def _discard(self, conn: _Connection) -> None:
        self._open.discard(conn)
        with contextlib.suppress(RuntimeError):  # a loop that has ended: nothing left to free
            conn.writer.close()

    async def aclose(self) -> None:
        """Close every connection, idle or in use."""
        closing = list(self._open)
        same_loop = self._loop is asyncio.get_running_loop()
        for conn in closing:
            self._discard(conn)
        self._idle.clear()
        if same_loop:
            for conn in closing:
                with contextlib.suppress(OSError, RuntimeError):
                    await conn.writer.wait_closed()


class _Proxy(NamedTuple):
    host: str
    port: int
    authorization: str | None
    """"Basic ..." from the proxy URL's user:password, or None."""


def _proxy_for(scheme: str, host: str, port: int) -> _Proxy | None:
    """The proxy the environment names for `scheme` (HTTP_PROXY/HTTPS_PROXY), unless NO_PROXY exempts
    `host`; None for none."""
    found = urllib.request.getproxies().get(scheme)
    if not found or _loopback(host) or urllib.request.proxy_bypass(f"{host}:{port}"):
        return None  # a proxy cannot reach this machine's own loopback server
    if urllib.request.proxy_bypass(host):
        return None
    url = urlsplit(found if "://" in found else f"http://{found}")
    if url.scheme != "http" or not url.hostname:
        raise ValueError(
            f"the {scheme} proxy the environment names ({scheme.upper()}_PROXY) is {url.scheme}://; "
            "only http:// proxies are supported"
        )
    authorization = None
    if url.username is not None:
        pair = f"{unquote(url.username)}:{unquote(url.password or '')}".encode()
        authorization = "Basic " + base64.b64encode(pair).decode()
    return _Proxy(url.hostname, url.port or 80, authorization)


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _header_lines(headers: Mapping[str, str]) -> str:
    if any("\r" in f"{n}{v}" or "\n" in f"{n}{v}" for n, v in headers.items()):
        raise ValueError("an HTTP header name or value contains a line break")  # not quoted: a secret
    return "".join(f"{name}: {value}\r\n" for name, value in headers.items())


async def _exchange(conn: _Connection, request: bytes, limit: int) -> tuple[Response, bool]:
    """Send `request` on `conn` and read the answer (a body of at most `limit` bytes, inflated or not);
    the answer and whether to keep the connection."""
    reader = conn.reader
    try:
        conn.writer.write(request)
        await conn.writer.drain()
        head = await reader.readuntil(b"\r\n\r\n")
        version, status, headers = _parse_head(head)
        while 100 <= status < 200:  # interim answers (100 Continue): the real one follows
            version, status, headers = _parse_head(await reader.readuntil(b"\r\n\r\n"))
    except asyncio.IncompleteReadError as exc:
        if exc.partial:
            raise TransportError("the server closed the connection in mid-answer") from None
        raise _NoAnswer from None
    except ConnectionError:
        raise _NoAnswer from None
    except asyncio.LimitOverrunError:
        raise TransportError("malformed answer: header block too long") from None
    tokens = {t.strip().lower() for t in headers.get("connection", "").split(",")}
    keep = "keep-alive" in tokens if version == "HTTP/1.0" else "close" not in tokens
    try:
        data, ended = await _read_body(reader, status, headers, limit)
        if headers.get("content-encoding", "").lower() in INFLATED:
            data = inflate(data, limit)  # bounded too: a small body may inflate to gigabytes
    except BodyTooLarge:
        raise  # the item's invalid_answer; the connection, read no further, is dropped
    except (asyncio.IncompleteReadError, ConnectionError):
        raise TransportError("the server closed the connection in mid-answer") from None
    except (ValueError, asyncio.LimitOverrunError, zlib.error) as exc:
        raise TransportError(f"malformed answer: {type(exc).__name__}") from None
    return Response(status, headers, _decode(data)), keep and not ended


async def _read_body(
    reader: asyncio.StreamReader, status: int, headers: dict[str, str], limit: int
) -> tuple[bytes, bool]:
    """The answer's body as sent (at most `limit` bytes, else BodyTooLarge), and whether it ended with
    the connection."""
    if status in (204, 304):
        return b"", False
    if "chunked" in headers.get("transfer-encoding", "").lower():
        return await _read_chunked(reader, limit), False
    if "content-length" in headers:
        length = int(headers["content-length"])
        if length > limit:
            raise BodyTooLarge(limit)
        return await reader.readexactly(length), False
    parts, size = [], 0  # the answer ends with the connection
    while block := await reader.read(1 << 16):
        size += len(block)
        if size > limit:
            raise BodyTooLarge(limit)
        parts.append(block)
    return b"".join(parts), True


def _parse_head(head: bytes) -> tuple[str, int, dict[str, str]]:
    status_line, *lines = head.decode("latin-1").split("\r\n")
    version, _, rest = status_line.partition(" ")
    if not version.startswith("HTTP/") or not rest[:3].isdigit():
        raise TransportError(f"malformed answer: status line {status_line[:40]!r}")
    headers: dict[str, str] = {}
    for line in lines:
        name, sep, value = line.partition(":")
        if sep:
            key, value = name.strip().lower(), value.strip()
            headers[key] = f"{headers[key]}, {value}" if key in headers else value
    return version, int(rest[:3]), headers


async def _read_chunked(reader: asyncio.StreamReader, limit: int) -> bytes:
    parts: list[bytes] = []
    total = 0
    while size := int((await reader.readuntil(b"\r\n")).split(b";", 1)[0].strip(), 16):
        total += size
        if total > limit:
            raise BodyTooLarge(limit)
        chunk = await reader.readexactly(size + 2)
        if chunk[-2:] != b"\r\n":
            raise ValueError("chunk not followed by CRLF")
        parts.append(chunk[:-2])
    while await reader.readuntil(b"\r\n") != b"\r\n":  # trailers, up to the empty line
        pass
    return b"".join(parts)


def _decode(data: bytes) -> Any:
    if not data:
        return ""
    try:
        return json.loads(data.decode())
    except (ValueError, RecursionError):  # UnicodeDecodeError included; RecursionError: nested too deep
        return data.decode("utf-8", "replace").strip()
