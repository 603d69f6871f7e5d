"""The llama.cpp calls behind the local engine (providers/local.py), on its one KV cache: a prompt
evaluated in the same pieces whatever came before (its shared prefix kept in sequence 0 between
calls), and log-probs of given continuations for several items in one llama_decode (each answer class
on a sequence of its own that starts as a copy of the prefix), computed from the last logits (never
from full-vocabulary top-k log-probs per token)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from providers.base import ContinuationScores, ErrorKind, ProviderError, ScoreRequest
from providers.local_model import MAX_SEQUENCES, N_CTX


@dataclass(frozen=True)
class _Item:
    """A score request, tokenized: the prompt, each continuation, the length of the shared prefix."""

    request: ScoreRequest
    context: list[int]
    splits: list[list[int]]
    boundary: int


def _add(batch: Any, token: int, position: int, seqs: Sequence[int], logits: bool) -> int:
    """One token into a llama.cpp batch, on the sequences `seqs`; its row."""
    i = batch.n_tokens
    batch.token[i], batch.pos[i], batch.n_seq_id[i], batch.logits[i] = token, position, len(seqs), logits
    for k, seq in enumerate(seqs):
        batch.seq_id[i][k] = seq
    batch.n_tokens = i + 1
    return int(i)


def _logsumexp(logits: np.ndarray) -> float:
    peak = float(logits.max())
    return peak + float(np.log(np.exp(logits - peak, dtype=np.float64).sum()))


class LlamaScoring:
    """Prompt evaluation and batched log-prob scoring on `llm` (a llama_cpp.Llama with MAX_SEQUENCES
    sequences) and its batch. Mixed into LocalProvider, which sets the attributes below and tokenizes
    (`_tokenize`: its chat template decides the BOS)."""

    llm: Any
    n_vocab: int
    _batch: Any
    _llama_cpp: Any

    def _tokenize(self, text: str, add_bos: bool | None = None) -> list[int]:
        raise NotImplementedError

    # -- prompt evaluation -------------------------------------------------------------------------
    def _check_length(self, n_tokens: int) -> None:
        if n_tokens >= N_CTX:
            raise ProviderError(
                ErrorKind.FATAL, f"prompt of {n_tokens} tokens exceeds the context of {N_CTX}"
            )

    def _last_logits(self) -> np.ndarray:
        return np.ctypeslib.as_array(self.llm._ctx.get_logits(), shape=(self.n_vocab,)).copy()

    def _eval_at(self, tokens: list[int], start: int) -> None:
        """Evaluate `tokens[start:]` on top of the cached first `start` tokens."""
        self.llm.n_tokens = start
        self.llm.eval(tokens[start:])

    def _evaluate_prompt(self, prompt: str, tokens: list[int], shared_prefix: int) -> None:
        """Evaluate the prompt (`tokens` is its tokenization), reusing the KV cache of its shared prefix
        when it is already there.

        The prompt is always evaluated in the same pieces, whatever was evaluated before: the shared
        prefix (the first `shared_prefix` characters, e.g. the few-shot exemplars every item has) from
        position 0, then the rest from the prefix's end. llama.cpp's numbers depend slightly on how
        tokens are batched, so splitting by history (longest cached match) would make an item's
        score depend on the item before it; splitting by the prompt alone keeps runs reproducible.
        """
        boundary = self._prefix_length(prompt, tokens, shared_prefix)
        self._eval_at(tokens, self._evaluate_prefix(tokens, boundary))

    # -- log-probabilities of continuations ------------------------------------------------------
    def _split(self, request: ScoreRequest) -> _Item:
        """The request's prompt tokens and each continuation's tokens, split from the prompt as
        lm-evaluation-harness does: tokenize prompt + continuation together and take the tokens after
        the prompt's own tokenization."""
        context = self._tokenize(request.prompt)
        splits = []
        for text in request.continuations:
            whole = self._tokenize(request.prompt + text)
            cont = whole[len(context) :] if whole[: len(context)] == context else self._tokenize(text, False)
            if not cont:
                raise ProviderError(ErrorKind.FATAL, f"continuation {text!r} has no tokens")
            splits.append(cont)
        self._check_length(len(context) + max((len(c) for c in splits), default=0))
        return _Item(
            request, context, splits, self._prefix_length(request.prompt, context, request.shared_prefix)
        )

    def _score_many(self, requests: Sequence[ScoreRequest]) -> list[ContinuationScores]:
        """Log-probs of every continuation of every request, several items to one llama.cpp call.

        Items are taken in order and put together while they share the same prefix (its KV cache is
        kept in sequence 0 and evaluated once) and fit in one batch (`n_batch` tokens, MAX_SEQUENCES
        sequences): each continuation gets a sequence of its own that starts as a copy of the prefix;
        an item's own prompt tokens belong to all of its continuations' sequences (so they are computed
        once), each continuation's tokens to its own sequence. Log-softmax is computed only at the
        positions whose next token is scored. The grouping depends only on the requests, never on what
        was evaluated before, so the same requests always give the same numbers.
        """
        items = [self._split(r) for r in requests]
        results: list[ContinuationScores | None] = [None] * len(items)
        pack: list[int] = []

        def flush() -> None:
            for n, result in zip(pack, self._decode_pack([items[k] for k in pack]), strict=True):
                results[n] = result
            pack.clear()

        for n, item in enumerate(items):
            if not item.splits:
                results[n] = ContinuationScores((), len(item.context), 0)
            elif not self._fits([item]):
                results[n] = self._score_one_by_one(item)
            else:
                if pack and not self._fits([items[k] for k in pack] + [item]):
                    flush()
                pack.append(n)
        if pack:
            flush()
        return [r for r in results if r is not None]

    def _fits(self, items: Sequence[_Item]) -> bool:
        """Whether these items can be evaluated in one call: one prefix, one batch."""
        first = items[0]
        same_prefix = all(
            i.boundary == first.boundary and i.context[: i.boundary] == first.context[: first.boundary]
            for i in items[1:]
        )
        sequences = sum(len(i.splits) for i in items)
        tokens = sum(len(i.context) - i.boundary + sum(len(c) - 1 for c in i.splits) for i in items)
        return same_prefix and sequences < MAX_SEQUENCES and tokens <= self.llm.n_batch

    def _decode_pack(self, items: Sequence[_Item]) -> list[ContinuationScores]:
        """One llama_decode for the items (see `_score_many`)."""
        first = items[0]
        boundary = self._evaluate_prefix(first.context, first.boundary)
        llama_cpp = self._llama_cpp
        ctx = self.llm._ctx.ctx
        memory = llama_cpp.llama_get_memory(ctx)
        used = sum(len(i.splits) for i in items)
        for seq in range(1, used + 1):
            llama_cpp.llama_memory_seq_rm(memory, seq, -1, -1)
            if boundary:
                llama_cpp.llama_memory_seq_cp(memory, 0, seq, 0, boundary)
        rows = self._fill_batch(items, boundary)
        code = llama_cpp.llama_decode(ctx, self._batch)
        if code != 0:
            raise ProviderError(
                ErrorKind.FATAL, f"llama.cpp could not evaluate the prompt (llama_decode {code})"
            )
        results = self._read_logits(ctx, items, rows)
        for seq in range(1, used + 1):
            llama_cpp.llama_memory_seq_rm(memory, seq, -1, -1)
        return results

    def _fill_batch(self, items: Sequence[_Item], boundary: int) -> list[list[list[int]]]:
        """The batch: each item's tokens after the shared prefix on the sequences of all its
        continuations, then each continuation's tokens but its last on its own sequence. Returns, per item
        and continuation, the batch rows whose logits predict the continuation's tokens."""
        batch = self._batch
        batch.n_tokens = 0
        rows: list[list[list[int]]] = []
        next_seq = 1
        for item in items:
            sequences = list(range(next_seq, next_seq + len(item.splits)))
            next_seq += len(item.splits)
            rest = item.context[boundary:]
            last = 0
            for k, token in enumerate(rest):
                last = _add(batch, token, boundary + k, sequences, k == len(rest) - 1)
            item_rows = []
            for seq, cont in zip(sequences, item.splits, strict=True):
                row = [last]
                for m, token in enumerate(cont[:-1]):
                    row.append(_add(batch, token, len(item.context) + m, [seq], True))
                item_rows.append(row)
            rows.append(item_rows)
        return rows

    def _read_logits(
        self, ctx: Any, items: Sequence[_Item], rows: list[list[list[int]]]
    ) -> list[ContinuationScores]:
        """Each continuation's log-prob: the sum over its tokens, each read from the row predicting it."""
        norms: dict[int, float] = {}

        def logprob(index: int, token: int) -> float:
            logits = np.ctypeslib.as_array(
                self._llama_cpp.llama_get_logits_ith(ctx, index), shape=(self.n_vocab,)
            )
            if index not in norms:
                norms[index] = _logsumexp(logits)
            return float(logits[token]) - norms[index]

        results = []
        for item, item_rows in zip(items, rows, strict=True):
            totals = tuple(
                sum(logprob(index, token) for index, token in zip(row, cont, strict=True))
                for row, cont in zip(item_rows, item.splits, strict=True)
            )
            results.append(ContinuationScores(totals, len(item.context), sum(len(c) for c in item.splits)))
        return results

    def _prefix_length(self, prompt: str, tokens: list[int], shared_prefix: int) -> int:
        """Tokens of the shared prefix (the first `shared_prefix` characters of `prompt`, whose
        tokenization is `tokens`); 0 when there is none or its tokens are not a prefix of `tokens`."""
        if not shared_prefix:
            return 0
        prefix = self._tokenize(prompt[:shared_prefix])
        return len(prefix) if len(prefix) < len(tokens) and tokens[: len(prefix)] == prefix else 0

    def _evaluate_prefix(self, tokens: list[int], boundary: int) -> int:
        """Make sequence 0 hold exactly `tokens[:boundary]`, the shared prefix (reusing it when it is
        already there; 0: none); returns `boundary`."""
        cached = self.llm.input_ids[: self.llm.n_tokens]
        if boundary and len(cached) >= boundary and np.array_equal(cached[:boundary], tokens[:boundary]):
            self.llm.n_tokens = boundary
            self.llm._ctx.kv_cache_seq_rm(0, boundary, -1)
        elif boundary:
            self.llm.reset()
            self._eval_at(tokens[:boundary], 0)
        else:
            self.llm.reset()
            self.llm._ctx.kv_cache_seq_rm(0, -1, -1)
        return boundary

    def _score_one_by_one(self, item: _Item) -> ContinuationScores:
        """For an item too long for one batch: the prompt once, then each continuation's tokens one call
        at a time."""
        context = item.context
        self._eval_at(context, self._evaluate_prefix(context, item.boundary))
        first = self._last_logits()
        first_norm = _logsumexp(first)
        results = []
        for cont in item.splits:
            total = float(first[cont[0]]) - first_norm
            for position in range(1, len(cont)):
                self._eval_at(context + cont[:position], len(context) + position - 1)
                logits = self._last_logits()
                total += float(logits[cont[position]]) - _logsumexp(logits)
            results.append(total)
        return ContinuationScores(
            tuple(results), prompt_tokens=len(context), continuation_tokens=sum(len(c) for c in item.splits)
        )
