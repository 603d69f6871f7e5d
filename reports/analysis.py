"""Curve-level statistics attached to summary rows: shape verdicts, steps between neighbouring sizes,
the chain-of-thought gain (paired, with McNemar's test), calibration, and the metric-artifact note."""

from __future__ import annotations

import math
from dataclasses import dataclass

from benchmark.schemas import SummaryRow
from benchmark.stats import (
    SizePoint,
    calibration,
    mcnemar,
    neighbour_differences,
    paired_bootstrap_diff,
    shape_verdict,
    smoothness_note,
    stable_seed,
)
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


CurveKey = tuple[str, VariantKey, str, str, str, str]


@dataclass(slots=True)
class Outcome:
    """What the statistics need of one answered sample (the rest of it stays in samples.jsonl)."""

    item_id: str
    correct: bool
    confidence: float | None
    """Probability of the predicted class, where log-probs scored the item."""


def curve_key(row: SummaryRow) -> CurveKey:
    """Rows on one curve: same task variant, prompting, scoring mode, family and model variant."""
    key = row_key(row)
    return (key.task, key.variant, key.prompting, key.scoring, row.family or "", row.variant or "")


def _size(row: SummaryRow) -> float | None:
    return float(row.params) if row.params is not None else row.size_rank


def annotate(rows: list[SummaryRow], answered: dict[RowKey, list[Outcome]], seed: int) -> list[SummaryRow]:
    """The rows with their curve statistics filled in (rows are returned as new objects); `answered`
    holds the answered items of each row, in item order."""
    updates: dict[RowKey, dict[str, object]] = {row_key(r): {} for r in rows}

    # Shape of each curve and the step from the next smaller size, both from paired intervals.
    curves: dict[CurveKey, list[SummaryRow]] = {}
    for row in rows:
        if _size(row) is not None and row.n > 0:
            curves.setdefault(curve_key(row), []).append(row)
    for key, curve in curves.items():
        points = [
            SizePoint(
                _size(r) or 0.0,
                [s.correct for s in answered[row_key(r)]],
                [s.item_id for s in answered[row_key(r)]],
            )
            for r in curve
        ]
        if len({p.size for p in points}) != len(points):
            continue  # two models of the same size on one curve: no single curve to judge
        task, variant, *rest = key
        curve_seed = stable_seed(seed, task, *(f"{k}={v}" for k, v in variant), *rest)
        verdict = shape_verdict(points, curve[0].chance, curve_seed)
        steps = {step.to_size: step for step in neighbour_differences(points, curve_seed)}
        note = None
        sizes_metric = [(p.size, r.metrics.get("digit_accuracy")) for p, r in zip(points, curve, strict=True)]
        if len(points) >= 3 and all(v is not None for _, v in sizes_metric):
            note = smoothness_note(
                list(steps.values()), [(s, v) for s, v in sizes_metric if v is not None], "digit accuracy"
            )
        for point, row in zip(points, curve, strict=True):
            update = updates[row_key(row)]
            update.update(
                shape=verdict.shape,
                shape_threshold=verdict.threshold,
                shape_minimum=verdict.minimum,
                shape_reason=verdict.reason,
                metric_note=note,
            )
            step = steps.get(point.size)
            if step is not None:
                update.update(step_diff=step.diff.estimate, step_low=step.diff.low, step_high=step.diff.high)

    # Chain-of-thought gain: the same items, the same model, the same scoring mode, against plain.
    for row in rows:
        this = row_key(row)
        plain = answered.get(RowKey(this.task, this.variant, "plain", this.scoring, this.model))
        if row.prompting == "plain" or not plain:
            continue
        guided = {s.item_id: s.correct for s in answered[this]}
        base = {s.item_id: s.correct for s in plain}
        shared = sorted(set(guided) & set(base))
        if not shared:
            continue
        a, b = [base[i] for i in shared], [guided[i] for i in shared]
        gain = paired_bootstrap_diff(a, b, stable_seed(seed, *_seed_parts(this), "gain"))
        updates[this].update(
            cot_gain=gain.estimate,
            cot_gain_low=gain.low,
            cot_gain_high=gain.high,
            mcnemar_p=mcnemar(a, b).p_value,
        )

    # Calibration of class probabilities where log-probs scored the items.
    for row in rows:
        scored = [o for o in answered[row_key(row)] if o.confidence is not None]
        if not scored:
            continue
        result = calibration([o.confidence or 0.0 for o in scored], [o.correct for o in scored])
        if not (math.isnan(result.brier) or math.isnan(result.ece)):
            updates[row_key(row)].update(brier=result.brier, ece=result.ece)

    return [row.model_copy(update=updates[row_key(row)]) for row in rows]


def _seed_parts(key: RowKey) -> tuple[str, ...]:
    """A row's key as the parts of a seed (`stable_seed`)."""
    return (key.task, *(f"{k}={v}" for k, v in key.variant), key.prompting, key.scoring, key.model)
