"""How well the probability a model gives its predicted class matches how often it is right: Brier score,
expected calibration error and the reliability diagram (`reports.analyses.stats.calibration`), per model,
where log-probs scored the items."""

from __future__ import annotations

import math
from typing import ClassVar

from pydantic import Field

from benchmark.records import Record
from reports.analyses.base import Analysis, AnalysisResult, Axis, Curve, Figure, PlotPoint, VerdictLine
from reports.analyses.reliability import calibration


class ReliabilityBin(Record):
    """One point of a reliability diagram: the predictions whose probability fell in one bin."""

    lower: float = Field(description="Lower edge of the bin (probability of the predicted class).")
    upper: float = Field(description="Upper edge of the bin.")
    count: int = Field(description="Predictions in the bin.")
    confidence: float = Field(description="Mean probability of the predicted class in the bin.")
    accuracy: float = Field(description="Share of the bin's predictions that were right.")


class ModelCalibration(Record):
    """One model's calibration on the curve's items."""

    model: str
    brier: float = Field(description="Brier score of the predicted class's probability.")
    ece: float = Field(description="Expected calibration error, 10 equal-width bins.")
    reliability: list[ReliabilityBin] = Field(
        default_factory=list, description="The non-empty bins: mean probability against accuracy."
    )


class CalibrationResult(AnalysisResult):
    """Calibration of each model on the curve whose items were scored by log-probs."""

    models: list[ModelCalibration]

    def lines(self) -> list[VerdictLine]:
        return [
            VerdictLine(f"Calibration of {m.model}: Brier {m.brier:.3f}, ECE {m.ece:.3f}.")
            for m in self.models
        ]

    def figures(self) -> list[Figure]:
        series = tuple(
            (
                f"{m.model}: Brier {m.brier:.3f}, ECE {m.ece:.3f}",
                tuple(
                    PlotPoint(b.count, b.accuracy, b.confidence, b.confidence, m.model) for b in m.reliability
                ),
            )
            for m in self.models
            if m.reliability
        )
        if not series:
            return []
        title = "reliability (10 bins; on the diagonal, as often right as confident)"
        return [Figure(key="reliability", title=title, series=series, kind="reliability")]


class Calibration(Analysis):
    name = "calibration"
    title = "Calibration"
    axes: ClassVar[frozenset[Axis]] = frozenset({"params", "rank", "none"})

    def analyse(self, curve: Curve) -> CalibrationResult | None:
        models = []
        for point in curve.points:
            scored = [o for o in point.outcomes if o.confidence is not None]
            if not scored:
                continue
            found = calibration([o.confidence or 0.0 for o in scored], [o.correct for o in scored])
            if math.isnan(found.brier) or math.isnan(found.ece):
                continue
            bins = [ReliabilityBin(**vars(b)) for b in found.bins]
            models.append(
                ModelCalibration(model=point.model, brier=found.brier, ece=found.ece, reliability=bins)
            )
        if not models:
            return None
        text = "; ".join(f"{m.model}: Brier {m.brier:.3f}, ECE {m.ece:.3f}" for m in models)
        return CalibrationResult(text=text, models=models)
