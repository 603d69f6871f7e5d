"""Packing several items into one llama.cpp call: what it saves and what it costs (issue #7).

Run from the repository root with bench's virtual environment:

    .venv/bin/python -m perf.packing                 # 96 zero-shot items, 24 trap items
    .venv/bin/python -m perf.packing --zeroshot 200 --trap 200

bench's local provider scores one item per llama.cpp call (its prompt and all its classes in one batch).
Its scoring routine can also take several items and put them in one batch, each class in a sequence of
its own in one unified KV cache. This script measures, on the same items and in one process:

- the time of one item per call and of packs of `--pack` items (as many per call as fit in n_batch
  tokens and 16 sequences), and their ratio;
- how far each way's class log-probs are from a plain evaluation of prompt + class alone in a fresh
  single-sequence llama.cpp context (the reference: no other sequence in the cache, one batch);
- how many items' predicted class the packing flips, and whether packing twice gives the same numbers.

Workloads: `perf/compare_lmeval.py`'s zero-shot items (hindsight_neglect without exemplars, classes
" The right decision" / " The wrong decision", 3 tokens each) and the 10-shot trap (classes " Y" / " N").
"""

from __future__ import annotations

import argparse
import os
import time
from typing import Any

import numpy as np

from perf._lib.llama_raw import last_logits, log_softmax_at, tokenize
from perf._lib.workloads import ZEROSHOT_CLASSES, ZEROSHOT_QUESTION
from providers.base import ScoreRequest
from providers.llama_engine import open_model
from providers.local import LocalProvider
from providers.local_model import resolve_model


def requests(workload: str, items: int) -> list[ScoreRequest]:
    import tasks

    if workload == "trap":
        found = tasks.create("hindsight_neglect").instances(0, items, "plain")
        return [ScoreRequest(i.prompt, tuple(i.classes or ()), i.shared_prefix) for i in found]
    found = tasks.create("hindsight_neglect:shots=0").instances(0, items, "plain")
    pattern, replacement = ZEROSHOT_QUESTION
    return [ScoreRequest(pattern.sub(replacement, i.prompt), tuple(ZEROSHOT_CLASSES), 0) for i in found]


def reference(every: Any, last: Any, request: ScoreRequest) -> list[float]:
    """Log-prob of each class evaluated alone in a single-sequence context: prompt + class in one batch
    (`every`, which keeps the logits of every position); a one-token class from the prompt's last
    logits (`last`, which keeps only those: a 10-shot prompt's every row would cost more than the model)."""
    context = tokenize(every, request.prompt)
    wholes = [tokenize(every, request.prompt + text) for text in request.continuations]
    if all(len(whole) == len(context) + 1 and whole[: len(context)] == context for whole in wholes):
        last.reset()
        last.eval(context)
        row = last_logits(last)
        return [log_softmax_at(row, whole[-1]) for whole in wholes]
    scores = []
    for whole in wholes:
        every.reset()
        every.eval(whole)
        scores.append(
            sum(log_softmax_at(every.scores[p - 1], whole[p]) for p in range(len(context), len(whole)))
        )
    return scores


def timed(provider: LocalProvider, reqs: list[ScoreRequest], pack: int) -> tuple[np.ndarray, float]:
    start = time.perf_counter()
    scores: list[tuple[float, ...]] = []
    for first in range(0, len(reqs), pack):
        scores += [s.logprobs for s in provider._score_many(reqs[first : first + pack])]
    return np.array(scores), time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--zeroshot", type=int, default=96, help="zero-shot items (default 96)")
    parser.add_argument("--trap", type=int, default=24, help="10-shot trap items (default 24)")
    parser.add_argument("--pack", type=int, default=16, help="items handed over at once (default 16)")
    args = parser.parse_args()
    path = resolve_model(None)
    provider = LocalProvider(path, None)
    threads = os.cpu_count() or 1
    every = open_model(path, n_ctx=1024, n_threads=threads, logits_all=True, verbose=False)
    last = open_model(path, n_ctx=4096, n_threads=threads, logits_all=False, verbose=False)
    print(f"model {path.name}; packs of {args.pack} items; {os.cpu_count()} threads")
    for workload, count in (("zeroshot", args.zeroshot), ("trap", args.trap)):
        if count <= 0:
            continue
        reqs = requests(workload, count)
        provider._score_many(reqs[:1])  # warm-up, and the trap's shared prefix in the cache for both ways
        single, single_s = timed(provider, reqs, 1)
        packed, packed_s = timed(provider, reqs, args.pack)
        again, _ = timed(provider, reqs, args.pack)
        ref = np.array([reference(every, last, r) for r in reqs])
        flips = int(((packed[:, 0] > packed[:, 1]) != (single[:, 0] > single[:, 1])).sum())
        print(f"\n== {workload}: {len(reqs)} items, classes {reqs[0].continuations}")
        print(
            f"time: one item per call {single_s:.1f} s, packed {packed_s:.1f} s; "
            f"packing {single_s / packed_s:.2f}x faster"
        )
        for name, scores in (("one item per call", single), ("packed", packed)):
            error = np.abs(scores - ref)
            print(
                f"{name}: |log-prob - alone| mean {error.mean():.4f} nats, max {error.max():.4f} nats; "
                f"items equal to alone in every class {int((error == 0).all(axis=1).sum())}/{len(reqs)}"
            )
        same = bool((again == packed).all())
        print(f"predicted class flipped by packing: {flips}/{len(reqs)}; packing twice identical: {same}")
    every.close()
    last.close()
    provider.close()


if __name__ == "__main__":
    main()
