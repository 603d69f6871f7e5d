"""A property test: an OpenAI-compatible server that misbehaves in every way hypothesis can think of
(status codes, headers, bodies, framing, gzip, truncation, delays) never crashes a run, never
poisons the response cache, and never turns a good answer into an error.

The server is a raw TCP server on 127.0.0.1 that answers each request with bytes drawn for the case.
Each case runs the real runner with the openai adapter (http11 underneath) on two
items, with a short --timeout, two attempts and Retry-After capped, so every case ends within a few
seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import json
import math
import socket
import sqlite3
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from benchmark.cache import ResponseCache
from benchmark.errors import BenchError
from benchmark.rundir import RunDir
from benchmark.runner import Runner, plan_run
from benchmark.settings import RunSettings
from providers.base import ProviderError, ProviderOptions, ScoreRequest, cut_at_stop
from tests.helpers.raw_server import LoopbackServer, read_request

TIMEOUT = 0.5
"""--timeout of each case: a reply delayed longer is a timeout."""
CASE_LIMIT_S = 60.0
"""The most a case may take. Worst case by design: 2 items × 2 attempts × (timeout + delay) plus a
retry wait of at most 0.5 s each, about 5 s; the bound leaves room for a slow, busy machine."""


@dataclass(frozen=True)
class Reply:
    status: bytes
    """The status line, e.g. b"HTTP/1.1 200 OK", or garbage."""
    headers: tuple[tuple[str, str], ...]
    body: bytes
    framing: str
    """length | wrong-length | chunked | bad-chunked | until-close | none (no body framing at all)."""
    encoding: str
    """identity | gzip | claimed-gzip (the header says gzip, the body is not)."""
    cut: float | None
    """Send only this fraction of the bytes, then close."""
    delay: float
    close: bool

    def wire(self) -> bytes:
        body = gzip.compress(self.body) if self.encoding == "gzip" else self.body
        headers = list(self.headers)
        if self.encoding != "identity":
            headers.append(("Content-Encoding", "gzip"))
        if self.framing == "length":
            headers.append(("Content-Length", str(len(body))))
        elif self.framing == "wrong-length":
            headers.append(("Content-Length", str(len(body) + 7)))
        elif self.framing in ("chunked", "bad-chunked"):
            headers.append(("Transfer-Encoding", "chunked"))
            size = f"{len(body):x}" if self.framing == "chunked" else "zz"
            body = f"{size}\r\n".encode() + body + b"\r\n0\r\n\r\n" if body else b"0\r\n\r\n"
        if self.close or self.framing == "until-close":
            headers.append(("Connection", "close"))
        head = self.status + b"\r\n" + b"".join(f"{k}: {v}\r\n".encode("latin-1") for k, v in headers)
        data = head + b"\r\n" + body
        return data[: int(len(data) * self.cut)] if self.cut is not None else data

    @property
    def ends_connection(self) -> bool:
        return self.close or self.cut is not None or self.framing in ("until-close", "none")


# -- what a good answer is (the specification, written independently of bench's own checks) ------------
def _good_count(value: Any) -> bool:
    return value is None or (type(value) is int and 0 <= value <= 2**53)


def _good_stored(answer: Any) -> bool:
    """A cached generation: its text a string, its token counts counts."""
    return (
        isinstance(answer, dict)
        and isinstance(answer.get("text"), str)
        and all(_good_count(answer.get(k)) for k in ("prompt_tokens", "completion_tokens"))
    )


def expected_text(reply: Reply) -> str | None:
    """The text a run must record for this reply, or None when the reply is not a clean good answer."""
    clean = (
        reply.status == b"HTTP/1.1 200 OK"
        and reply.framing in ("length", "chunked", "until-close")
        and reply.encoding != "claimed-gzip"
        and reply.cut is None
        and reply.delay < TIMEOUT / 2
    )
    try:
        data = json.loads(reply.body)
    except (ValueError, RecursionError):
        return None
    if not clean or not isinstance(data, dict):
        return None
    choices, usage = data.get("choices"), data.get("usage")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        return None
    text = choices[0].get("text")
    if not (text is None or isinstance(text, str)):
        return None
    if usage is not None and not isinstance(usage, dict):
        usage = None  # a usage that is not an object has no counts; the answer still stands
    counts = [usage.get(k) for k in ("prompt_tokens", "completion_tokens")] if usage else []
    return cut_at_stop(text or "", ["\n"]) if all(_good_count(c) for c in counts) else None


# -- the strategies -------------------------------------------------------------------------------------
ODD = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-5, max_value=10**20),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=8),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)
COUNT = st.one_of(st.none(), st.integers(min_value=0, max_value=500), ODD)
TEXT = st.one_of(st.text(max_size=40), st.just(" 42\n\nQ: next"), ODD)


GOOD_COUNT = st.one_of(st.none(), st.integers(min_value=0, max_value=500))
GOOD_TEXT = st.one_of(st.text(max_size=40), st.just(" 42\n\nQ: next"), st.none())


@st.composite
def completion(draw: st.DrawFn, good: bool = False) -> bytes:
    text, count = (GOOD_TEXT, GOOD_COUNT) if good else (TEXT, COUNT)
    choice: dict[str, Any] = {"index": 0, "text": draw(text), "finish_reason": "stop"}
    answer: dict[str, Any] = {"id": "x", "object": "text_completion", "choices": [choice]}
    usage = draw(st.one_of(st.none(), st.just("n/a"), st.fixed_dictionaries({}, optional={
        "prompt_tokens": count, "completion_tokens": count, "total_tokens": COUNT})))  # fmt: skip
    if usage is not None:
        answer["usage"] = usage
    mutations = ["none"] if good else ["none", "none", "no-choices", "choices-str", "choice-int", "list"]
    mutation = draw(st.sampled_from(mutations))
    if mutation == "no-choices":
        del answer["choices"]
    elif mutation == "choices-str":
        answer["choices"] = "abc"
    elif mutation == "choice-int":
        answer["choices"] = [7]
    elif mutation == "list":
        return json.dumps([answer]).encode()
    return json.dumps(answer).encode()  # NaN and Infinity as Python writes them, which servers do too


BODY = st.one_of(
    completion(),
    completion(),
    completion(),
    st.just(b""),
    st.just(b"<html><body><h1>502 Bad Gateway</h1></body></html>"),
    st.just(b'{"error": {"message": "overloaded \x1b[2J", "code": 1}}'),
    st.just(b"[" * 3000 + b"]" * 3000),
    st.just(b"x" * 300_000),
    st.binary(max_size=300),
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=5),
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
        max_leaves=8,
    ).map(lambda value: json.dumps(value).encode()),
)
STATUS = st.sampled_from(
    [b"HTTP/1.1 200 OK"] * 6
    + [
        b"HTTP/1.1 201 Created", b"HTTP/1.1 204 No Content", b"HTTP/1.1 100 Continue",
        b"HTTP/1.1 301 Moved", b"HTTP/1.1 400 Bad Request", b"HTTP/1.1 401 Unauthorized",
        b"HTTP/1.1 404 Not Found", b"HTTP/1.1 408 Timeout", b"HTTP/1.1 429 Too Many",
        b"HTTP/1.1 500 Oops", b"HTTP/1.1 503 Busy", b"HTTP/1.1 529 Overloaded",
        b"HTTP/1.0 200 OK", b"HTTP/1.1 999 What", b"HTTP/1.1 abc", b"SMTP ready", b"",
    ]
)  # fmt: skip
LATIN_1 = st.characters(max_codepoint=255, exclude_characters="\r\n")
HEADER = st.one_of(
    st.tuples(st.just("Content-Type"), st.sampled_from(["application/json", "text/html", "x/\x7f"])),
    st.tuples(
        st.sampled_from(["Retry-After", "retry-after-ms"]),
        st.sampled_from(["0", "0.1", "-3", "abc", "1e309", "nan", "Wed, 21 Oct 2015 07:28:00 GMT", ""]),
    ),
    st.tuples(st.sampled_from(["X-Junk", "Set-Cookie", "Connection"]), st.text(LATIN_1, max_size=20)),
)


@st.composite
def good_reply(draw: st.DrawFn) -> Reply:
    """A good answer, framed in any of the valid ways: it must be taken as it is."""
    return Reply(
        status=b"HTTP/1.1 200 OK",
        headers=tuple(draw(st.lists(HEADER, max_size=2))),
        body=draw(completion(good=True)),
        framing=draw(st.sampled_from(["length", "chunked", "until-close"])),
        encoding=draw(st.sampled_from(["identity", "gzip"])),
        cut=None,
        delay=draw(st.sampled_from([0.0, 0.05])),
        close=draw(st.booleans()),
    )


@st.composite
def any_reply(draw: st.DrawFn) -> Reply:
    return Reply(
        status=draw(STATUS),
        headers=tuple(draw(st.lists(HEADER, max_size=3))),
        body=draw(BODY),
        framing=draw(
            st.sampled_from(
                ["length"] * 5 + ["wrong-length", "chunked", "bad-chunked", "until-close", "none"]
            )
        ),  # fmt: skip
        encoding=draw(st.sampled_from(["identity"] * 4 + ["gzip", "claimed-gzip"])),
        cut=draw(st.one_of(st.none(), st.none(), st.none(), st.floats(0.0, 0.99))),
        delay=draw(st.sampled_from([0.0] * 6 + [0.05, 0.3, TIMEOUT + 0.3])),
        close=draw(st.booleans()),
    )


REPLY = st.one_of(good_reply(), any_reply())


# -- the server -------------------------------------------------------------------------------------------
class Misbehaving(LoopbackServer):
    """A TCP server on 127.0.0.1 that reads each HTTP request and answers with the next Reply."""

    def __init__(self) -> None:
        self.replies: list[Reply] = []
        self.count = 0
        self.lock = threading.Lock()
        super().__init__(accept_timeout=0.2)

    def next_reply(self) -> Reply:
        with self.lock:
            self.count += 1
            return self.replies[(self.count - 1) % len(self.replies)]

    def _serve(self, conn: socket.socket) -> None:
        conn.settimeout(5)
        with conn:
            try:
                while read_request(conn) is not None:
                    answer = self.next_reply()
                    if self.stopping.wait(answer.delay):
                        return
                    conn.sendall(answer.wire())
                    if answer.ends_connection:
                        return
            except OSError:
                return  # the client gave up (a timeout) or the reply broke the connection


@pytest.fixture(scope="module")
def server() -> Iterator[Misbehaving]:
    pytest.importorskip("openai")
    running = Misbehaving()
    try:
        yield running
    finally:
        running.stop()


CASES = settings(
    max_examples=40,
    deadline=None,  # each case's time is bounded below, with room for a slow machine
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)


@CASES
@given(replies=st.lists(REPLY, min_size=1, max_size=3))
def test_a_misbehaving_server_never_crashes_a_run_or_poisons_the_cache(
    server: Misbehaving, replies: list[Reply]
) -> None:
    server.replies, server.count = replies, 0
    settings = RunSettings(
        provider="openai",
        models=["m"],
        tasks=["arithmetic"],
        prompting="plain",
        limit=2,
        concurrency=2,
        max_attempts=2,
        base_url=server.url,
        timeout=TIMEOUT,
        provider_options={"api": "completions"},
    )
    with tempfile.TemporaryDirectory() as folder, mock.patch("providers.http_api.MAX_RETRY_AFTER", 0.2):
        run_dir = RunDir.create(Path(folder) / "run")
        cache = ResponseCache(Path(folder) / "cache")
        started = time.monotonic()
        try:
            Runner(plan_run(settings), run_dir, cache=cache).run()
            finished = True
        except BenchError:  # a fatal answer (401, 404, another 4xx): the run ends with one line
            finished = False
        finally:
            elapsed = time.monotonic() - started
            run_dir.release()
            cache.close()
        assert elapsed < CASE_LIMIT_S
        samples = list(RunDir.open(run_dir.path).iter_samples())  # every line a valid sample
        if finished:
            assert sorted(s.item_id for s in samples) == ["00000", "00001"]
        with contextlib.closing(sqlite3.connect(Path(folder) / "cache" / "responses.sqlite")) as db:
            rows = db.execute("SELECT value FROM responses").fetchall()
    cached = [json.loads(value) for (value,) in rows]
    assert all(_good_stored(answer) for answer in cached), cached  # nothing malformed was stored
    answered = {s.response for s in samples if s.error is None and not s.cached}
    assert {answer["text"] for answer in cached} <= answered
    event(f"run {'finished' if finished else 'ended by a fatal answer'}")
    event(f"{sum(s.error is not None for s in samples)} of {len(samples)} samples are errors")
    if all(expected_text(r) is not None for r in replies):  # only good answers: no item is an error
        event("only good answers")
        assert finished and [s.error for s in samples] == [None, None]
        assert {s.response for s in samples} <= {expected_text(r) for r in replies}


@CASES
@given(replies=st.lists(REPLY, min_size=1, max_size=2))
def test_log_probs_from_a_misbehaving_server_are_finite_or_an_error(
    server: Misbehaving, replies: list[Reply]
) -> None:
    """score reads echoed token log-probs; whatever comes back, it returns as many
    finite log-probs as continuations, or raises ProviderError."""
    from providers.openai import OpenAIProvider

    server.replies, server.count = [_with_logprobs(r) for r in replies], 0
    provider = OpenAIProvider("m", ProviderOptions(base_url=server.url, timeout=TIMEOUT, api="completions"))
    provider.supports_logprobs = True  # as if BENCH_OPENAI_LOGPROBS=1 had been checked at load

    async def ask() -> None:
        try:
            scores = await provider.score(ScoreRequest("Q: 2+2?\nA:", (" 4", " 5")))
        except ProviderError:
            return
        finally:
            await provider.aclose()
        assert len(scores.logprobs) == 2 and all(math.isfinite(x) for x in scores.logprobs)
        for count in (scores.prompt_tokens, scores.continuation_tokens):
            assert count is None or (type(count) is int and count >= 0)

    asyncio.run(asyncio.wait_for(ask(), CASE_LIMIT_S))


def _with_logprobs(reply: Reply) -> Reply:
    """Half the bodies become echo answers with token log-probs (some of them malformed)."""
    try:
        data = json.loads(reply.body)
    except (ValueError, RecursionError):
        return reply
    if not isinstance(data, dict) or not isinstance(data.get("choices"), list) or not data["choices"]:
        return reply
    text = "Q: 2+2?\nA: 4"
    offsets: Any = list(range(len(text)))
    values: Any = [-0.5] * len(text)
    odd = data["choices"][0].get("text") if isinstance(data["choices"][0], dict) else None
    if not isinstance(odd, str):  # the drawn oddity goes into the log-probs instead
        values = [odd] * len(text) if not isinstance(odd, list) else odd
    data["choices"][0] = {"text": text, "logprobs": {"text_offset": offsets, "token_logprobs": values}}
    return Reply(reply.status, reply.headers, json.dumps(data).encode(), reply.framing, reply.encoding,
                 reply.cut, reply.delay, reply.close)  # fmt: skip
