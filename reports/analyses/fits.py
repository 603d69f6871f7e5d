"""Curves described by numbers: fitted trends, the size where accuracy crosses halfway, the turn of a
U, and whether the largest size was predictable from the smaller ones. Pure functions of a `FitData`
(no I/O); each returns one typed record with a one-line `text`, its fit quality, the criterion of its
verdict and fitted points for a plot.

- `trend_fit`: a measure's per-size mean against log10(size), a straight line (a power law in size);
  its slope with a bootstrap-over-items interval. "no trend" when that interval contains 0 (a flat line
  fits as well).
- `predictability`: leave out the largest size, fit a straight line in log10(size) to the others,
  predict the largest with a 95% prediction interval, and say whether the measured value lies inside
  ("predictable from smaller models") or not ("beyond prediction by ..."): the operational test of
  emergence (Wei et al. 2022) and, on a continuous measure, of the mirage (Schaeffer et al. 2023).
- `crossing_fit` (reports/analyses/fit_curves.py): a logistic from chance to a fitted ceiling, and
  the size where it crosses halfway;
- `turn_fit` (reports/analyses/fit_turn.py): a broken power law (Caballero et al. 2022), and the size
  where a falling curve turns or bends.

Each says `inconclusive`, with why, below `MIN_SIZES` sizes, when its bootstrap does not settle, or
when a simpler form fits as well. Straight lines are fitted by ordinary least squares on the per-size
means (numpy.polyfit, one solve for all bootstrap resamples at once); the curved forms by scipy.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import Field

from reports.analyses.fit_base import (
    MIN_SIZES,
    Axis,
    FitData,
    FitPoint,
    FitRecord,
    FittedPoint,
    Series,
    SizeMark,
    build,
    fit_rng,
    fitted_curve,
    grid,
    interval,
    resampled_means,
    series,
    size_text,
    too_few,
    value_text,
)
from reports.analyses.fit_curves import CrossingFit, crossing_fit
from reports.analyses.fit_turn import TurnFit, turn_fit

__all__ = [
    "CrossingFit",
    "FitData",
    "FitPoint",
    "FittedPoint",
    "Predictability",
    "SizeMark",
    "TrendFit",
    "TurnFit",
    "crossing_fit",
    "predictability",
    "trend_fit",
    "turn_fit",
]

LINE_RESAMPLES = 2000
"""Bootstrap resamples of the straight-line fits (all solved at once, so they are cheap)."""
LINE = "straight line in log10 size"

Measure = Field(description="What was fitted: 'accuracy' or the name of a continuous measure.")


class TrendFit(FitRecord):
    """A measure's per-size mean against log10(size): a straight line and its slope's interval."""

    fit: Literal["trend"] = Field(default="trend", description="Which fit this record is.")
    kind: Literal["trend", "no trend", "inconclusive"] = Field(
        description="trend: the slope's 95% interval excludes 0; no trend: it contains 0 (a flat line "
        "fits as well); inconclusive: too few sizes."
    )
    measure: str = Measure
    form: str = Field(default=LINE, description="The fitted form: y = intercept + slope * log10(size).")
    slope: float | None = Field(default=None, description="Change of the mean per tenfold size.")
    slope_low: float | None = Field(default=None, description="Low end of the slope's 95% interval.")
    slope_high: float | None = Field(default=None, description="High end of the slope's 95% interval.")
    intercept: float | None = Field(default=None, description="The line's value at log10(size) = 0.")
    r_squared: float | None = Field(default=None, description="R² of the line over the per-size means.")
    curve: list[FittedPoint] = Field(default_factory=list, description="The fitted line, for a plot.")


class Predictability(FitRecord):
    """The largest size predicted from the smaller ones, and whether the measured value lies inside the
    95% prediction interval."""

    fit: Literal["predictability"] = Field(default="predictability", description="Which fit this is.")
    kind: Literal["predictable", "beyond prediction", "inconclusive"] = Field(
        description="predictable: the measured value lies inside the prediction interval; beyond "
        "prediction: outside it (above or below); inconclusive: too few sizes."
    )
    measure: str = Measure
    form: str = Field(default=LINE, description="The form fitted to the smaller sizes.")
    left_out: float = Field(description="The size left out and predicted: the largest.")
    measured: float = Field(description="The measured mean at the largest size.")
    predicted: float | None = Field(default=None, description="The prediction at the largest size.")
    predicted_low: float | None = Field(default=None, description="Low end of the 95% prediction interval.")
    predicted_high: float | None = Field(default=None, description="High end of the prediction interval.")
    difference: float | None = Field(default=None, description="Measured minus predicted.")
    difference_low: float | None = Field(default=None, description="Low end of its 95% interval.")
    difference_high: float | None = Field(default=None, description="High end of its 95% interval.")
    r_squared: float | None = Field(default=None, description="R² of the line over the smaller sizes.")
    residual_spread: float | None = Field(
        default=None,
        description="Spread of the smaller sizes about the line beyond their item sampling (a standard "
        "deviation), added to the prediction interval; None when 3 sizes are fitted (too few to tell).",
    )
    curve: list[FittedPoint] = Field(
        default_factory=list, description="The line fitted to the smaller sizes, drawn to the largest."
    )
    predicted_point: FittedPoint | None = Field(
        default=None, description="The predicted value at the largest size with its prediction interval."
    )


def _line(u: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, float]:
    """Least-squares line(s) of `y` (sizes, or sizes by resamples) on `u`: (slope, intercept) rows, and
    R² of the first column (or of the one line)."""
    coef = np.polyfit(u, y, 1)
    first = y if y.ndim == 1 else y[:, 0]
    fitted = coef[0] * u + coef[1] if y.ndim == 1 else coef[0, 0] * u + coef[1, 0]
    total = float(np.sum((first - first.mean()) ** 2))
    r2 = 1.0 - float(np.sum((first - fitted) ** 2)) / total if total > 0 else 0.0
    return coef, r2


def trend_fit(data: FitData, measure: str | None = None, resamples: int = LINE_RESAMPLES) -> TrendFit:
    """A straight line in log10(size) through the per-size means of `measure` (None: accuracy), with a
    bootstrap-over-items percentile interval on its slope; "no trend" when that interval contains 0."""
    s = series(data, measure)
    criterion = "the slope's 95% bootstrap interval excludes 0"
    base = {"measure": s.name, "axis": data.axis, "sizes": len(s.u), "criterion": criterion}
    if len(s.u) < MIN_SIZES:
        return build(TrendFit, kind="inconclusive", text=too_few(len(s.u)), resamples=0, **base)
    (slope, intercept), r2 = _line(s.u, s.means)
    draws = np.polyfit(s.u, resampled_means(s, fit_rng(data, "trend", s.name), resamples).T, 1)
    low, high = interval(draws[0])
    at = grid(s.u)
    curve = fitted_curve(at, slope * at + intercept, np.outer(draws[0], at) + draws[1][:, None])
    per = f"per tenfold {'size' if data.axis == 'parameters' else data.axis}"
    slope_text = f"{_signed(slope, s.name)} {per} [{_signed(low, s.name)}, {_signed(high, s.name)}]"
    fit_text = f"{LINE}; R² {r2:.2f}"
    if low <= 0 <= high:
        kind: Literal["trend", "no trend"] = "no trend"
        text = f"no trend: slope {slope_text} contains 0, so a flat line fits as well ({fit_text})"
    else:
        kind = "trend"
        text = f"{'rises' if slope > 0 else 'falls'} {slope_text} ({fit_text})"
    return build(
        TrendFit,
        kind=kind, text=text, slope=float(slope), slope_low=low, slope_high=high, intercept=float(intercept),
        r_squared=r2, resamples=resamples, curve=curve, **base,
    )  # fmt: skip


def _signed(value: float, name: str) -> str:
    return f"{value * 100:+.1f} points" if name == "accuracy" else f"{value:+.3g}"


def predictability(
    data: FitData, measure: str | None = None, resamples: int = LINE_RESAMPLES
) -> Predictability:
    """Leave out the largest size (or the last checkpoint, along tokens), fit a straight line in
    log10(size) to the others' means of `measure` (None: accuracy), and predict the largest.

    The 95% interval of measured minus predicted comes from a paired bootstrap over items (the line
    refitted and the largest size's mean redrawn in each resample) plus, when 4 or more sizes are
    fitted, the smaller sizes' scatter about the line beyond their item sampling: s² = max(0, RSS/(m−2)
    − mean squared standard error), entering as s·sqrt(1 + 1/m + (u₀−ū)²/Sxx)·t(m−2) draws added to
    the resamples (the prediction variance of a new point of a line). The measured value lies inside
    the prediction interval exactly when that interval of the difference contains 0.
    """
    s = series(data, measure)
    m = len(s.u) - 1
    criterion = "the measured value lies inside the 95% prediction interval"
    base = {
        "measure": s.name, "axis": data.axis, "sizes": max(m, 0), "left_out": float(10 ** s.u[-1]),
        "measured": float(s.means[-1]), "criterion": criterion,
    }  # fmt: skip
    if m + 1 < MIN_SIZES:
        text = too_few(m + 1, what=f"predicting the largest ({MIN_SIZES - 1} to fit)")
        return build(Predictability, kind="inconclusive", text=text, resamples=0, **base)
    rng = fit_rng(data, "predictability", s.name)
    (slope, intercept), r2 = _line(s.u[:m], s.means[:m])
    u0 = float(s.u[-1])
    predicted = float(slope * u0 + intercept)
    boot = resampled_means(s, rng, resamples)
    draws = np.polyfit(s.u[:m], boot[:, :m].T, 1)
    spread, extra = _residual_spread(s, m, slope, intercept, rng, resamples)
    diffs = boot[:, -1] - (draws[0] * u0 + draws[1]) + extra
    low, high = interval(diffs)
    measured = float(s.means[-1])
    at = grid(s.u)
    curve = fitted_curve(at, slope * at + intercept, np.outer(draws[0], at) + draws[1][:, None])
    point = FittedPoint(x=10**u0, y=predicted, low=measured - high, high=measured - low)
    kind: Literal["predictable", "beyond prediction"] = (
        "predictable" if low <= 0 <= high else "beyond prediction"
    )
    return build(
        Predictability,
        kind=kind, text=_prediction_text(kind, s, data.axis, predicted, (low, high), r2, spread),
        predicted=predicted, predicted_low=point.low, predicted_high=point.high,
        difference=measured - predicted, difference_low=low, difference_high=high, r_squared=r2,
        residual_spread=spread, resamples=resamples, curve=curve, predicted_point=point, **base,
    )  # fmt: skip


def _residual_spread(
    s: Series, m: int, slope: float, intercept: float, rng: np.random.Generator, resamples: int
) -> tuple[float | None, np.ndarray]:
    """The smaller sizes' scatter about their line beyond item sampling, and the draws it adds to the
    bootstrap differences (zeros, and None, when fewer than 4 sizes are fitted)."""
    if m < MIN_SIZES:
        return None, np.zeros(resamples)
    u = s.u[:m]
    residual = s.means[:m] - (slope * u + intercept)
    excess = float(np.sum(residual**2)) / (m - 2) - float(np.mean(s.se[:m] ** 2))
    spread = float(np.sqrt(max(0.0, excess)))
    leverage = 1 + 1 / m + (s.u[-1] - u.mean()) ** 2 / float(np.sum((u - u.mean()) ** 2))
    return spread, spread * np.sqrt(leverage) * rng.standard_t(m - 2, size=resamples)


def _prediction_text(
    kind: str,
    s: Series,
    axis: Axis,
    predicted: float,
    diff: tuple[float, float],
    r2: float,
    spread: float | None,
) -> str:
    m = len(s.u) - 1
    measured = float(s.means[-1])
    how = f"{LINE} through the {m} smaller sizes; R² {r2:.2f}"
    if spread is None:
        how += "; residual spread not included: 3 sizes fitted"
    where = f"at {size_text(float(10 ** s.u[-1]), axis)}"
    if kind == "predictable":
        low, high = measured - diff[1], measured - diff[0]
        return (
            f"predictable from smaller models: measured {value_text(measured, s.name)} {where} lies inside "
            f"the predicted {value_text(predicted, s.name)} [{value_text(low, s.name)}, "
            f"{value_text(high, s.name)}] ({how})"
        )
    signed = [value_text(v, s.name, signed=True) for v in (measured - predicted, *diff)]
    return (
        f"beyond prediction by {signed[0]} [{signed[1]}, {signed[2]}]: measured "
        f"{value_text(measured, s.name)} {where}, predicted {value_text(predicted, s.name)} ({how})"
    )
