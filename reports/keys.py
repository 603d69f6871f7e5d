"""How summary rows are told apart and grouped: typed keys, never joined strings."""

from __future__ import annotations

from dataclasses import dataclass, field

from benchmark.schemas import SummaryRow
from benchmark.variants import VariantKey, variant_key


@dataclass(frozen=True)
class RowKey:
    """What tells one summary row from another: typed fields, never a joined string."""

    task: str
    variant: VariantKey
    prompting: str
    scoring: str
    model: str


def row_key(row: SummaryRow) -> RowKey:
    return RowKey(row.task, variant_key(row.task_params), row.prompting, row.scoring, row.model)


CurveKey = tuple[str, VariantKey, str, str, str, str, str]
"""Task, variant, prompting, scoring mode, family, model variant, revision ('' for none)."""
TokensKey = tuple[str, VariantKey, str, str, str, str, bool, float]
"""A curve over training tokens: task, variant, prompting, scoring mode, family, model variant, whether
the size is a rank, and the size."""


@dataclass(slots=True)
class Outcome:
    """What the statistics need of one answered sample (the rest of it stays in samples.jsonl)."""

    item_id: str
    correct: bool
    confidence: float | None
    """Probability of the predicted class, where log-probs scored the item."""
    metrics: dict[str, float] = field(default_factory=dict)
    """The item's continuous measures (digit accuracy, the correct answer's log-probability, ...)."""


def curve_key(row: SummaryRow) -> CurveKey:
    """Rows on one curve over size: same task variant, prompting, scoring mode, family, model variant
    and revision (one curve per training checkpoint)."""
    key = row_key(row)
    return (
        key.task,
        key.variant,
        key.prompting,
        key.scoring,
        row.family or "",
        row.variant or "",
        row.revision or "",
    )


def tokens_key(row: SummaryRow) -> TokensKey | None:
    """Rows on one curve over training tokens: the same curve but for the revision, at the same size;
    None for a row without tokens or size."""
    size = size_of(row)
    if row.tokens is None or size is None:
        return None
    return (*curve_key(row)[:6], row.params is None, size)


def size_of(row: SummaryRow) -> float | None:
    """A row's place on the size axis: its parameter count, else its size rank, else None."""
    return float(row.params) if row.params is not None else row.size_rank


def seed_parts(key: RowKey) -> tuple[str, ...]:
    """A row's key as the parts of a seed (`stable_seed`)."""
    return (key.task, *(f"{k}={v}" for k, v in key.variant), key.prompting, key.scoring, key.model)
