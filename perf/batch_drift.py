"""How far llama.cpp's numbers move with the shape of a batch, on this machine's build: the measurement
behind every tolerance in the real-model tests (tests/e2e/test_local_model.py,
tests/e2e/test_openai_llama_server.py).

Run from the repository root with bench's virtual environment (about two minutes):

    .venv/bin/python -m perf.batch_drift
    BENCH_LLAMA_EXTRA_BUFFERS=off .venv/bin/python -m perf.batch_drift   # the setting of AMX builds

llama.cpp computes the same logits through different kernels depending on how many tokens a call
evaluates (and, on quantized weights, rounds activations to 8 bits per row), so the same prompt gives
slightly different log-probs when evaluated in other pieces. bench's engine evaluates an item's prompt
and all its classes in one call; lm-evaluation-harness (and llama.cpp's server with echo) evaluates
prompt + class in one batch per class; generation re-evaluates the prompt's last token alone. This
script prints, for the packaged Gemma-3-270M, the largest differences between these ways:

- `one call vs batched`: bench's class log-probs against prompt + class in one fresh batch, for one-token
  classes (" Y", " N": the prompt's last logits) and multi-token ones (" 42 dollars", " maybe not");
- `one call vs stepwise`: against the prompt in one batch and the class one token at a time, per token;
- `long prefix`: the same after a 10-shot shared prefix kept in the cache (the trap task's items);
- `f32`: the same on the float32 copy (`--weights f32`);
- `generation`: bench's greedy answers against llama-cpp-python's `create_completion` on a fresh model
  with the same settings: how many differ, and the margin at the first token where they part.
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path
from typing import Any

import tasks
from perf._lib.llama_raw import divergence_margin, reference_logprob
from providers.base import GenerateRequest, ProviderOptions, ScoreRequest
from providers.llama_engine import open_model, settings, system_info
from providers.local import LocalProvider
from providers.local_model import F32_KV, MAX_SEQUENCES, N_CTX, resolve_model

CLASSES = (" Y", " N", " 42 dollars", " maybe not")


def _score(provider: LocalProvider, prompt: str, shared: int) -> tuple[float, ...]:
    return asyncio.run(provider.score(ScoreRequest(prompt, tuple(CLASSES), shared))).logprobs


def scoring_drift(provider: LocalProvider, reference: Any, label: str) -> None:
    """Largest |bench - reference| per kind of class, in nats (stepwise: per token)."""
    short = [i.prompt for i in tasks.create("hindsight_neglect:shots=2").instances(0, 6, "plain")]
    short.append("Q: What is 12 plus 30?\n\nA:")
    long = tasks.create("hindsight_neglect").instances(0, 8, "plain")
    cases = [(p, 0, "") for p in short] + [(i.prompt, i.shared_prefix, "long prefix ") for i in long]
    worst: dict[str, float] = {}
    for prompt, shared, kind in cases:
        ours = _score(provider, prompt, shared)
        ways = ((False, "batched"), (True, "stepwise")) if not kind else ((False, "batched"),)
        for stepwise, way in ways:
            for text, mine in zip(CLASSES, ours, strict=True):
                n_tokens = len(reference.tokenize(text.encode(), add_bos=False))
                gap = abs(mine - reference_logprob(reference, prompt, text, stepwise))
                key = f"{label}{kind}one call vs {way}, " + (
                    "per token" if stepwise else ("1-token class" if n_tokens == 1 else "multi-token class")
                )
                worst[key] = max(worst.get(key, 0.0), gap / n_tokens if stepwise else gap)
    for key, value in worst.items():
        print(f"{key:60s} max {value:.4f} nats")


def generation_drift(provider: LocalProvider, path: Path) -> None:
    items = tasks.create("arithmetic").instances(0, 8, "plain")
    items += tasks.create("word_problems").instances(0, 4, "plain")
    items += tasks.create("word_problems").instances(0, 3, "cot")
    requests = [GenerateRequest(i.prompt, i.max_tokens, tuple(i.stop), i.shared_prefix) for i in items]
    ours = [asyncio.run(provider.generate(r)).text for r in requests]
    fresh = open_model(path, n_ctx=N_CTX, sequences=MAX_SEQUENCES, n_threads=os.cpu_count(), verbose=False)
    margins = []
    for request, mine in zip(requests, ours, strict=True):
        out = fresh.create_completion(
            request.prompt, max_tokens=request.max_tokens, temperature=0.0, top_k=1, stop=list(request.stop)
        )
        theirs = out["choices"][0]["text"]
        if theirs != mine:
            margins.append(divergence_margin(fresh, request.prompt, mine, theirs))
    fresh.close()
    largest = f", largest margin where they part {max(margins):.4f} nats" if margins else ""
    print(f"generation: {len(margins)}/{len(requests)} answers differ from create_completion{largest}")


def main() -> None:
    path = resolve_model(None)
    print(f"llama.cpp build: {system_info().strip()}")
    print(f"engine settings: {settings()}; {os.cpu_count()} threads; python {sys.version.split()[0]}")
    provider = LocalProvider.from_spec(None, ProviderOptions())
    reference = open_model(path, n_ctx=2048, logits_all=True, verbose=False)
    scoring_drift(provider, reference, "")
    reference.close()
    generation_drift(provider, path)
    provider.close()
    f32 = LocalProvider.from_spec(None, ProviderOptions(weights="f32"))
    from benchmark.cache import default_cache_dir

    [copy] = (default_cache_dir() / "weights").glob(f"{f32.info.details['sha256'][:32]}-f32.gguf")
    reference = open_model(copy, n_ctx=2048, logits_all=True, verbose=False, **F32_KV)
    scoring_drift(f32, reference, "f32 ")
    reference.close()
    f32.close()


if __name__ == "__main__":
    main()
