"""The size where accuracy crosses halfway: a logistic in log10(size) from chance to a fitted ceiling,
fitted by binomial maximum likelihood (scipy.optimize.minimize, TNC with the analytic gradient).

    p(x) = chance + (ceiling - chance) / (1 + exp(-steepness * (log10 x - midpoint)))

with ceiling in (chance, 1], steepness > 0 (per tenfold size, at most `_steepest`: a rise the sizes can
resolve) and the midpoint within one measured range beyond either end. It crosses halfway between
chance and its ceiling at x = 10**midpoint. The logistic is compared by AIC (binomial likelihood of
each size's count, sizes independent) with a straight line in log10(size) (p = a + b log10 x, clipped
to (0, 1)) and a constant; it is `inconclusive` unless it beats the better of them by `DELTA_AIC`.

The interval of the crossing is a percentile bootstrap over items (each resample refitted from the
data's fit). `fitted` when it lies within the measured sizes and at least two sizes lie above the
crossing (one point cannot fix the ceiling); `not crossed` when it lies wholly beyond them (either
side); else `inconclusive`: at the edge (a curve that has only begun to rise fits a ceiling just above
its last point, and the crossing moves with it), or more than `MAX_FAILED` of the refits do not
converge.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import Field
from scipy.optimize import minimize
from scipy.special import expit, xlogy

from reports.analyses.fit_base import (
    DELTA_AIC,
    LACK_OF_FIT_P,
    MIN_SIZES,
    Axis,
    FitData,
    FitRecord,
    FittedPoint,
    Series,
    SizeMark,
    build,
    fit_rng,
    fitted_curve,
    grid,
    interval,
    lack_of_fit,
    minimize_each,
    resampled_means,
    series,
    size_text,
    too_few,
    unsettled,
    value_text,
)

CURVE_RESAMPLES = 200
"""Bootstrap resamples of the curved fits (each one refitted): enough for a 95% percentile interval's
ends to move by a few hundredths of a decade between seeds, and within the time budget of the analyses
(perf/analyses_speed.py)."""
LOGISTIC = "logistic in log10 size from chance to a fitted ceiling"
_EPS = 1e-9


class CrossingFit(FitRecord):
    """Where accuracy crosses halfway from chance to its fitted ceiling, from a logistic in log10(size)."""

    fit: Literal["crossing"] = Field(default="crossing", description="Which fit this record is.")
    kind: Literal["fitted", "not crossed", "inconclusive"] = Field(
        description="fitted: crosses halfway within the measured sizes (interval included); not "
        "crossed: the crossing and its interval lie beyond them; inconclusive: too few sizes, a simpler "
        "form fits as well, the interval straddles an end of the sizes, or the bootstrap does not settle."
    )
    form: str = Field(default=LOGISTIC, description="The fitted form.")
    chance: float = Field(description="The accuracy of guessing: the logistic's floor.")
    midpoint: float | None = Field(default=None, description="The size where it crosses halfway.")
    midpoint_low: float | None = Field(default=None, description="Low end of its 95% interval.")
    midpoint_high: float | None = Field(default=None, description="High end of its 95% interval.")
    ceiling: float | None = Field(default=None, description="The fitted ceiling of accuracy.")
    steepness: float | None = Field(default=None, description="Logistic slope per tenfold size.")
    r_squared: float | None = Field(default=None, description="R² of the fit over the per-size accuracies.")
    aic: float | None = Field(default=None, description="AIC of the logistic (binomial likelihood).")
    aic_line: float | None = Field(default=None, description="AIC of a straight line in log10 size.")
    aic_constant: float | None = Field(default=None, description="AIC of a constant.")
    delta_aic: float | None = Field(
        default=None,
        description="AIC of the better simpler form minus the logistic's (> 0: logistic better).",
    )
    failed: int = Field(default=0, description="Resamples whose refit did not converge.")
    curve: list[FittedPoint] = Field(default_factory=list, description="The fitted logistic, for a plot.")
    marks: list[SizeMark] = Field(default_factory=list, description="The crossing size, for a plot.")


def _logistic(theta: np.ndarray, u: np.ndarray, chance: float) -> np.ndarray:
    """The logistic at log10 sizes u; theta = (midpoint, steepness, ceiling), or rows of them."""
    midpoint, steepness, ceiling = (theta[..., i, None] for i in range(3))
    return np.asarray(chance + (ceiling - chance) * expit(steepness * (u - midpoint)))


def _nll(
    theta: np.ndarray, u: np.ndarray, k: np.ndarray, n: np.ndarray, chance: float
) -> tuple[np.ndarray, np.ndarray]:
    """Binomial negative log-likelihoods of rows of logistic parameters (row i against counts k[i])
    and their gradients in (midpoint, steepness, ceiling)."""
    midpoint, steepness, ceiling = (theta[:, i, None] for i in range(3))
    e = expit(steepness * (u - midpoint))
    p = np.clip(chance + (ceiling - chance) * e, _EPS, 1 - _EPS)
    nll = -np.sum(xlogy(k, p) + xlogy(n - k, 1 - p), axis=1)
    slope = -(k / p - (n - k) / (1 - p)) * (ceiling - chance) * e * (1 - e)
    grad = np.column_stack(
        [
            np.sum(slope * -steepness, axis=1),
            np.sum(slope * (u - midpoint), axis=1),
            np.sum(-(k / p - (n - k) / (1 - p)) * e, axis=1),
        ]
    )
    return nll, grad


def _fit_each(
    u: np.ndarray, k: np.ndarray, n: np.ndarray, chance: float, starts: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Logistics fitted to rows of counts `k` from rows of `starts`: parameters, negative
    log-likelihoods, converged."""
    span = float(u[-1] - u[0])
    bounds = [(u[0] - span, u[-1] + span), (0.05, _steepest(u)), (chance + 1e-3, 1.0)]
    return minimize_each(lambda theta: _nll(theta, u, k, n, chance), starts, bounds)


def _steepest(u: np.ndarray) -> float:
    """The steepest logistic the sizes can resolve: its rise from 10% to 90% of the way (2 ln 9 /
    steepness decades) takes at least the smallest step between sizes. A steeper rise draws the same
    points, and its midpoint could lie anywhere between two sizes (a flat likelihood, which a bootstrap
    would not show)."""
    return float(2 * np.log(9) / np.diff(u).min())


def _fit(u: np.ndarray, k: np.ndarray, n: np.ndarray, chance: float) -> tuple[np.ndarray, float]:
    """The best logistic from starts with the midpoint between each two sizes (and beyond either end)
    and a shallow or a steep rise: its parameters and negative log-likelihood."""
    ceiling = float(np.clip((k / n).max(), chance + 0.05, 1.0))
    middles = np.concatenate([[u[0] - 0.5], (u[1:] + u[:-1]) / 2, [u[-1] + 0.5]])
    starts = np.array([[m, s, ceiling] for m in middles for s in (2.0, min(10.0, _steepest(u)))])
    thetas, nll, _ = _fit_each(u, np.tile(k, (len(starts), 1)), n, chance, starts)
    best = int(np.argmin(nll))
    return thetas[best], float(nll[best])


def _simpler(u: np.ndarray, k: np.ndarray, n: np.ndarray) -> tuple[float, float]:
    """AIC of the best straight line in log10 size (p clipped to (0, 1)) and of a constant."""
    p0 = float(k.sum() / n.sum())
    constant = -float(np.sum(xlogy(k, max(p0, _EPS)) + xlogy(n - k, max(1 - p0, _EPS))))
    centre = float(u.mean())

    def nll(theta: np.ndarray) -> float:
        p = np.clip(theta[0] + theta[1] * (u - centre), _EPS, 1 - _EPS)
        return -float(np.sum(xlogy(k, p) + xlogy(n - k, 1 - p)))

    slope, intercept = np.polyfit(u - centre, k / n, 1)
    line = minimize(nll, np.array([intercept, slope]), method="Nelder-Mead", options={"xatol": 1e-6})
    return 2 * min(float(line.fun), constant) + 4, 2 * constant + 2


def crossing_fit(data: FitData, resamples: int = CURVE_RESAMPLES) -> CrossingFit:
    """Where accuracy crosses halfway from chance to its fitted ceiling (module docstring)."""
    s = series(data, None)
    criterion = (
        f"the logistic beats a straight line and a constant by ΔAIC ≥ {DELTA_AIC:g}; the sizes do not "
        f"scatter about it beyond item sampling (lack-of-fit χ² p ≥ {LACK_OF_FIT_P:g}); the bootstrap "
        "settles (≤ 10% of refits fail); crossed: the interval lies within the measured sizes; not crossed: "
        "wholly beyond them"
    )
    base = {"axis": data.axis, "sizes": len(s.u), "chance": data.chance, "criterion": criterion}
    if len(s.u) < MIN_SIZES:
        return build(CrossingFit, kind="inconclusive", text=too_few(len(s.u)), resamples=0, **base)
    n = s.n
    k = np.round(s.means * n)
    theta, nll = _fit(s.u, k, n, data.chance)
    aic = 2 * nll + 6
    aic_line, aic_constant = _simpler(s.u, k, n)
    delta = min(aic_line, aic_constant) - aic
    fitted = _logistic(theta[None], s.u, data.chance)[0]
    total = float(np.sum((s.means - s.means.mean()) ** 2))
    r2 = 1 - float(np.sum((s.means - fitted) ** 2)) / total if total > 0 else 0.0
    numbers = {
        "midpoint": float(10 ** theta[0]), "steepness": float(theta[1]), "ceiling": float(theta[2]),
        "r_squared": r2, "aic": aic, "aic_line": aic_line, "aic_constant": aic_constant, "delta_aic": delta,
    }  # fmt: skip
    simpler = "a straight line in log10 size" if aic_line <= aic_constant else "a constant"
    how = (
        f"logistic from chance {value_text(data.chance, 'accuracy')} to ceiling "
        f"{value_text(float(theta[2]), 'accuracy')}; R² {r2:.2f}; beats {simpler} by ΔAIC {delta:.1f}"
    )
    if delta < DELTA_AIC:
        text = f"inconclusive: {simpler} fits as well (ΔAIC {delta:.1f} < {DELTA_AIC:g})"
        return build(CrossingFit, kind="inconclusive", text=text, resamples=0, **numbers, **base)
    scatter = lack_of_fit(s, fitted, 3, "logistic")
    if scatter is not None:
        return build(CrossingFit, kind="inconclusive", text=scatter, resamples=0, **numbers, **base)
    thetas, failed = _bootstrap(data, s, n, theta, resamples)
    reason = unsettled(failed, resamples)
    if reason is not None:
        return build(
            CrossingFit,
            kind="inconclusive",
            text=reason,
            resamples=resamples,
            failed=failed,
            **numbers,
            **base,
        )
    low, high = interval(thetas[:, 0])
    kind, text = _verdict(data.axis, s.u, float(theta[0]), (low, high), how)
    at = grid(s.u)
    curve = fitted_curve(at, _logistic(theta[None], at, data.chance)[0], _logistic(thetas, at, data.chance))
    mark = SizeMark(label="crosses halfway (fitted)", x=10 ** theta[0], low=10**low, high=10**high)
    return build(
        CrossingFit,
        kind=kind, text=text, midpoint_low=float(10**low), midpoint_high=float(10**high),
        resamples=resamples, failed=failed, curve=curve, marks=[mark] if kind == "fitted" else [],
        **numbers, **base,
    )  # fmt: skip


def _bootstrap(
    data: FitData, s: Series, n: np.ndarray, theta: np.ndarray, resamples: int
) -> tuple[np.ndarray, int]:
    """Refits of the logistic to resampled items, from the data's fit: the converged ones and the
    number that failed."""
    counts = np.round(resampled_means(s, fit_rng(data, "crossing", s.name), resamples) * n)
    thetas, _, converged = _fit_each(s.u, counts, n, data.chance, np.tile(theta, (resamples, 1)))
    return thetas[converged], int(resamples - converged.sum())


def _verdict(
    axis: Axis, u: np.ndarray, midpoint: float, bounds: tuple[float, float], how: str
) -> tuple[Literal["fitted", "not crossed", "inconclusive"], str]:
    low, high = bounds
    first, last = size_text(float(10 ** u[0]), axis), size_text(float(10 ** u[-1]), axis)
    at = f"{size_text(10**midpoint, axis)} [{size_text(10**low, axis)}, {size_text(10**high, axis)}]"
    if u[0] <= low and high <= u[-1]:
        if np.sum(u > midpoint) < 2:
            return (
                "inconclusive",
                f"inconclusive: the crossing {at} has one size above it, too few to fix its ceiling",
            )
        return "fitted", f"crosses halfway at {at} ({how})"
    if low > u[-1] or high < u[0]:
        side = f"above {last}" if midpoint > u[-1] else f"below {first}"
        return "not crossed", f"not crossed between {first} and {last} (fitted halfway {side}; {how})"
    return "inconclusive", f"inconclusive: the crossing {at} lies at the edge of {first}–{last}"
