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
from benchmark.stats import (
    SizePoint,
    calibration,
    compare_metric,
    neighbour_differences,
    shape_verdict,
    stable_seed,
)
from reports.guidance import guidance_updates
from reports.keys import CurveKey, Outcome, RowKey, curve_key, row_key, size_of


def annotate(rows: list[SummaryRow], answered: dict[RowKey, list[Outcome]], seed: int) -> list[SummaryRow]:
    """The rows with their curve statistics filled in (rows are returned as new objects); `answered`
    holds the answered items of each row, in item order."""
    updates: dict[RowKey, dict[str, object]] = {row_key(r): {} for r in rows}

    # Shape of each curve and the step from the next smaller size, both from paired intervals.
    curves: dict[CurveKey, list[SummaryRow]] = {}
    for row in rows:
        if size_of(row) is not None and row.n > 0:
            curves.setdefault(curve_key(row), []).append(row)
    for key, curve in curves.items():
        points = [
            SizePoint(
                size_of(r) or 0.0,
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
            note = compare_metric(
                list(steps.values()), [(s, v) for s, v in sizes_metric if v is not None], "digit accuracy"
            )
        shape = ShapeVerdict(
            verdict=verdict.shape, threshold=verdict.threshold, minimum=verdict.minimum, reason=verdict.reason
        )
        continuous = None if note is None else MetricComparison(text=note.text, compared=note.compared)
        for point, row in zip(points, curve, strict=True):
            update = updates[row_key(row)]
            update.update(shape=shape, continuous=continuous)
            step = steps.get(point.size)
            if step is not None:
                diff = step.diff
                update["step"] = PairedDifference(estimate=diff.estimate, low=diff.low, high=diff.high)

    # Guidance: chain of thought against plain, instruct against base, per size and per curve.
    for guided, fields in guidance_updates(rows, answered, seed).items():
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
