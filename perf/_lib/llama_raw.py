"""Raw llama.cpp (llama-cpp-python, no bench code on the request path): the prompt throughput behind the
engine floor, token counts as bench's local provider splits them, and the plain generation loop that
bench's generation is compared with. Runs in bench's virtual environment (which has llama-cpp-python)."""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from providers.llama_engine import open_model
from providers.local_model import N_CTX


def load(path: Path, **settings: Any) -> tuple[Any, float]:
    """A llama.cpp model with the settings of bench's local provider (and `settings`, e.g. F32_KV for
    --weights f32), and the seconds it took to load."""
    start = time.perf_counter()
    llm = open_model(
        path,
        n_ctx=N_CTX,
        n_threads=os.cpu_count() or 1,
        logits_all=False,
        verbose=False,
        seed=0,
        **settings,
    )
    return llm, time.perf_counter() - start


def tokenize(llm: Any, text: str, add_bos: bool = True) -> list[int]:
    """As bench's local provider and llama-cpp-python's create_completion tokenize (special=True)."""
    tokens: list[int] = llm.tokenize(text.encode("utf-8"), add_bos=add_bos, special=True)
    return tokens


def log_softmax_at(row: Any, token: int) -> float:
    """log p(token) from one row of logits, in float64."""
    row = np.asarray(row, dtype=np.float64)
    peak = row.max()
    return float(row[token] - (peak + np.log(np.exp(row - peak).sum())))


def last_logits(llm: Any) -> Any:
    """The logits after the last evaluated token (a model loaded with logits_all=False keeps only those)."""
    return np.ctypeslib.as_array(llm._ctx.get_logits(), shape=(llm.n_vocab(),))


def reference_logprob(llm: Any, prompt: str, continuation: str, stepwise: bool) -> float:
    """log p(continuation | prompt) from scratch in `llm` (loaded with logits_all=True), as
    lm-evaluation-harness computes it: prompt + continuation in one batch, or (stepwise) the prompt in
    one batch, then the continuation one token at a time."""
    context, cont = continuation_split(llm, prompt, continuation)
    whole = context + cont
    llm.reset()
    if stepwise:
        llm.eval(context)
        for token in cont[:-1]:
            llm.eval([token])
    else:
        llm.eval(whole)
    return sum(log_softmax_at(llm.scores[p - 1], whole[p]) for p in range(len(context), len(whole)))


def divergence_margin(llm: Any, prompt: str, first: str, second: str) -> float:
    """Where two completions of `prompt` part: |log p(first's token) - log p(second's token)| at the first
    token where they differ, from a fresh evaluation of the prompt and their common start in `llm`. A
    small margin means the two engines parted at a near-tie, where batch shapes decide."""
    a = tokenize(llm, prompt + first)
    b = tokenize(llm, prompt + second)
    k = next(n for n, (x, y) in enumerate(zip(a, b, strict=False)) if x != y)
    llm.reset()
    llm.eval(a[:k])
    row = last_logits(llm)
    return abs(log_softmax_at(row, a[k]) - log_softmax_at(row, b[k]))


@dataclass(frozen=True)
class Throughput:
    tokens: int
    """Length of the evaluated sequence."""
    seconds: list[float]
    """One evaluation of the whole sequence (from an empty context) per repeat."""

    @property
    def tokens_per_s(self) -> float:
        """From the median repeat."""
        return self.tokens / statistics.median(self.seconds)


def prompt_throughput(llm: Any, texts: Sequence[str], length: int = 1024, repeats: int = 3) -> Throughput:
    """llama.cpp's prompt-processing speed: one sequence of `length` tokens (the texts one after another,
    cut to length) evaluated from an empty context, `repeats` times, after one warm-up evaluation."""
    tokens: list[int] = []
    for index, text in enumerate(texts):
        tokens += tokenize(llm, text, add_bos=index == 0)
        if len(tokens) >= length:
            break
    if len(tokens) < length:
        raise ValueError(f"the texts give only {len(tokens)} tokens; {length} are needed")
    tokens = tokens[:length]
    llm.reset()
    llm.eval(tokens[:64])  # warm-up: first use of the context
    seconds = []
    for _ in range(repeats):
        llm.reset()
        start = time.perf_counter()
        llm.eval(tokens)
        seconds.append(time.perf_counter() - start)
    llm.reset()
    return Throughput(len(tokens), seconds)


def decode_throughput(llm: Any, prompt: str, count: int = 128, repeats: int = 3) -> Throughput:
    """llama.cpp's generation speed: after `prompt`, `count` tokens generated greedily one at a time (each
    the argmax of the last logits, evaluated alone, as generation does; end-of-text does not stop it),
    `repeats` times."""
    context = tokenize(llm, prompt)
    seconds = []
    for _ in range(repeats):
        llm.reset()
        llm.eval(context)
        start = time.perf_counter()
        for _ in range(count):
            llm.eval([int(np.argmax(last_logits(llm)))])
        seconds.append(time.perf_counter() - start)
    llm.reset()
    return Throughput(count, seconds)


def continuation_split(llm: Any, prompt: str, continuation: str) -> tuple[list[int], list[int]]:
    """(prompt tokens, continuation tokens) split as bench's local provider and lm-evaluation-harness
    split them: the tokens of prompt + continuation after the prompt's own tokens."""
    context = tokenize(llm, prompt)
    whole = tokenize(llm, prompt + continuation)
    if whole[: len(context)] == context:
        return context, whole[len(context) :]
    return context, tokenize(llm, continuation, add_bos=False)


@dataclass(frozen=True)
class RawGeneration:
    texts: list[str]
    completion_tokens: list[int]
    seconds: float


@dataclass(frozen=True)
class Request:
    prompt: str
    max_tokens: int
    stop: Sequence[str]
    shared_prefix: int
    """Characters of the prompt that every request shares (the few-shot exemplars)."""


def _complete(llm: Any, request: Request) -> dict[str, Any]:
    out: dict[str, Any] = llm.create_completion(
        request.prompt,
        max_tokens=request.max_tokens,
        temperature=0.0,
        top_k=1,
        stop=list(request.stop) or None,
        seed=0,
    )
    return out


def generate(llm: Any, requests: Sequence[Request], split: bool) -> RawGeneration:
    """Greedy completion of each request, one after another.

    split=False: `create_completion` alone, as a plain llama-cpp-python loop does it (its own reuse of
    the longest cached token prefix). split=True: the prompt evaluated first in bench's two pieces (the
    shared prefix, kept in the KV cache once evaluated, then the rest), then `create_completion`, which
    finds the prompt cached and samples at once. llama.cpp's numbers depend on how tokens are batched,
    and on this model greedy answers flip between the two, so only split=True generates the same tokens
    as bench (the same engine work); split=False is printed for reference.
    """
    llm.reset()
    texts, completion = [], []
    start = time.perf_counter()
    for request in requests:
        if split:
            tokens = tokenize(llm, request.prompt)
            prefix = tokenize(llm, request.prompt[: request.shared_prefix]) if request.shared_prefix else []
            boundary = len(prefix) if prefix and tokens[: len(prefix)] == prefix else 0
            cached = list(llm.input_ids[: llm.n_tokens])
            if not boundary or cached[:boundary] != tokens[:boundary]:
                llm.reset()
                if boundary:
                    llm.eval(tokens[:boundary])
            llm.n_tokens = boundary
            llm.eval(tokens[boundary:])
        out = _complete(llm, request)
        texts.append(out["choices"][0]["text"])
        completion.append(out["usage"]["completion_tokens"])
    return RawGeneration(texts, completion, time.perf_counter() - start)
