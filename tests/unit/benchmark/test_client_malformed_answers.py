"""A server's malformed answer is that item's error: recorded, exit code 1, never cached, never a crash."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.test_crash_safety import _complete_samples

RUN = ["--provider", "openai", "--model", "m", "--task", "arithmetic", "--prompting", "plain", "--limit", "2"]


def _completion(text: Any = " 5", usage: Any = None) -> bytes:
    usage = {"prompt_tokens": 10, "completion_tokens": 3} if usage is None else usage
    return json.dumps({"choices": [{"index": 0, "text": text}], "usage": usage}).encode()


def _cached_values(cache: Path) -> list[str]:
    db = sqlite3.connect(cache / "responses.sqlite")
    try:
        return [row[0] for row in db.execute("SELECT value FROM responses")]
    finally:
        db.close()


MALFORMED = {
    "usage with a string count": (200, _completion(usage={"prompt_tokens": "lots"})),
    "usage with a negative count": (200, _completion(usage={"completion_tokens": -4})),
    "text that is a number": (200, _completion(text=123)),
    "text that is an object": (200, _completion(text={"a": 1})),
    "no choices": (200, b'{"usage": {}}'),
    "choices that are a string": (200, b'{"choices": "abc"}'),
    "a JSON list": (200, b'[{"choices": [{"text": " 5"}]}]'),
    "an HTML page": (200, b"<html><body>Bad gateway</body></html>"),
    "garbage": (200, b"\x00\xff garbage \x1b[2J"),
    "ten megabytes of junk": (200, b"x" * 10_000_000),
    "deeply nested JSON": (200, b"[" * 100_000 + b"]" * 100_000),
}


@pytest.mark.parametrize("answer", list(MALFORMED.values()), ids=list(MALFORMED))
def test_a_malformed_answer_is_the_items_error_and_never_cached(
    bench, fake, tmp_path: Path, answer: tuple[int, bytes]
) -> None:
    fake.state.raw = lambda number, body: answer
    out, cache = tmp_path / "run", tmp_path / "cache"
    env = {"BENCH_CACHE_DIR": str(cache)}
    result = bench("run", *RUN, "--base-url", fake.url, "--out", str(out), env=env)
    assert result.code == 1, result.err
    assert "Traceback" not in result.err
    # Told as it happened: each item asked once, not "after 5 attempts".
    assert "2 items got no answer: a malformed answer, asked once (not retried)" in result.err
    assert "attempts" not in result.err
    samples = _complete_samples(out)
    assert len(samples) == 2 and all((s.error or "").startswith("invalid_answer: ") for s in samples)
    assert len(fake.state.requests) == 2  # not retried: it would say the same again
    assert _cached_values(cache) == []
    assert (out / "report.html").is_file()
    # The next run asks the server again, and a good answer is then cached.
    fake.state.raw = None
    again = bench("run", *RUN, "--base-url", fake.url, "--out", str(tmp_path / "again"), env=env)
    assert again.code == 0, again.err
    assert len(fake.state.requests) == 4 and len(_cached_values(cache)) == 2


def test_a_poisoned_cache_entry_is_asked_again_and_replaced(bench, fake, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    env = {"BENCH_CACHE_DIR": str(cache)}
    assert bench("run", *RUN, "--base-url", fake.url, "--out", str(tmp_path / "first"), env=env).code == 0
    db = sqlite3.connect(cache / "responses.sqlite")
    db.execute("""UPDATE responses SET value = '{"text": 123, "prompt_tokens": "lots"}'""")
    db.commit()
    db.close()
    result = bench("run", *RUN, "--base-url", fake.url, "--out", str(tmp_path / "second"), env=env)
    assert result.code == 0 and "Traceback" not in result.err, result.err
    assert len(fake.state.requests) == 4  # both asked again
    assert all(isinstance(json.loads(value)["text"], str) for value in _cached_values(cache))
    first, second = (_complete_samples(tmp_path / name) for name in ("first", "second"))
    assert [s.response for s in second] == [s.response for s in first]
    assert not any(s.cached or s.error for s in second)


def test_answers_are_checked_field_by_field() -> None:
    from providers.base import (
        ContinuationScores,
        ErrorKind,
        Generation,
        InvalidAnswer,
        generation_from,
        scores_from,
    )

    assert generation_from(Generation(" 5", 3, None)) == Generation(" 5", 3, None)
    assert generation_from({"text": "x", "prompt_tokens": 1}) == Generation("x", 1, None)
    assert scores_from({"logprobs": [-1, -0.5]}, 2) == ContinuationScores((-1.0, -0.5))
    bad: list[tuple[Any, int | None]] = [
        ({"text": None}, None),
        ({"text": "x", "prompt_tokens": True}, None),
        ({"text": "x", "prompt_tokens": 2**60}, None),
        ({"text": "x", "extra": 1}, None),
        ("text", None),
        ({"logprobs": [-1.0]}, 2),
        ({"logprobs": [float("nan"), -1.0]}, 2),
        ({"logprobs": [float("-inf"), -1.0]}, 2),
        ({"logprobs": ["-1", -1.0]}, 2),
        ({"logprobs": "ab"}, 2),
    ]
    for answer, count in bad:
        with pytest.raises(InvalidAnswer) as caught:
            generation_from(answer) if count is None else scores_from(answer, count)
        assert caught.value.kind is ErrorKind.INVALID


@pytest.mark.parametrize(
    ("api", "answer"),
    [
        ("completions", [{"generated_text": 123, "details": {"generated_tokens": 1, "prefill": []}}]),
        ("chat", {"choices": [{"message": {"content": 5}}]}),
        ("chat", {"choices": [{"message": {"content": "5"}}], "usage": {"prompt_tokens": "lots"}}),
    ],
)
def test_the_hf_inference_adapter_refuses_malformed_answers(fake, api: str, answer: Any) -> None:
    pytest.importorskip("huggingface_hub")
    import asyncio

    from providers.base import ErrorKind, GenerateRequest, ProviderError, ProviderOptions
    from providers.hf_inference import HFInferenceProvider

    fake.state.raw = lambda number, body: (200, json.dumps(answer).encode())
    provider = HFInferenceProvider.from_spec(
        "tgi", ProviderOptions(base_url=fake.url.removesuffix("/v1"), api=api)
    )
    with pytest.raises(ProviderError) as caught:
        asyncio.run(provider.generate(GenerateRequest("Q: What is 2 plus 3?\n\nA:", 5, ("\n",))))
    provider.close()
    assert caught.value.kind is ErrorKind.INVALID
