"""The shape of a curve (`reports.analyses.stats.shape_verdict`), the step from each size to the next, and
whether the task's continuous counterpart of exact match (the measure its scorer declares, read from the
manifest) rises smoothly where accuracy jumps (Schaeffer et al. 2023)."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from benchmark.records import Record
from reports.analyses.base import Analysis, AnalysisResult, Axis, Curve, VerdictLine
from reports.analyses.mirage import compare_metric
from reports.analyses.stats import (
    Shape,
    SizePoint,
    Step,
    neighbour_differences,
    shape_verdict,
)


def size_points(curve: Curve) -> list[SizePoint]:
    """The curve's points as the statistics read them: x, outcomes and item ids."""
    return [
        SizePoint(p.x, [o.correct for o in p.outcomes], [o.item_id for o in p.outcomes]) for p in curve.points
    ]


def interval_text(estimate: float, low: float, high: float, p: float | None = None) -> str:
    """`+12 [+3, +21] points` (a difference with its interval), with McNemar's p where made."""
    text = f"{estimate * 100:+.0f} [{low * 100:+.0f}, {high * 100:+.0f}] points"
    return text if p is None else f"{text}, p={p:.3g}"


class ShapeResult(AnalysisResult):
    """The shape of one curve, read from its intervals (`reports.analyses.stats`)."""

    verdict: Shape
    threshold: float | None = Field(default=None, description="Emergent curves: first size above chance.")
    minimum: float | None = Field(default=None, description="U-shaped curves: size at the minimum.")
    where: str = Field(default="", description="The threshold or minimum as reports print it.")
    reason: str = Field(description="The intervals behind the verdict.")
    detectable: float | None = Field(
        default=None,
        description="Power note on a verdict that sizes do not differ from chance: the accuracy a size "
        "of the curve's smallest item count needs to be called above chance 80% of the time.",
    )

    def lines(self) -> list[VerdictLine]:
        return [VerdictLine("", self.verdict, f"{self.where}. {self.reason}".rstrip())]


class ShapeAnalysis(Analysis):
    name = "shape"
    title = "Shape"
    axes: ClassVar[frozenset[Axis]] = frozenset({"params", "rank", "tokens"})

    def analyse(self, curve: Curve) -> ShapeResult | None:
        if curve.id.axis == "tokens" and len(curve.points) < 2:
            return None  # a size with one checkpoint has no curve over tokens
        found = shape_verdict(size_points(curve), curve.chance, curve.seed)
        where = ""
        if found.threshold is not None:
            where = f" (threshold {curve.x_text(found.threshold)})"
        elif found.minimum is not None:
            where = f" (minimum at {curve.x_text(found.minimum)})"
        text = f"{found.shape}{where}. {found.reason}"
        return ShapeResult(
            text=text,
            verdict=found.shape,
            threshold=found.threshold,
            minimum=found.minimum,
            where=where,
            reason=found.reason,
            detectable=found.detectable,
        )


class StepAt(Record):
    """Accuracy at one size minus that at the next smaller size on the curve."""

    model: str
    x: float
    from_x: float
    estimate: float
    low: float
    high: float
    paired: bool = Field(description="Whether the two sizes were compared on the same items.")


class StepsResult(AnalysisResult):
    """The step from each size to the next larger one (paired on shared items)."""

    steps: list[StepAt]

    def lines(self) -> list[VerdictLine]:
        return []  # shown in the table, a cell per size

    def cells(self) -> dict[str, str]:
        return {s.model: interval_text(s.estimate, s.low, s.high) for s in self.steps}


class StepsAnalysis(Analysis):
    name = "steps"
    title = "Steps"
    column = "Δ vs next smaller [95% CI]"
    axes: ClassVar[frozenset[Axis]] = frozenset({"params", "rank"})

    def analyse(self, curve: Curve) -> StepsResult | None:
        found = neighbour_differences(size_points(curve), curve.seed)
        if not found:
            return None
        by_x = {p.x: p.model for p in curve.points}
        steps = [
            StepAt(
                model=by_x[s.to_size],
                x=s.to_size,
                from_x=s.from_size,
                estimate=s.diff.estimate,
                low=s.diff.low,
                high=s.diff.high,
                paired=s.paired,
            )
            for s in found
        ]
        text = "; ".join(
            f"{curve.x_text(s.from_x)}→{curve.x_text(s.x)} {interval_text(s.estimate, s.low, s.high)}"
            for s in steps
        )
        return StepsResult(text=text, steps=steps)


class ContinuousResult(AnalysisResult):
    """Whether the task's continuous counterpart of exact match (its scorer's declaration, e.g. digit
    accuracy) rises smoothly where exact match jumps."""

    compared: bool = Field(
        description="Whether the measure was compared with a jump of accuracy (False: there was nothing "
        "to compare, and the text says why)."
    )

    def lines(self) -> list[VerdictLine]:
        return [VerdictLine(f"{self.text}.")] if self.compared else []


class ContinuousAnalysis(Analysis):
    name = "continuous"
    title = "Continuous measure"
    axes: ClassVar[frozenset[Axis]] = frozenset({"params", "rank"})

    def analyse(self, curve: Curve) -> ContinuousResult | None:
        """The measure the task's scorer declares as exact match's continuous counterpart (recorded in
        the manifest: `TaskInfo.continuous_measure`); none for a curve of a task the run does not list."""
        measure = curve.task.continuous_measure() if curve.task is not None else None
        values = [p.row.metrics.get(measure) for p in curve.points] if measure is not None else [None]
        if measure is None or len(curve.points) < 3 or any(v is None for v in values):
            return None
        steps: list[Step] = neighbour_differences(size_points(curve), curve.seed)
        found = compare_metric(
            steps,
            [(p.x, v) for p, v in zip(curve.points, values, strict=True) if v is not None],
            measure.replace("_", " "),
        )
        return ContinuousResult(text=found.text, compared=found.compared)
