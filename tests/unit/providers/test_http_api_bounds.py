"""A property: whatever numbers, body sizes, compression and pacing a server on 127.0.0.1 answers with,
a run through the openai or hf-inference adapter ends with each item answered or an item's error (or
the run refused in one line, a BenchError), its samples read back and summarize without an overflow,
within a bounded time and memory: never a traceback, an unbounded allocation or a hang.

Each example is one short run (one item of a generated and a choice task, one attempt, --timeout 0.5
s) against a raw server that answers every request in the drawn way: JSON whose numbers are drawn
from the extreme but valid (1e308, -1e308, 1e400 which JSON reads as infinity, 5e-324, 30-digit
integers), bodies over the limit (BENCH_MAX_RESPONSE_BYTES, 64 KiB here) plain or gzipped, gzip bombs,
streams that trickle slower than the timeout, and streams that never end.
"""

from __future__ import annotations

import gzip
import json
import os
import re
import tempfile
import time
import tracemalloc
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from unittest import mock

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from benchmark.errors import BenchError
from benchmark.rundir import RunDir
from benchmark.runner import DEADLINE_GRACE_S, Runner, plan_run
from benchmark.settings import RunSettings
from reports import summarize
from tests.helpers.raw_server import RawServer, endless, raw_server, response

LIMIT = 64 << 10
"""BENCH_MAX_RESPONSE_BYTES in these runs."""
TIMEOUT = 0.5
MEMORY_BOUND = 32 << 20
"""Peak Python allocations of a run: the limit many times over, far below what the oversized bodies,
the bombs (64 MiB inflated) and the endless streams would take if read whole."""
EXAMPLE_S = 3 * (TIMEOUT + DEADLINE_GRACE_S)
"""The most one run may take: three requests (the log-prob check at load, a generation, a score), each
bounded by the runner's deadline."""
NUMBERS = st.one_of(
    st.sampled_from(["1e308", "-1e308", "1e400", "-1e400", "5e-324", "-0.0", "0", "-1",
                     "1.7976931348623157e308", "123456789012345678901234567890", "-99999999999999999999",
                     "9007199254740993"]),
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
    st.integers(-(10**30), 10**30).map(str),
)  # fmt: skip


@dataclass(frozen=True)
class Reply:
    numbers: tuple[str, ...]
    """JSON number tokens, put as written into the log-probs and token counts of the answer."""
    delivery: str
    """json | oversized | bomb | trickle | endless."""
    framing: str
    """length | chunked | until-close."""
    gzipped: bool
    good_check: bool
    """The adapters' one request at load (does the server give prompt log-probs?) gets a plain good
    answer, so that the items are asked too."""

    def pieces(self, request: bytes) -> Iterable[tuple[float, bytes]]:
        if self.good_check and CHECK in request:
            return [(0.0, response(_body(request, ("-0.5", "-1", "3", "1"))))]
        body = _padded(_body(request, self.numbers), self.delivery)
        if self.delivery == "bomb":
            body = _BOMB
        elif self.gzipped:
            body = gzip.compress(body, 1)
        encoding = "Content-Encoding: gzip\r\n" if self.gzipped or self.delivery == "bomb" else ""
        if self.delivery == "endless":  # plain spaces, never compressed: read until a limit stops it
            encoding = ""
            head = f"HTTP/1.1 200 OK\r\n{encoding}Transfer-Encoding: chunked\r\n\r\n".encode()
            return endless(head, f"{8192:x}\r\n".encode() + b" " * 8192 + b"\r\n")
        if self.framing == "chunked":
            frame, wire = (
                "Transfer-Encoding: chunked\r\n",
                f"{len(body):x}\r\n".encode() + body + b"\r\n0\r\n\r\n",
            )
        elif self.framing == "length":
            frame, wire = f"Content-Length: {len(body)}\r\n", body
        else:
            frame, wire = "Connection: close\r\n", body
        data = f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n{encoding}{frame}\r\n".encode() + wire
        if self.delivery == "trickle":  # 4 KiB every 0.05 s: longer than the timeout, past the limit
            return [(0.05, data[i : i + 4096]) for i in range(0, len(data), 4096)]
        return [(0.0, data)]


CHECK = b"The capital of France is Paris"
_BOMB = gzip.compress(b"\0" * (64 << 20), 1)
"""64 MiB of zeros in 64 KiB."""


def _padded(body: bytes, delivery: str) -> bytes:
    """An oversized or trickled body: the same JSON, spaces before it (still valid JSON)."""
    return b" " * (2 * LIMIT) + body if delivery in ("oversized", "trickle") else body


def _body(request: bytes, numbers: tuple[str, ...]) -> bytes:
    """The answer the request asks for, with the drawn number tokens in its numeric fields."""
    n = [numbers[i % len(numbers)] for i in range(4)]
    usage = f'"usage":{{"prompt_tokens":{n[2]},"completion_tokens":{n[3]},"total_tokens":{n[2]}}}'
    line, _, rest = request.partition(b"\r\n")
    payload = json.loads(rest.partition(b"\r\n\r\n")[2] or b"{}")
    if payload.get("echo"):  # prompt log-probs: one token per word, each with a drawn log-prob
        text = payload["prompt"]
        offsets = [match.start() for match in re.finditer(r"\s*\S+", text)]
        values = ",".join(n[i % 2] for i in range(len(offsets)))
        logprobs = f'{{"text_offset":{json.dumps(offsets)},"token_logprobs":[{values}]}}'
        return f'{{"choices":[{{"text":{json.dumps(text)},"logprobs":{logprobs}}}],{usage}}}'.encode()
    if b"/chat/completions" in line:
        message = '{"role":"assistant","content":" 4"}'
        return (f'{{"id":"c","object":"chat.completion","created":{n[0]},"model":"m","choices":[{{"index":0,'
                f'"message":{message},"finish_reason":"stop"}}],{usage}}}').encode()  # fmt: skip
    if b"/completions" in line:
        return f'{{"choices":[{{"index":0,"text":" 4","finish_reason":"stop"}}],{usage}}}'.encode()
    words = re.findall(r"\s*\S+", payload.get("inputs", ""))  # the prompt's tokens, one per word
    prefill = ",".join(f'{{"id":1,"text":{json.dumps(w)},"logprob":{n[i % 2]}}}' for i, w in enumerate(words))
    details = f'{{"finish_reason":"length","generated_tokens":{n[3]},"seed":null,"prefill":[{prefill}]}}'
    return f'[{{"generated_text":" 4","details":{details}}}]'.encode()  # TGI's /generate


REPLY = st.builds(
    Reply,
    numbers=st.lists(NUMBERS, min_size=1, max_size=4).map(tuple),
    delivery=st.sampled_from(["json"] * 4 + ["oversized", "bomb", "trickle", "endless"]),
    framing=st.sampled_from(["length", "chunked", "until-close"]),
    gzipped=st.booleans(),
    good_check=st.booleans(),
)
EXAMPLES = settings(
    max_examples=15,
    deadline=timedelta(seconds=EXAMPLE_S + 10),  # a hang fails the example
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.fixture(scope="module")
def server() -> Iterator[RawServer]:
    pytest.importorskip("openai")
    with raw_server() as running:
        yield running


def _run(server: RawServer, reply: Reply, provider: str, api: str) -> None:
    server.answer = reply.pieces
    settings = RunSettings(
        provider=provider,
        models=["m"],
        tasks=["arithmetic", "hindsight_neglect"],
        prompting="plain",
        limit=1,
        max_attempts=1,
        base_url=server.url,
        timeout=TIMEOUT,
        provider_options={"api": api},
    )
    env = {"BENCH_MAX_RESPONSE_BYTES": str(LIMIT), "BENCH_OPENAI_LOGPROBS": "1"}
    with tempfile.TemporaryDirectory() as folder, mock.patch.dict(os.environ, env):
        run_dir = RunDir.create(Path(folder) / "run")
        started = time.monotonic()
        tracemalloc.start()
        try:
            Runner(plan_run(settings), run_dir).run()
            event("the run ended")
        except BenchError as exc:  # a refusal in one line (the log-prob check at load, a fatal answer)
            assert "\n" not in str(exc)
            event("the run was refused in one line")
        finally:
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            run_dir.release()
        assert time.monotonic() - started < EXAMPLE_S
        assert peak < MEMORY_BOUND, f"{peak:,} bytes"
        opened = RunDir.open(run_dir.path)
        samples = list(opened.iter_samples())  # every line a valid sample, within the bounds
        summarize(samples, opened.read_manifest())  # and the summary overflows nothing
    event(f"{sum(s.error is not None for s in samples)} of {len(samples)} samples are errors")


@EXAMPLES
@given(reply=REPLY)
def test_the_openai_adapter_survives_any_answer(server: RawServer, reply: Reply) -> None:
    _run(server, reply, "openai", "completions")


@EXAMPLES
@given(reply=REPLY, api=st.sampled_from(["chat", "completions"]))
def test_the_hf_inference_adapter_survives_any_answer(server: RawServer, reply: Reply, api: str) -> None:
    pytest.importorskip("huggingface_hub")
    _run(server, reply, "hf-inference", api)
