"""providers/http11.py, the keep-alive HTTP/1.1 client the openai adapter uses for self-hosted servers:
connection reuse, chunked and close-delimited answers, stale keep-alive connections retried once,
dropped connections and timeouts as transport errors, proxies from the environment, and, through the
adapter, the same answers and
the same error classification as the openai SDK, with the key in no message."""

from __future__ import annotations

import asyncio
import gc
import gzip
import json
import re
import threading
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from providers.base import ErrorKind, GenerateRequest, ProviderError, ProviderOptions
from providers.http11 import HTTP11Client, RequestTimeout, TransportError

SECRET = "sk-test-SECRET-123"

Answer = Callable[[int, int, dict[str, Any]], Awaitable[bytes | None]]
"""(request number from 1, its number on its connection from 1, body) -> the raw answer, or None to
close the connection without answering."""


def reply(
    status: int = 200,
    body: Any = None,
    headers: dict[str, str] | None = None,
    *,
    chunked: bool = False,
    version: str = "HTTP/1.1",
    length: bool = True,
) -> bytes:
    data = body if isinstance(body, bytes) else json.dumps({"ok": True} if body is None else body).encode()
    lines = [f"{version} {status} X", "Content-Type: application/json"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    if chunked:
        lines.append("Transfer-Encoding: chunked")
        pieces = [data[i : i + 7] for i in range(0, len(data), 7)]
        data = b"".join(b"%x;ext=1\r\n%s\r\n" % (len(p), p) for p in pieces) + b"0\r\nX-Trailer: t\r\n\r\n"
    elif length:
        lines.append(f"Content-Length: {len(data)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + data


class Server:
    """An asyncio HTTP server on 127.0.0.1 for one test; counts connections and requests."""

    def __init__(self, answer: Answer) -> None:
        self.answer = answer
        self.connections = 0
        self.requests: list[tuple[bytes, dict[str, Any]]] = []
        self.writers: set[asyncio.StreamWriter] = set()

    async def __aenter__(self) -> Server:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.url = f"http://127.0.0.1:{self.server.sockets[0].getsockname()[1]}/v1"
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.server.close()
        for writer in self.writers:
            writer.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self.writers.add(writer)
        on_connection = 0
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                match = re.search(rb"content-length: *(\d+)", head, re.I)
                body = json.loads(await reader.readexactly(int(match.group(1)) if match else 0) or b"{}")
                self.requests.append((head, body))
                on_connection += 1
                answer = await self.answer(len(self.requests), on_connection, body)
                if answer is None:
                    break
                writer.write(answer)
                await writer.drain()
                if b"connection: close" in answer.lower() or b"HTTP/1.0" in answer[:8]:
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


async def ok(number: int, on_connection: int, body: dict[str, Any]) -> bytes | None:
    return reply(body={"echo": body, "number": number})


def run(scenario: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(asyncio.wait_for(scenario(), 30))


# -- the client ---------------------------------------------------------------------------------------
def test_many_requests_share_a_few_keep_alive_connections() -> None:
    async def slow(number: int, on_connection: int, body: dict[str, Any]) -> bytes | None:
        await asyncio.sleep(0.01)
        return await ok(number, on_connection, body)

    async def scenario() -> None:
        async with Server(slow) as server:
            client = HTTP11Client(server.url, {"Authorization": "Bearer k"})

            async def worker(w: int) -> None:
                for i in range(25):
                    status, headers, body = await client.post_json("/completions", {"w": w, "i": i})
                    assert (status, body["echo"], headers["content-type"]) == (
                        200,
                        {"w": w, "i": i},
                        "application/json",
                    )

            await asyncio.gather(*(worker(w) for w in range(4)))
            assert len(server.requests) == 100 and server.connections == 4
            head = server.requests[0][0].decode()
            assert head.startswith("POST /v1/completions HTTP/1.1\r\n")
            assert "Authorization: Bearer k\r\n" in head and "Content-Length: 13\r\n" in head  # {"w":0,"i":0}
            assert f"Host: 127.0.0.1:{server.server.sockets[0].getsockname()[1]}\r\n" in head
            await client.aclose()

    run(scenario)


def test_connections_are_bounded() -> None:
    async def slow(number: int, on_connection: int, body: dict[str, Any]) -> bytes | None:
        await asyncio.sleep(0.02)
        return await ok(number, on_connection, body)

    async def scenario() -> None:
        async with Server(slow) as server:
            client = HTTP11Client(server.url, max_connections=3)
            answers = await asyncio.gather(*(client.post_json("completions", {"i": i}) for i in range(30)))
            assert [a.body["echo"]["i"] for a in answers] == list(range(30))
            assert server.connections == 3
            await client.aclose()

    run(scenario)


@pytest.mark.parametrize(
    "answer",
    [
        reply(body={"text": "chunked ünïcode " * 20}, chunked=True),
        reply(body={"text": "chunked ünïcode " * 20}, version="HTTP/1.0", length=False),  # ends with EOF
        reply(
            body=gzip.compress(json.dumps({"text": "chunked ünïcode " * 20}).encode()),
            headers={"Content-Encoding": "gzip"},
        ),
    ],
    ids=["chunked", "until-eof", "gzip"],
)
def test_chunked_close_delimited_and_gzip_answers(answer: bytes) -> None:
    async def send(number: int, on_connection: int, body: dict[str, Any]) -> bytes | None:
        return answer

    async def scenario() -> None:
        async with Server(send) as server:
            client = HTTP11Client(server.url)
            for _ in range(3):
                response = await client.post_json("completions", {})
                assert response.status == 200 and response.body == {"text": "chunked ünïcode " * 20}
            await client.aclose()

    run(scenario)


def test_text_answers_and_connection_close() -> None:
    async def send(number: int, on_connection: int, body: dict[str, Any]) -> bytes | None:
        return reply(502, b"Bad gateway\n", {"Connection": "close"})

    async def scenario() -> None:
        async with Server(send) as server:
            client = HTTP11Client(server.url)
            for _ in range(3):
                status, headers, body = await client.post_json("completions", {})
                assert (status, body, headers["connection"]) == (502, "Bad gateway", "close")
            assert server.connections == 3  # not reused after `Connection: close`
            await client.aclose()

    run(scenario)


def test_a_stale_keep_alive_connection_is_retried_on_a_fresh_one() -> None:
    """The server closes a connection it kept alive just as the next request arrives: asked again."""

    async def second_dropped(number: int, on_connection: int, body: dict[str, Any]) -> bytes | None:
        return None if on_connection == 2 else await ok(number, on_connection, body)

    async def scenario() -> None:
        async with Server(second_dropped) as server:
            client = HTTP11Client(server.url)
            for i in range(3):
                assert (await client.post_json("completions", {"i": i})).body["echo"] == {"i": i}
            # 1 on connection 1; 2 dropped there, asked again on connection 2; 3 dropped on 2, asked on 3
            assert [body["i"] for _, body in server.requests] == [0, 1, 1, 2, 2]
            assert server.connections == 3
            await client.aclose()

    run(scenario)


def test_a_connection_the_server_closed_while_idle_is_not_used() -> None:
    async def then_close(number: int, on_connection: int, body: dict[str, Any]) -> bytes | None:
        return reply(body={"n": number})  # and the handler below closes it after a moment

    async def scenario() -> None:
        async with Server(then_close) as server:
            client = HTTP11Client(server.url)
            assert (await client.post_json("completions", {})).body == {"n": 1}
            for conn in list(client._open):  # the server's idle timeout, as seen from the client
                conn.writer.transport.close()
            await asyncio.sleep(0.05)
            assert (await client.post_json("completions", {})).body == {"n": 2}
            assert len(server.requests) == 2 and server.connections == 2
            await client.aclose()

    run(scenario)


def test_idle_connections_expire() -> None:
    async def scenario() -> None:
        async with Server(ok) as server:
            client = HTTP11Client(server.url, keepalive_expiry=0.05)
            await client.post_json("completions", {})
            await asyncio.sleep(0.1)
            await client.post_json("completions", {})
            assert server.connections == 2
            await client.aclose()

    run(scenario)


def test_a_dropped_connection_is_a_transport_error() -> None:
    async def drop(number: int, on_connection: int, body: dict[str, Any]) -> bytes | None:
        return None

    async def scenario() -> None:
        async with Server(drop) as server:
            client = HTTP11Client(server.url)
            with pytest.raises(TransportError, match="closed the connection without answering"):
                await client.post_json("completions", {})
            assert len(server.requests) == 1  # a fresh connection: never asked twice
            await client.aclose()

    run(scenario)


def test_a_drop_in_mid_answer_is_never_retried() -> None:
    async def second_cut(number: int, on_connection: int, body: dict[str, Any]) -> bytes | None:
        answer = await ok(number, on_connection, body)
        if number == 1:
            return answer
        return reply(body={"cut": "short"}, headers={"Connection": "close"})[:-5]  # and closes

    async def scenario() -> None:
        async with Server(second_cut) as server:
            client = HTTP11Client(server.url)
            await client.post_json("completions", {})
            with pytest.raises(TransportError, match="mid-answer"):
                await client.post_json("completions", {})  # on the reused connection, answered in part
            assert len(server.requests) == 2
            await client.aclose()

    run(scenario)


def test_timeout_and_refused_connection() -> None:
    async def hang_first(number: int, on_connection: int, body: dict[str, Any]) -> bytes | None:
        if number == 1:
            await asyncio.sleep(5)
        return await ok(number, on_connection, body)

    async def scenario() -> None:
        async with Server(hang_first) as server:
            client = HTTP11Client(server.url)
            with pytest.raises(RequestTimeout):
                await client.post_json("completions", {}, timeout=0.2)
            assert not client._open  # the connection that timed out is not reused
            assert (await client.post_json("completions", {}, timeout=5)).status == 200
            await client.aclose()
            url = server.url
        await asyncio.sleep(0.05)
        with pytest.raises(TransportError) as caught:
            await HTTP11Client(url).post_json("completions", {})
        assert not isinstance(caught.value, RequestTimeout)

    run(scenario)


def test_malformed_answers_and_headers() -> None:
    async def garbage(number: int, on_connection: int, body: dict[str, Any]) -> bytes | None:
        return b"SMTP ready\r\n\r\n"

    async def scenario() -> None:
        async with Server(garbage) as server:
            client = HTTP11Client(server.url)
            with pytest.raises(TransportError, match="malformed"):
                await client.post_json("completions", {})
            with pytest.raises(ValueError, match="line break") as caught:
                await client.post_json("completions", {}, headers={"Authorization": f"{SECRET}\r\nX: y"})
            assert SECRET not in str(caught.value)
            await client.aclose()
        with pytest.raises(ValueError, match="not an http"):
            HTTP11Client("ftp://x/v1")

    run(scenario)


def _no_proxies(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("NO_PROXY", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)


def test_the_http_proxy_in_the_environment_is_used(monkeypatch: pytest.MonkeyPatch) -> None:
    """HTTP_PROXY: the request goes to the proxy, naming the server in full, with the proxy's password
    as Proxy-Authorization; NO_PROXY exempts a host; a loopback server is never proxied."""
    _no_proxies(monkeypatch)

    async def scenario() -> None:
        async with Server(ok) as proxy:
            port = proxy.server.sockets[0].getsockname()[1]
            monkeypatch.setenv("HTTP_PROXY", f"http://me:pw%21@127.0.0.1:{port}")
            client = HTTP11Client("http://server.invalid:8000/v1", {"Authorization": "Bearer k"})
            assert (await client.post_json("completions", {"i": 1})).body["echo"] == {"i": 1}
            await client.aclose()
            head = proxy.requests[0][0].decode()
            assert head.startswith("POST http://server.invalid:8000/v1/completions HTTP/1.1\r\n")
            assert "Proxy-Authorization: Basic bWU6cHch\r\n" in head  # me:pw!
            assert "Host: server.invalid:8000\r\n" in head and "Authorization: Bearer k\r\n" in head
            assert HTTP11Client(proxy.url)._proxy is None  # the loopback server itself: direct
            monkeypatch.setenv("NO_PROXY", "server.invalid")
            assert HTTP11Client("http://server.invalid:8000/v1")._proxy is None

    run(scenario)


def test_an_https_server_is_reached_through_a_connect_tunnel(monkeypatch: pytest.MonkeyPatch) -> None:
    """HTTPS_PROXY: a CONNECT to the server first (here refused by the proxy: one transport error);
    an https:// proxy URL, which this client cannot speak to, is refused at once."""
    _no_proxies(monkeypatch)
    seen: list[bytes] = []

    async def refuse(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        seen.append(await reader.readuntil(b"\r\n\r\n"))
        writer.write(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
        await writer.drain()
        writer.close()

    async def scenario() -> None:
        server = await asyncio.start_server(refuse, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        monkeypatch.setenv("HTTPS_PROXY", f"http://127.0.0.1:{port}")
        client = HTTP11Client("https://server.invalid/v1")
        with pytest.raises(TransportError, match="refused the tunnel: HTTP/1.1 403 Forbidden"):
            await client.post_json("completions", {})
        await client.aclose()
        server.close()
        assert seen[0].startswith(b"CONNECT server.invalid:443 HTTP/1.1\r\nHost: server.invalid:443\r\n")
        monkeypatch.setenv("HTTPS_PROXY", "https://proxy.invalid:3128")
        with pytest.raises(ValueError, match="only http:// proxies"):
            HTTP11Client("https://server.invalid/v1")

    run(scenario)


@pytest.mark.filterwarnings("ignore::ResourceWarning")
def test_one_client_across_event_loops() -> None:
    """Scripts and tests may call asyncio.run once per request: each loop gets fresh connections."""
    loop = asyncio.new_event_loop()
    server = Server(ok)
    loop.run_until_complete(server.__aenter__())
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        client = HTTP11Client(server.url)
        for _ in range(3):
            assert asyncio.run(client.post_json("completions", {})).status == 200
        asyncio.run(client.aclose())
        assert server.connections == 3 and len(server.requests) == 3
    finally:
        asyncio.run_coroutine_threadsafe(server.__aexit__(), loop).result(5)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        loop.close()
        gc.collect()  # the connections of the ended loops (nothing could close them): freed here


# -- through the openai adapter -----------------------------------------------------------------------
def _provider(url: str, **options: Any) -> Any:
    from providers.openai import OpenAIProvider

    provider = OpenAIProvider.from_spec("m", ProviderOptions(base_url=url, **options))
    assert provider.http is not None and provider.client is None
    return provider


def _request() -> GenerateRequest:
    return GenerateRequest("Q: What is 2 plus 3?\n\nA:", 7, ("\n",))


def test_only_openai_itself_uses_the_sdk() -> None:
    from providers.openai import is_self_hosted

    assert not is_self_hosted(None) and not is_self_hosted("https://api.openai.com/v1")
    assert not is_self_hosted("https://eu.api.openai.com/v1")
    assert is_self_hosted("http://127.0.0.1:8000/v1") and is_self_hosted("https://vllm.example.org/v1")
    assert is_self_hosted("https://notopenai.com/v1")


@pytest.mark.parametrize(
    ("status", "kind", "needle", "retry_after"),
    [
        (429, ErrorKind.RATE_LIMIT, "rate limited (429): context too long", 2.0),
        (401, ErrorKind.FATAL, "authentication failed (401): check OPENAI_API_KEY", None),
        (403, ErrorKind.FATAL, "authentication failed (403): check OPENAI_API_KEY", None),
        (404, ErrorKind.FATAL, "model m not found at {url} (404: context too long", None),
        (500, ErrorKind.TRANSIENT, "HTTP 500: context too long", None),
        (503, ErrorKind.TRANSIENT, "HTTP 503", None),
        (408, ErrorKind.TRANSIENT, "HTTP 408", None),
        (409, ErrorKind.TRANSIENT, "HTTP 409", None),
        (400, ErrorKind.FATAL, "HTTP 400: context too long", None),
        (422, ErrorKind.FATAL, "HTTP 422", None),
    ],
)
def test_statuses_are_classified_and_the_key_is_never_quoted(
    status: int, kind: ErrorKind, needle: str, retry_after: float | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    error = {"error": {"message": f"context too long {SECRET}\nmore", "code": "x"}}

    async def fail(number: int, on_connection: int, body: dict[str, Any]) -> bytes | None:
        return reply(status, error, {"Retry-After": "2"})

    async def scenario() -> None:
        async with Server(fail) as server:
            provider = _provider(server.url)
            with pytest.raises(ProviderError) as caught:
                await provider.generate(_request())
            await provider.aclose()
            assert f"Authorization: Bearer {SECRET}\r\n".encode() in server.requests[0][0]
            assert len(server.requests) == 1
            message = caught.value.message
            assert caught.value.kind is kind and needle.format(url=server.url) in message, message
            assert SECRET not in message and "\n" not in message
            assert caught.value.retry_after == retry_after

    run(scenario)


@pytest.mark.parametrize(
    "body",
    [
        b'{"error": {"message": "bad thing", "code": 1}}',
        b'{"error": "plain error string"}',
        b'{"detail": "Not Found"}',
        b'{"object": "error", "message": "vLLM style", "type": "NotFoundError", "code": 404}',
        b"upstream connect error\nsecond line",
        b"",
        b"[1, 2]",
    ],
)
@pytest.mark.parametrize("status", [400, 404, 429, 503])
def test_the_same_error_messages_as_the_sdk(body: bytes, status: int) -> None:
    """The SDK builds its APIStatusError from the answer; the adapter maps both alike."""
    openai = pytest.importorskip("openai")
    httpx2 = pytest.importorskip("httpx2")
    from providers.openai import map_error

    async def fail(number: int, on_connection: int, _: dict[str, Any]) -> bytes | None:
        return reply(status, body, {"Retry-After": "1"})

    async def scenario() -> None:
        async with Server(fail) as server:
            provider = _provider(server.url)
            with pytest.raises(ProviderError) as caught:
                await provider.generate(_request())
            await provider.aclose()
            sdk = openai.AsyncOpenAI(api_key="k", base_url=server.url, max_retries=0)
            request = httpx2.Request("POST", server.url + "/completions")
            response = httpx2.Response(status, headers={"Retry-After": "1"}, content=body, request=request)
            expected = map_error(sdk._make_status_error_from_response(response), "m", server.url)
            await sdk.close()
            assert caught.value == expected

    run(scenario)


def test_drops_and_timeouts_are_transient(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)

    async def misbehave(number: int, on_connection: int, body: dict[str, Any]) -> bytes | None:
        if number == 1:
            return None
        await asyncio.sleep(5)
        return None

    async def scenario() -> None:
        async with Server(misbehave) as server:
            provider = _provider(server.url, timeout=0.2)
            with pytest.raises(ProviderError) as dropped:
                await provider.generate(_request())
            with pytest.raises(ProviderError) as slow:
                await provider.generate(_request())
            await provider.aclose()
        assert dropped.value.kind is slow.value.kind is ErrorKind.TRANSIENT
        assert dropped.value.message.startswith(f"cannot connect to {server.url}: the server closed")
        assert slow.value.message == f"request timed out ({server.url})"

    run(scenario)


def test_a_non_json_success_is_the_items_error() -> None:
    async def html(number: int, on_connection: int, body: dict[str, Any]) -> bytes | None:
        return reply(200, b"<html>hello</html>")

    async def scenario() -> None:
        async with Server(html) as server:
            provider = _provider(server.url)
            with pytest.raises(ProviderError) as caught:
                await provider.generate(_request())
            await provider.aclose()
        assert caught.value.kind is ErrorKind.INVALID and "not a JSON object" in caught.value.message

    run(scenario)


@pytest.mark.parametrize("api", ["completions", "chat"])
@pytest.mark.parametrize("stop", [("\n",), (), ("a", "b", "c", "d", "e")])
def test_the_same_requests_and_answers_as_the_sdk(
    fake: Any, api: str, stop: tuple[str, ...], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Against the fake server: the http11 path and the SDK path send the same JSON bodies and
    Authorization header, and return the same Generation."""
    pytest.importorskip("openai")
    import providers.openai as adapter

    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    request = GenerateRequest("Q: What is 2 plus 3?\n\nA:", 7, stop)
    got = []
    for self_hosted in (True, False):
        monkeypatch.setattr(adapter, "is_self_hosted", lambda url, value=self_hosted: value)
        provider = adapter.OpenAIProvider.from_spec("fake", ProviderOptions(base_url=fake.url, api=api))
        assert (provider.http is not None) is self_hosted
        got.append(asyncio.run(provider.generate(request)))
        provider.close()
        decoding = {"decoding": "temperature 0, repeat_penalty 1"} if self_hosted else {}
        assert provider.info.details == {"api": api, "base_url": fake.url} | decoding
    http11_request, sdk_request = fake.state.requests
    # A self-hosted server is also told not to penalize repeats (llama-cpp-python's server would).
    assert http11_request["body"] == sdk_request["body"] | {"repeat_penalty": 1.0}
    assert http11_request["authorization"] == sdk_request["authorization"] == f"Bearer {SECRET}"
    assert got[0] == got[1]
    assert got[0].text == (" 5" if api == "chat" or stop == ("\n",) else " 5\n\nQ:")
