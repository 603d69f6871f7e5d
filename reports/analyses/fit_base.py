"""What the fits (reports/analyses/fits.py) share: their input (`FitData`), the per-size means with a
bootstrap over items, the fitted points a plot draws, the rules that make a fit `inconclusive`, and how
sizes and values are written.

Bootstrap over items: when every size was scored on the same items (the same set of item ids), a
resample draws item ids once and uses those items at every size (paired: a hard item stays hard at
every size); otherwise each size's items are resampled on their own. Every random draw comes from a
`np.random.default_rng` seeded from `FitData.seed` and the fit's name, so the same data and seed give
the same result on every machine.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal, TypeVar

import numpy as np
from pydantic import Field
from scipy.optimize import minimize
from scipy.stats import chi2

from benchmark.records import Record
from benchmark.sizes import format_size
from reports.analyses.intervals import stable_seed

Axis = Literal["parameters", "tokens", "compute"]

LEVEL = 0.95
"""The level of every interval the fits give."""
MIN_SIZES = 4
"""A fit needs at least this many sizes (predictability: this many in all, one fewer to fit)."""
DELTA_AIC = 4.0
"""A fuller form must beat the simpler ones by at least this much AIC to be called a better fit (AIC
differences of 4 to 7 mean "considerably less support" for the worse form; Burnham and Anderson 2002,
section 2.6). Below it, the simpler form fits as well and the fit is `inconclusive`."""
MAX_FAILED = 0.10
"""The bootstrap has not settled when more than this share of its resamples fail (the optimizer does not
converge, or a resample has no turn where the data's fit has one)."""
GRADIENT_TOLERANCE = 1e-3
"""A fit has converged when no component of its objective's projected gradient exceeds this times
max(1, |objective|)."""
MAX_EVALUATIONS = 2000
"""Evaluations of the objectives in each of `minimize_each`'s two runs: a run stops when its slowest
problem converges, and a problem still unconverged after both counts as failed."""
CURVE_POINTS = 25
"""How many fitted points a record gives for a plot, evenly spaced in log10 size over the measured sizes."""


@dataclass(frozen=True, eq=False)
class FitPoint:
    """One size of a curve: the outcome on each item (right or wrong) and, per continuous measure
    (e.g. the log-probability of the correct answer), each item's value, in the order of `item_ids`."""

    x: float
    item_ids: Sequence[str]
    correct: Sequence[bool]
    measures: Mapping[str, Sequence[float]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        ids = tuple(str(i) for i in self.item_ids)
        if not (math.isfinite(self.x) and self.x > 0):
            raise ValueError(f"a size must be a positive number, got {self.x}")
        if not ids or len(set(ids)) != len(ids):
            raise ValueError(f"size {self.x:g}: item ids must be present and unique")
        if len(self.correct) != len(ids):
            raise ValueError(f"size {self.x:g}: {len(self.correct)} outcomes but {len(ids)} item ids")
        measures = {name: np.asarray(values, dtype=float) for name, values in self.measures.items()}
        for name, values in measures.items():
            if values.shape != (len(ids),) or not np.isfinite(values).all():
                raise ValueError(f"size {self.x:g}: measure {name!r} needs one finite value per item")
            values.setflags(write=False)
        object.__setattr__(self, "item_ids", ids)
        object.__setattr__(self, "correct", tuple(bool(c) for c in self.correct))
        object.__setattr__(self, "measures", measures)


@dataclass(frozen=True, eq=False)
class FitData:
    """A curve to fit: its sizes along one axis (parameters, training tokens or compute; fits run
    against log10 of it), the guessing accuracy `chance`, and the seed of every bootstrap."""

    points: Sequence[FitPoint]
    chance: float
    seed: int
    axis: Axis = "parameters"

    def __post_init__(self) -> None:
        points = tuple(sorted(self.points, key=lambda p: p.x))
        if not points:
            raise ValueError("a curve needs at least one size")
        if len({p.x for p in points}) != len(points):
            raise ValueError("each size may appear once in a curve")
        if not 0 <= self.chance < 1:
            raise ValueError(f"chance must be in [0, 1), got {self.chance}")
        object.__setattr__(self, "points", points)


@dataclass(frozen=True, eq=False)
class Series:
    """One measure of a curve as arrays: log10 sizes, each size's per-item values (aligned on one item
    order when `paired`), their means and the standard errors of the means."""

    name: str
    u: np.ndarray
    values: tuple[np.ndarray, ...]
    paired: bool
    means: np.ndarray
    se: np.ndarray

    @property
    def n(self) -> np.ndarray:
        return np.array([len(v) for v in self.values], dtype=float)


def series(data: FitData, measure: str | None) -> Series:
    """The per-item values of `measure` (None: accuracy, 0/1 per item) at each size of `data`."""
    name = measure or "accuracy"
    points = data.points
    for p in points:
        if measure is not None and measure not in p.measures:
            raise ValueError(f"measure {measure!r} is missing at size {p.x:g}")
    paired = all(set(p.item_ids) == set(points[0].item_ids) for p in points)
    order = points[0].item_ids
    values = []
    for p in points:
        raw = np.asarray(p.correct, dtype=float) if measure is None else np.asarray(p.measures[measure])
        if paired:
            where = {item: i for i, item in enumerate(p.item_ids)}
            raw = raw[[where[item] for item in order]]
        values.append(raw)
    means = np.array([v.mean() for v in values])
    return Series(
        name, np.log10([p.x for p in points]), tuple(values), paired, means, _errors(values, measure)
    )


def _errors(values: list[np.ndarray], measure: str | None) -> np.ndarray:
    """Standard errors of the means. Accuracy: sqrt(p(1-p)/n) with p = (k + 1/2)/(n + 1), which is not
    0 at 0 or n correct. A measure: sd/sqrt(n), the pooled sd where a size has one item or no spread."""
    n = np.array([len(v) for v in values], dtype=float)
    if measure is None:
        p = (np.array([v.sum() for v in values]) + 0.5) / (n + 1)
        return np.asarray(np.sqrt(p * (1 - p) / n))
    sd = np.array([v.std(ddof=1) if len(v) > 1 else 0.0 for v in values])
    pooled = float(np.sqrt(np.mean(sd**2)))
    floor = 1e-6 * max(1.0, float(np.max(np.abs([v.mean() for v in values]))))
    return np.asarray(np.maximum(np.where(sd > 0, sd, pooled), floor) / np.sqrt(n))


def resampled_means(s: Series, rng: np.random.Generator, resamples: int) -> np.ndarray:
    """Means at each size of `resamples` bootstrap resamples of the items: shape (resamples, sizes)."""
    out = np.empty((resamples, len(s.values)))
    if s.paired:
        picks = rng.integers(0, len(s.values[0]), size=(resamples, len(s.values[0])))
        for j, v in enumerate(s.values):
            out[:, j] = v[picks].mean(axis=1)
        return out
    for j, v in enumerate(s.values):
        out[:, j] = v[rng.integers(0, len(v), size=(resamples, len(v)))].mean(axis=1)
    return out


def fit_rng(data: FitData, fit: str, name: str) -> np.random.Generator:
    """The random stream of one fit of one measure of `data`."""
    return np.random.default_rng(stable_seed(data.seed, fit, name))


def interval(draws: np.ndarray) -> tuple[float, float]:
    """The percentile interval at `LEVEL` of bootstrap draws (along the first axis)."""
    tail = (1 - LEVEL) / 2 * 100
    low, high = np.percentile(draws, [tail, 100 - tail])
    return float(low), float(high)


def grid(u: np.ndarray) -> np.ndarray:
    """`CURVE_POINTS` log10 sizes, evenly spaced from the smallest measured size to the largest."""
    return np.linspace(float(u[0]), float(u[-1]), CURVE_POINTS)


R = TypeVar("R", bound=Record)


def build(record: type[R], **fields: object) -> R:
    """A record from its fields, validated (the fits assemble their fields in steps)."""
    return record.model_validate(fields)


class FittedPoint(Record):
    """A point of a fitted curve (not a measurement), with the pointwise bootstrap band at `LEVEL`."""

    x: float = Field(description="Size along the fit's axis (parameters, training tokens or compute).")
    y: float = Field(description="The fitted curve's value at x.")
    low: float = Field(description="Low end of the 95% bootstrap band of the fitted curve at x.")
    high: float = Field(description="High end of the 95% bootstrap band of the fitted curve at x.")


class FitRecord(Record):
    """What every fit's record has: its verdict in one line, the axis, the sizes fitted, the rule the
    verdict follows, the bootstrap behind its intervals, and the fitted curve for a plot."""

    text: str = Field(description="The verdict in one line, as a report prints it.")
    axis: Axis = Field(
        description="The size axis fitted against (log10 of it): parameters, tokens or compute."
    )
    sizes: int = Field(description="Sizes fitted (predictability: all but the largest).")
    criterion: str = Field(description="The rule the verdict follows, in words.")
    resamples: int = Field(description="Bootstrap resamples over items behind the intervals (0: none drawn).")
    curve: list[FittedPoint] = Field(default_factory=list, description="The fitted curve, for a plot.")


class SizeMark(Record):
    """A size a fit estimates (where a curve crosses halfway, or turns), with its 95% interval."""

    label: str = Field(description="What the size is, as a plot labels it, e.g. 'crosses halfway (fitted)'.")
    x: float = Field(description="The estimated size.")
    low: float = Field(description="Low end of its 95% bootstrap interval.")
    high: float = Field(description="High end of its 95% bootstrap interval.")


def fitted_curve(u: np.ndarray, y: np.ndarray, draws: np.ndarray) -> list[FittedPoint]:
    """Fitted points at log10 sizes `u`: values `y`, band from `draws` (resamples by points)."""
    tail = (1 - LEVEL) / 2 * 100
    low, high = np.percentile(draws, [tail, 100 - tail], axis=0)
    return [
        FittedPoint(x=float(10**ui), y=float(yi), low=float(lo), high=float(hi))
        for ui, yi, lo, hi in zip(u, y, low, high, strict=True)
    ]


def size_text(x: float, axis: Axis) -> str:
    """A size as a report writes it: 13B (parameters), 300B tokens, 6.2e21 FLOPs."""
    if axis == "compute":
        mantissa, exponent = f"{x:.1e}".split("e")
        return f"{mantissa}e{int(exponent)} FLOPs"
    return format_size(x) + (" tokens" if axis == "tokens" else "")


def value_text(value: float, name: str, signed: bool = False) -> str:
    """A value of a measure: accuracy in percent (or signed points), other measures to 3 digits."""
    if name == "accuracy":
        return f"{value * 100:+.1f} points" if signed else f"{value * 100:.1f}%"
    return f"{value:+.3g}" if signed else f"{value:.3g}"


def too_few(sizes: int, needed: int = MIN_SIZES, what: str = "a fit") -> str:
    """The text of a fit refused for lack of sizes."""
    return f"inconclusive: {sizes} size{'s' if sizes != 1 else ''}, {what} needs at least {needed}"


def unsettled(failed: int, resamples: int) -> str | None:
    """Why the bootstrap has not settled, when more than `MAX_FAILED` of its resamples failed."""
    if failed > MAX_FAILED * resamples:
        return (
            f"inconclusive: the bootstrap does not settle ({failed} of {resamples} resamples failed, "
            f"more than {MAX_FAILED:.0%})"
        )
    return None


LACK_OF_FIT_P = 0.001
"""A fitted form whose sizes scatter about it beyond their item sampling (Pearson's χ² of the per-size
residuals over their standard errors, on sizes − parameters degrees of freedom) with p below this
describes no curve the sizes follow: its bootstrap-over-items interval would count item sampling only."""


def lack_of_fit(s: Series, fitted: np.ndarray, parameters: int, form: str) -> str | None:
    """Why a fitted form does not describe the sizes, or None when it does (or too few sizes to test)."""
    df = len(s.u) - parameters
    if df < 1:
        return None
    statistic = float(np.sum(((s.means - fitted) / s.se) ** 2))
    p = float(chi2.sf(statistic, df))
    if p >= LACK_OF_FIT_P:
        return None
    return (
        f"inconclusive: the sizes scatter about the fitted {form} beyond their item sampling (lack of "
        f"fit χ² {statistic:.3g} on {df} df, p = {p:.2g} < {LACK_OF_FIT_P:g}): its interval would be too "
        "narrow"
    )


Objective = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]
"""Independent problems at once: parameters (problems, p) to objective values (problems,) and their
gradients (problems, p)."""


def minimize_each(
    objective: Objective, starts: np.ndarray, bounds: Sequence[tuple[float, float]]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Minimize independent problems (a bootstrap's refits, or one fit from several starts), one per
    row of `starts`, within `bounds`: the minimizing parameters, the objective values there, and whether
    each converged (`GRADIENT_TOLERANCE`).

    One scipy run (truncated Newton, TNC, with bounds) minimizes the sum of the objectives over all the
    parameters: the problems share no parameter, so the sum's minimum is each problem's minimum, and
    the optimizer's fixed cost is paid once instead of once per problem. (TNC, unlike L-BFGS-B, makes
    no BLAS calls, which multi-threaded BLAS slows tenfold on a busy machine.) The problems that have
    not converged when it stops are run once more on their own, with a tighter stopping rule, from
    where they stopped. Each run is bounded by `MAX_EVALUATIONS`: an ill-determined refit (a flat
    direction of its objective) fails instead of holding up the others.
    """
    best, values, converged = _minimize_sum(objective, starts, bounds, 1e-12)
    again = np.flatnonzero(~converged)
    if len(again):

        def rest(theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            full = best.copy()
            full[again] = theta
            v, g = objective(full)
            return v[again], g[again]

        best[again], values[again], converged[again] = _minimize_sum(rest, best[again], bounds, 1e-15)
    return best, values, converged


def _minimize_sum(
    objective: Objective, starts: np.ndarray, bounds: Sequence[tuple[float, float]], ftol: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    count, width = starts.shape
    low, high = np.array(bounds, dtype=float).T

    def total(flat: np.ndarray) -> tuple[float, np.ndarray]:
        values, gradients = objective(flat.reshape(count, width))
        return float(values.sum()), gradients.ravel()

    result = minimize(
        total, np.clip(starts, low, high).ravel(), jac=True, method="TNC", bounds=list(bounds) * count,
        options={"maxfun": MAX_EVALUATIONS, "ftol": ftol, "gtol": 1e-10},
    )  # fmt: skip
    best = result.x.reshape(count, width)
    values, gradients = objective(best)
    stuck_low = (best <= low) & (gradients > 0)
    stuck_high = (best >= high) & (gradients < 0)
    projected = np.where(stuck_low | stuck_high, 0.0, gradients)
    tolerance = GRADIENT_TOLERANCE * np.maximum(1.0, np.abs(values))
    converged = np.isfinite(values) & (np.abs(projected).max(axis=1) <= tolerance)
    return best, values, converged
