"""The fits (reports/analyses/fits.py) as analyses of a curve: a trend of each continuous measure, where
accuracy crosses halfway from chance to its ceiling, where a falling curve turns, and whether the largest
size was predictable from the smaller ones, by accuracy and by each continuous measure.

They read curves over parameters, training tokens and training compute, against log10 of the axis. A
curve over size ranks (API families of undisclosed size) has no scale to fit against: the crossing
analysis says so in one line and the others are silent, as they are on a curve of fewer sizes than a fit
needs (the crossing line says why, once). The turn is fitted only where a curve falls somewhere (its
lowest accuracy is not at its smallest size); a curve that only rises has no turn to find.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar, Literal

from pydantic import Field

from reports.analyses.base import (
    Analysis,
    AnalysisResult,
    Axis,
    Curve,
    Overlay,
    PlotPoint,
    VerdictLine,
)
from reports.analyses.fit_base import MIN_SIZES, too_few
from reports.analyses.fits import (
    CrossingFit,
    FitData,
    FitPoint,
    FittedPoint,
    Predictability,
    TrendFit,
    TurnFit,
    crossing_fit,
    predictability,
    trend_fit,
    turn_fit,
)
from reports.analyses.intervals import stable_seed

FIT_AXES: frozenset[Axis] = frozenset({"params", "tokens", "compute"})
_FIT_AXIS: dict[Axis, Literal["parameters", "tokens", "compute"]] = {
    "params": "parameters",
    "tokens": "tokens",
    "compute": "compute",
}


def measures_of(curve: Curve) -> list[str]:
    """The continuous measures every answered item of every point has, sorted by name."""
    names: set[str] | None = None
    for point in curve.points:
        for outcome in point.outcomes:
            have = set(outcome.metrics)
            names = have if names is None else names & have
    return sorted(names or ())


def fit_data(curve: Curve, name: str) -> FitData:
    """The curve as the fits read it, with every continuous measure every item has; seeded per fit. A
    size of 0 or less (an old run may hold one; new runs refuse it) has no place on a log axis and is
    left out."""
    measures = measures_of(curve)
    points = [
        FitPoint(
            x=p.x,
            item_ids=[o.item_id for o in p.outcomes],
            correct=[o.correct for o in p.outcomes],
            measures={m: [o.metrics[m] for o in p.outcomes] for m in measures},
        )
        for p in curve.points
        if p.x > 0
    ]
    return FitData(points, curve.chance, stable_seed(curve.seed, name), _FIT_AXIS[curve.id.axis])


def _placed(curve: Curve) -> bool:
    """Whether any point of the curve has a place on a log axis (a size above 0)."""
    return any(p.x > 0 for p in curve.points)


def _line(before: str, kind: str, text: str) -> VerdictLine:
    """The verdict's word in bold: the text's own first words where it starts with them."""
    if text.startswith(kind):
        return VerdictLine(before, kind, text[len(kind) :])
    return VerdictLine(before, kind, f": {text}")


def _plot(points: list[FittedPoint]) -> tuple[PlotPoint, ...]:
    return tuple(PlotPoint(p.x, p.y, p.low, p.high, "fitted") for p in points)


class CrossingResult(AnalysisResult):
    """Where accuracy crosses halfway from chance to its fitted ceiling (a logistic in log10 size)."""

    fit: CrossingFit | None = Field(
        default=None, description="None on a curve over size ranks or of fewer sizes than a fit needs."
    )

    def lines(self) -> list[VerdictLine]:
        return [_line("", self.fit.kind, self.text)] if self.fit else [VerdictLine(self.text)]

    def overlays(self) -> list[Overlay]:
        if self.fit is None or self.fit.kind == "inconclusive":
            return []
        marks = tuple((m.x, m.label) for m in self.fit.marks)
        return [Overlay("logistic", line=_plot(self.fit.curve), marks=marks)]


class TurnResult(AnalysisResult):
    """Where a falling accuracy curve turns or bends (a broken power law, Caballero et al. 2022)."""

    fit: TurnFit

    def lines(self) -> list[VerdictLine]:
        return [_line("", self.fit.kind, self.text)]

    def overlays(self) -> list[Overlay]:
        if self.fit.kind == "inconclusive":
            return []
        marks = tuple((m.x, m.label) for m in self.fit.marks)
        return [Overlay("broken power law", line=_plot(self.fit.curve), marks=marks)]


class TrendResult(AnalysisResult):
    """Each continuous measure's trend in log10 size (a power law in size), with its slope's interval."""

    fits: list[TrendFit]

    def lines(self) -> list[VerdictLine]:
        return [_line(f"{f.measure.replace('_', ' ')}: ", f.kind, f.text) for f in self.fits]

    def overlays(self) -> list[Overlay]:
        return [
            Overlay("straight line in log10 size", measure=f.measure, line=_plot(f.curve))
            for f in self.fits
            if f.kind == "trend"
        ]


class PredictabilityResult(AnalysisResult):
    """The largest size predicted from the smaller ones, by accuracy and by each continuous measure: the
    operational test of emergence (Wei et al. 2022) and of a metric artifact (Schaeffer et al. 2023)."""

    fits: list[Predictability]

    def lines(self) -> list[VerdictLine]:
        return [_line(f"{f.measure.replace('_', ' ')}: ", f.kind, f.text) for f in self.fits]

    def overlays(self) -> list[Overlay]:
        found = []
        for f in self.fits:
            if f.kind == "inconclusive" or f.predicted_point is None:
                continue
            p = f.predicted_point
            point = PlotPoint(p.x, p.y, p.low, p.high, "predicted from the smaller sizes")
            found.append(
                Overlay(
                    "predicted from the smaller sizes",
                    measure=f.measure,
                    line=_plot(f.curve),
                    points=(point,),
                )
            )
        return found


class Crossing(Analysis):
    name = "crossing"
    title = "Crossing (logistic fit)"
    axes: ClassVar[frozenset[Axis]] = FIT_AXES | {"rank"}

    def analyse(self, curve: Curve) -> CrossingResult | None:
        if curve.id.axis == "rank":
            return CrossingResult(
                text="no fits: the sizes are ranks (undisclosed), not a scale to fit against"
            )
        if len(curve.points) < MIN_SIZES:  # one line for every fit
            short = too_few(len(curve.points)).removeprefix("inconclusive: ")
            return CrossingResult(text=f"no fits: {short}")
        found = crossing_fit(fit_data(curve, self.name))
        return CrossingResult(text=found.text, fit=found)


class Turn(Analysis):
    name = "turn"
    title = "Turn (broken power law fit)"
    axes: ClassVar[frozenset[Axis]] = FIT_AXES

    def analyse(self, curve: Curve) -> TurnResult | None:
        accuracies = [p.accuracy for p in curve.points]
        if len(accuracies) < MIN_SIZES or min(accuracies) >= accuracies[0] or not _placed(curve):
            return None  # never below its start: no fall to turn from
        found = turn_fit(fit_data(curve, self.name))
        return TurnResult(text=found.text, fit=found)


def _each_measure(curve: Curve, name: str, fit: Callable[[FitData, str], TrendFit]) -> list[TrendFit]:
    data = fit_data(curve, name)
    return [fit(data, m) for m in measures_of(curve)]


class Trend(Analysis):
    name = "trend"
    title = "Trend of each continuous measure"
    axes: ClassVar[frozenset[Axis]] = FIT_AXES

    def analyse(self, curve: Curve) -> TrendResult | None:
        if not _placed(curve) or len(curve.points) < MIN_SIZES:
            return None
        fits = _each_measure(curve, self.name, trend_fit)
        if not fits:
            return None
        return TrendResult(text="; ".join(f"{f.measure}: {f.text}" for f in fits), fits=fits)


class Predictable(Analysis):
    name = "predictability"
    title = "Predictability of the largest size"
    axes: ClassVar[frozenset[Axis]] = FIT_AXES

    def analyse(self, curve: Curve) -> PredictabilityResult | None:
        if len(curve.points) < MIN_SIZES or not _placed(curve):
            return None
        data = fit_data(curve, self.name)
        fits = [predictability(data)] + [predictability(data, m) for m in measures_of(curve)]
        return PredictabilityResult(text="; ".join(f"{f.measure}: {f.text}" for f in fits), fits=fits)
