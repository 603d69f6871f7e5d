"""Numbers and bodies too large to be true: a server's huge finite log-probs, a samples file's huge
cost, a body of 50 GiB or a gzip bomb are one item's error or one line, never an overflow, a
MemoryError or a run that can never be reported."""

from __future__ import annotations

import asyncio
import functools
import gzip
import json
import re
import tracemalloc
from pathlib import Path
from typing import Any

import pytest

from benchmark.schemas import Manifest, Sample
from providers.base import InvalidAnswer, scores_from
from providers.body_limit import BodyTooLarge
from providers.http11 import HTTP11Client
from tests.helpers.raw_server import endless, raw_server, response

HUGE = (1e308, -1e308)
RUN = ["--provider", "openai", "--model", "m", "--prompting", "plain", "--limit", "2"]


# -- log-probs and costs: refused where they enter -----------------------------------------------------
@pytest.mark.parametrize("value", [*HUGE, 5.0, -2e6])
def test_a_log_prob_outside_0_and_minus_a_million_nats_is_a_malformed_answer(value: float) -> None:
    with pytest.raises(InvalidAnswer, match="outside"):
        scores_from({"logprobs": [value, -1.0]}, 2)


def test_log_probs_within_the_bounds_are_taken_with_a_backends_rounding_above_0() -> None:
    assert scores_from({"logprobs": [-999_999.0, 2e-7]}, 2).logprobs == (-999_999.0, 2e-7)


def _echo(prompt: str, value: float) -> bytes:
    """A completions answer echoing `prompt` one token per word (a continuation such as " 42" or " Y"
    is one token), each with log-prob `value`."""
    offsets = [match.start() for match in re.finditer(r"\s*\S+", prompt)]
    logprobs = {"text_offset": offsets, "token_logprobs": [value] * len(offsets)}
    choice = {"index": 0, "text": prompt, "logprobs": logprobs, "finish_reason": "length"}
    return json.dumps({"choices": [choice], "usage": {"prompt_tokens": 3, "completion_tokens": 1}}).encode()


@pytest.mark.parametrize("value", HUGE)
def test_huge_finite_log_probs_from_a_server_are_item_errors_and_the_run_reports(
    cli, fake, tmp_path: Path, value: float
) -> None:
    def raw(number: int, body: dict[str, Any]) -> tuple[int, bytes] | None:
        if not body.get("echo"):
            return None  # a generation: the calculator's answer
        return 200, _echo(body["prompt"], -0.5 if number == 1 else value)  # 1: the check at load

    fake.state.raw = raw
    out = tmp_path / "run"
    tasks = ["--task", "arithmetic", "--task", "hindsight_neglect"]
    env = {"BENCH_OPENAI_LOGPROBS": "1"}
    result = cli("run", *RUN, *tasks, "--base-url", fake.url, "--out", str(out), env=env)
    assert result.code == 1 and "Traceback" not in result.err, result.err
    lines = [json.loads(line) for line in (out / "samples.jsonl").read_text().splitlines()]
    errors = [s["error"] for s in lines if s["error"]]
    assert errors and all("invalid_answer" in e and "outside" in e for e in errors)
    assert (out / "report.html").exists() and json.loads((out / "summary.json").read_text())
    again = cli("report", str(out))
    assert again.code == 0, again.err


@pytest.mark.parametrize(
    ("field", "value"),
    [("cost_usd", 1e308), ("cost_usd", -1.0), ("class_logprobs", {" Y": 1e308}), ("metrics", {"x": -1e308})],
)
def test_a_samples_file_with_a_huge_number_is_one_line_with_its_place(
    cli, tmp_path: Path, field: str, value: object
) -> None:
    out = tmp_path / "run"
    made = cli("run", "--provider", "scripted", "--model", "calculator", "--task", "arithmetic",
                 "--prompting", "plain", "--limit", "2", "--out", str(out))  # fmt: skip
    assert made.code == 0, made.err
    samples = out / "samples.jsonl"
    lines = samples.read_text().splitlines()
    edited = json.loads(lines[1]) | {field: value}
    samples.write_text("\n".join([lines[0], json.dumps(edited), *lines[2:]]) + "\n")
    result = cli("report", str(out))
    assert result.code == 2 and "Traceback" not in result.err
    [line] = result.err.strip().splitlines()
    assert f"{samples}:2: not a bench sample ({field}" in line


def test_the_means_of_a_summary_cannot_overflow() -> None:
    """Aggregation itself, whatever got past the checks: two samples at the largest finite value."""
    from reports import summarize

    manifest = Manifest.model_construct(tasks=[], seed=0, models=[])
    base = {"model": "m", "provider": "p", "params": None, "scripted": False, "task": "t",
            "task_version": "1", "prompting": "plain", "prompt": "q", "response": "1", "extracted": "1",
            "target": "1", "correct": True, "extraction_failed": False, "scoring": "generate",
            "latency_s": 0.0}  # fmt: skip
    samples = [
        Sample.model_construct(**base, item_id=str(i), metrics={"target_logprob": -1.7e308}) for i in (0, 1)
    ]
    [row] = summarize(samples, manifest).rows
    assert row.metrics["target_logprob"] == -1.7e308


# -- bodies: read up to a limit, inflated up to it -------------------------------------------------------
LIMIT = 1 << 20


def _post(url: str, limit: int = LIMIT, timeout: float = 10.0) -> Any:
    async def ask() -> Any:
        client = HTTP11Client(url, max_body=limit)
        try:
            return await client.post_json("completions", {"prompt": "x"}, timeout=timeout)
        finally:
            await client.aclose()

    return asyncio.run(ask())


def _chunk(data: bytes) -> bytes:
    return f"{len(data):x}\r\n".encode() + data + b"\r\n"


STREAMS = {
    "announced 50 GiB": lambda _: endless(
        b"HTTP/1.1 200 OK\r\nContent-Length: 53687091200\r\n\r\n", b"\0" * 65536
    ),
    "endless chunks": lambda _: endless(
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", _chunk(b"\0" * 65536)
    ),
    "until the connection ends, never": lambda _: endless(b"HTTP/1.1 200 OK\r\n\r\n", b"\0" * 65536),
    "a gzip bomb": lambda _: [(0.0, response(_bomb(), {"Content-Encoding": "gzip"}))],
}


@functools.cache
def _bomb() -> bytes:
    """64 MiB of zeros, gzipped: 64 KiB on the wire."""
    return gzip.compress(b"\0" * (64 << 20), 1)


@pytest.mark.parametrize("stream", STREAMS)
def test_a_body_over_the_limit_is_read_no_further(stream: str) -> None:
    _bomb()  # made before memory is counted
    with raw_server() as server:
        server.answer = STREAMS[stream]
        tracemalloc.start()
        try:
            with pytest.raises(BodyTooLarge, match="over 1,048,576 bytes"):
                _post(server.url)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert peak < 8 * LIMIT  # the limit and a read buffer, not the 50 GiB or the 64 MiB inflated


def test_a_body_at_the_limit_is_an_answer() -> None:
    body = json.dumps({"text": "x" * (LIMIT - 20)}).encode()
    assert len(body) <= LIMIT
    with raw_server() as server:
        server.answer = lambda _: [(0.0, response(gzip.compress(body), {"Content-Encoding": "gzip"}))]
        assert _post(server.url).body == json.loads(body)


@pytest.mark.parametrize("provider", ["openai", "hf-inference"])
def test_an_oversized_answer_is_the_items_invalid_answer(cli, fake, tmp_path: Path, provider: str) -> None:
    big = json.dumps({"choices": [{"text": "4" * 300_000}]}).encode()
    fake.state.raw = lambda number, body: (200, big) if number == 1 else None
    out = tmp_path / "run"
    env = {"BENCH_MAX_RESPONSE_BYTES": "100000"}
    result = cli("run", *RUN, "--provider", provider, "--task", "arithmetic", "--base-url", fake.url,
                   "--out", str(out), env=env)  # fmt: skip
    assert result.code == 1 and "Traceback" not in result.err, result.err
    errors = [json.loads(line)["error"] for line in (out / "samples.jsonl").read_text().splitlines()]
    assert errors.count(None) == 1 and len(fake.state.requests) == 2  # not asked again
    [error] = [e for e in errors if e]
    assert error.startswith("invalid_answer: malformed answer: the answer's body is over 100,000 bytes")
    assert (out / "report.html").exists()


@pytest.mark.parametrize("value", ["abc", "0", "-5", "1e6"])
def test_a_bad_body_limit_is_one_line_before_anything_is_written(cli, tmp_path: Path, value: str) -> None:
    out = tmp_path / "run"
    env = {"BENCH_MAX_RESPONSE_BYTES": value}
    args = [*RUN, "--task", "arithmetic", "--base-url", "http://127.0.0.1:9/v1", "--out", str(out)]
    result = cli("run", *args, env=env)
    assert result.code == 2 and "Traceback" not in result.err
    [line] = result.err.strip().splitlines()
    assert "BENCH_MAX_RESPONSE_BYTES" in line and "64 MiB" in line
    assert not out.exists()
