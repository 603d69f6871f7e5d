"""Batched evaluation for the transformers engine: several prompts, each after the same cached prefix,
laid out in one padded block, with attention masks built from each token's real position.

A row's tokens keep the positions they would have alone (padding has none and is seen by nothing), and
the masks are computed from those positions, sliding windows included, so every row gets the numbers it
would get evaluated by itself, up to how the matrix products round for another batch shape (measured:
under 1e-5 nats in float32 on CPU). transformers' own padding would shift a row's tokens against a
sliding window (Gemma's is 512 tokens, shorter than a 10-shot prompt), which is why the masks are built
here.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import torch

PAD_POSITION = -1


@dataclass
class Block:
    """Rows evaluated so far: the KV cache and the real position of every cached slot."""

    cache: Any
    """transformers' DynamicCache, one batch row per row here."""
    positions: torch.Tensor
    """[rows, slots]: the position of each cached token, PAD_POSITION for padding."""
    lengths: list[int]
    """Real tokens per row (prefix included): the next token of a row takes this position."""

    def select(self, rows: Sequence[int]) -> None:
        """Keep (and repeat) these rows, in this order."""
        index = torch.tensor(list(rows), dtype=torch.long)
        self.cache.batch_select_indices(index.to(self.positions.device))
        self.positions = self.positions[index]
        self.lengths = [self.lengths[r] for r in rows]


class Evaluator:
    """One model's forward passes over padded blocks (see the module's docstring)."""

    def __init__(self, model: Any) -> None:
        self.model = model
        config = model.config.get_text_config() if hasattr(model.config, "get_text_config") else model.config
        layer_types = list(getattr(config, "layer_types", None) or [])
        self.window: int | None = getattr(config, "sliding_window", None)
        self.by_layer_type = "sliding_attention" in layer_types
        """Models with sliding and full layers take a mask per layer type."""
        if not layer_types and self.window is not None and not getattr(config, "use_sliding_window", True):
            self.window = None
        if layer_types and not self.by_layer_type:
            self.window = None  # every layer attends fully
        unknown = set(layer_types) - {"full_attention", "sliding_attention"}
        if unknown:
            raise ValueError(f"attention layers of type {', '.join(sorted(unknown))} are not supported")
        import inspect

        parameters = inspect.signature(model.forward).parameters
        self.keeps_logits = "logits_to_keep" in parameters
        self.cache_argument = "cache" if "cache" in parameters else "past_key_values"  # renamed in 5.x
        self.device = model.device
        self.dtype = next(model.parameters()).dtype

    def empty(self, rows: int = 1) -> Block:
        from transformers import DynamicCache

        return Block(DynamicCache(), torch.zeros(rows, 0, dtype=torch.long), [0] * rows)

    def prefix(self, tokens: Sequence[int]) -> Block:
        """One row holding `tokens` (its logits are not kept)."""
        block = self.empty()
        if tokens:
            self.extend(block, [list(tokens)], "last")
        return block

    @staticmethod
    def expanded(block: Block, rows: int) -> Block:
        """A copy of a one-row block repeated `rows` times (the stored prefix stays as it is)."""
        copied = Block(copy.deepcopy(block.cache), block.positions.repeat(rows, 1), block.lengths * rows)
        if block.positions.shape[1]:
            copied.cache.batch_repeat_interleave(rows)
        return copied

    def extend(
        self, block: Block, rows: Sequence[Sequence[int]], keep: Literal["last", "all"]
    ) -> torch.Tensor:
        """Append each row's tokens (right-padded into one block) and return float32 logits:
        keep="last" → [rows, vocab] after each row's last token; "all" → [rows, width, vocab]."""
        width = max(len(r) for r in rows)
        ids = torch.zeros(len(rows), width, dtype=torch.long)
        query = torch.full((len(rows), width), PAD_POSITION, dtype=torch.long)
        for n, row in enumerate(rows):
            ids[n, : len(row)] = torch.tensor(list(row), dtype=torch.long)
            query[n, : len(row)] = torch.arange(block.lengths[n], block.lengths[n] + len(row))
        keys = torch.cat([block.positions, query], dim=1)
        last = torch.tensor([max(len(r) - 1, 0) for r in rows])
        wanted = torch.unique(last)
        kwargs: dict[str, Any] = {
            "input_ids": ids.to(self.device),
            "attention_mask": self._masks(query, keys),
            "position_ids": query.clamp(min=0).to(self.device),
            self.cache_argument: block.cache,
            "use_cache": True,
        }
        if self.keeps_logits:
            kwargs["logits_to_keep"] = (
                1 if keep is None else (wanted.to(self.device) if keep == "last" else 0)
            )
        logits = self.model(**kwargs).logits
        block.positions = keys
        block.lengths = [length + len(row) for length, row in zip(block.lengths, rows, strict=True)]
        if keep == "all":
            return logits.float()
        columns = torch.searchsorted(wanted, last) if self.keeps_logits else last
        return logits[torch.arange(len(rows)), columns.to(logits.device)].float()

    def _masks(self, query: torch.Tensor, keys: torch.Tensor) -> Any:
        """Additive masks [rows, 1, width, slots]: a query sees each real key at or before its own
        position (within the window for sliding layers); a padding query sees only itself."""
        q = query[:, None, :, None]
        k = keys[:, None, None, :]
        visible = (k != PAD_POSITION) & (q != PAD_POSITION) & (k <= q)
        width, slots = query.shape[1], keys.shape[1]
        itself = torch.zeros(1, 1, width, slots, dtype=torch.bool)
        itself[0, 0, torch.arange(width), slots - width + torch.arange(width)] = True
        alone = itself & (q == PAD_POSITION)
        low = torch.finfo(self.dtype).min

        def additive(mask: torch.Tensor) -> torch.Tensor:
            zero = torch.zeros((), dtype=self.dtype)
            return torch.where(mask | alone, zero, torch.tensor(low, dtype=self.dtype)).to(self.device)

        if self.window is None:
            return additive(visible)
        sliding = additive(visible & (q - k < self.window))
        if not self.by_layer_type:
            return sliding
        return {"full_attention": additive(visible), "sliding_attention": sliding}


def log_softmax(logits: torch.Tensor) -> torch.Tensor:
    """In float64: sums of several tokens' log-probs stay exact to far below what the engine resolves."""
    return torch.log_softmax(logits.double(), dim=-1)
