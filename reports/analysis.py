"""Curve-level statistics attached to summary rows: shape verdicts, steps between neighbouring sizes,
guidance (chain of thought and instruction tuning: paired gains with McNemar's test, and verdicts;
reports.guidance), calibration, and the metric-artifact note."""

from __future__ import annotations

import math

from benchmark.schemas import (
    Calibration,
    MetricComparison,
    PairedDifference,
    ReliabilityBin,
    ShapeVerdict,
    SummaryRow,
)
from reports.analyses.stats import (
    SizePoint,
    Verdict,
    calibration,
    compare_metric,
    neighbour_differences,
    shape_verdict,
    stable_seed,
)
from reports.guidance import guidance_updates
from reports.keys import CurveKey, Outcome, RowKey, TokensKey, curve_key, row_key, size_of, tokens_key

Updates = dict[RowKey, dict[str, object]]


def annotate(rows: list[SummaryRow], answered: dict[RowKey, list[Outcome]], seed: int) -> list[SummaryRow]:
    """The rows with their curve statistics filled in (rows are returned as new objects); `answered`
    holds the answered items of each row, in item order."""
    updates: Updates = {row_key(r): {} for r in rows}

    _size_shapes(rows, answered, seed, updates)
    _token_shapes(rows, answered, seed, updates)

    # Guidance: chain of thought against plain, instruct against base, per size and per curve.
    for guided, fields in guidance_updates(rows, answered).items():
        updates[guided].update(fields)

    # Calibration of class probabilities where log-probs scored the items.
    for row in rows:
        scored = [o for o in answered[row_key(row)] if o.confidence is not None]
        if not scored:
            continue
        result = calibration([o.confidence or 0.0 for o in scored], [o.correct for o in scored])
        if not (math.isnan(result.brier) or math.isnan(result.ece)):
            diagram = [ReliabilityBin(**vars(b)) for b in result.bins]
            updates[row_key(row)]["calibration"] = Calibration(
                brier=result.brier, ece=result.ece, reliability=diagram
            )

    return [row.model_copy(update=updates[row_key(row)]) for row in rows]


def _points(
    curve: list[SummaryRow], answered: dict[RowKey, list[Outcome]], at: list[float]
) -> list[SizePoint]:
    return [
        SizePoint(x, [s.correct for s in answered[row_key(r)]], [s.item_id for s in answered[row_key(r)]])
        for x, r in zip(at, curve, strict=True)
    ]


def _shape(verdict: Verdict) -> ShapeVerdict:
    return ShapeVerdict(
        verdict=verdict.shape, threshold=verdict.threshold, minimum=verdict.minimum, reason=verdict.reason
    )


def _size_shapes(
    rows: list[SummaryRow], answered: dict[RowKey, list[Outcome]], seed: int, updates: Updates
) -> None:
    """The shape of each curve over size (one per checkpoint) and the step from the next smaller size,
    both from paired intervals."""
    curves: dict[CurveKey, list[SummaryRow]] = {}
    for row in rows:
        if size_of(row) is not None and row.n > 0:
            curves.setdefault(curve_key(row), []).append(row)
    for key, curve in curves.items():
        points = _points(curve, answered, [size_of(r) or 0.0 for r in curve])
        if len({p.size for p in points}) != len(points):
            continue  # two models of the same size on one curve: no single curve to judge
        task, variant, *rest = key
        revision = rest.pop()  # a curve without one keeps the seed it had before revisions existed
        parts = (*(f"{k}={v}" for k, v in variant), *rest, *([revision] if revision else []))
        curve_seed = stable_seed(seed, task, *parts)
        verdict = shape_verdict(points, curve[0].chance, curve_seed)
        steps = {step.to_size: step for step in neighbour_differences(points, curve_seed)}
        note = None
        sizes_metric = [(p.size, r.metrics.get("digit_accuracy")) for p, r in zip(points, curve, strict=True)]
        if len(points) >= 3 and all(v is not None for _, v in sizes_metric):
            note = compare_metric(
                list(steps.values()), [(s, v) for s, v in sizes_metric if v is not None], "digit accuracy"
            )
        shape = _shape(verdict)
        continuous = None if note is None else MetricComparison(text=note.text, compared=note.compared)
        for point, row in zip(points, curve, strict=True):
            update = updates[row_key(row)]
            update.update(shape=shape, continuous=continuous)
            step = steps.get(point.size)
            if step is not None:
                diff = step.diff
                update["step"] = PairedDifference(estimate=diff.estimate, low=diff.low, high=diff.high)


def _token_shapes(
    rows: list[SummaryRow], answered: dict[RowKey, list[Outcome]], seed: int, updates: Updates
) -> None:
    """The shape of each size's curve over training tokens (`shape_over_tokens`), by the same rules as
    over size; none for a size with one checkpoint, or two rows at the same tokens."""
    curves: dict[TokensKey, list[SummaryRow]] = {}
    for row in rows:
        key = tokens_key(row)
        if key is not None and row.n > 0:
            curves.setdefault(key, []).append(row)
    for key, curve in curves.items():
        points = _points(curve, answered, [r.tokens or 0.0 for r in curve])
        if len(points) < 2 or len({p.size for p in points}) != len(points):
            continue
        task, variant, *rest = key
        curve_seed = stable_seed(seed, task, *(f"{k}={v}" for k, v in variant), *map(str, rest), "tokens")
        shape = _shape(shape_verdict(points, curve[0].chance, curve_seed))
        for row in curve:
            updates[row_key(row)]["shape_over_tokens"] = shape
