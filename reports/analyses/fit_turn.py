"""Where a curve that falls turns: a broken power law (Caballero et al. 2022, "Broken Neural Scaling
Laws", arXiv 2210.14891, eq. 1 with one break), fitted by weighted least squares to the per-size
means (chi² minimized by scipy's TNC with its analytic gradient, from four starts):

    y = a + b * x**(-c0) * (1 + (x / d1)**(1 / f1))**(-c1 * f1)

In log-log terms |y - a| follows a straight line of slope -c0 below the break d1 and -(c0 + c1) above
it, the bend spread over a width set by f1. With 4 to 10 sizes its six parameters cannot all be told
apart, so three things are fixed (the fit runs in log10 x):

- the sharpness f1 = `SHARPNESS` (0.3): the slope changes over about a factor of 2 in size either side
  of d1, about one step of a family's grid of sizes. A sharper bend cannot be placed between measured
  sizes, and f1 trades off against c1 (a smoother bend with a larger c1 draws nearly the same curve);
- the limit a = 0: the values themselves follow the broken power law, so they must all have one sign
  (accuracy, digit accuracy, a log-probability; a measure that changes sign is `inconclusive`). The
  limit a trades off against b and c0 over the two or three decades families span;
- the break d1 lies within the measured sizes (beyond them it is not identified).

That leaves b, c0, c1 and d1. The turning size is where the fitted curve has its extremum (a U, or an
inverted U) when that lies within the measured sizes and the refits of at least `TURN_SUPPORT` of the
bootstrap resamples have one too: kind `turns`; otherwise the break d1, where a fall bends (flattens or
steepens): kind `bends`. Each size's mean is weighted by its standard error
(item sampling; 0/1 accuracy as in fit_base), so chi² = sum(((y - fit) / se)**2) and AIC = chi² + 2k.
The broken form (k = 4) must beat both a single power law b * x**(-c0) (k = 2) and a straight line in
log10 x (k = 2) by `DELTA_AIC`, else `inconclusive`. The interval of the turn is a percentile bootstrap
over items (each resample refitted from the data's fit); `inconclusive` when more than `MAX_FAILED`
of the refits do not converge, or when the interval is wider than the measured range.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import Field
from scipy.optimize import least_squares

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
)

SHARPNESS = 0.3
"""The break sharpness f1 of the broken power law, fixed (module docstring)."""
TURN_SUPPORT = 0.975
"""A turn (an extremum within the sizes) needs an extremum in at least this share of the bootstrap refits:
a one-sided test at the level of a 95% interval's end. A fall that flattens is often fitted with a
shallow extremum that a share of the resamples lack: it bends, it does not turn."""
TURN_RESAMPLES = 200
"""Bootstrap resamples of the turn (each one refitted)."""
BROKEN = f"broken power law in size (Caballero et al. 2022, one break, a = 0, f1 = {SHARPNESS:g})"
_LN10 = float(np.log(10))
Direction = Literal["minimum", "maximum", "break"]


class TurnFit(FitRecord):
    """Where a falling curve turns (its extremum) or bends (its break), from a broken power law."""

    fit: Literal["turn"] = Field(default="turn", description="Which fit this record is.")
    kind: Literal["turns", "bends", "inconclusive"] = Field(
        description="turns: the fitted curve has its minimum or maximum within the measured sizes; "
        "bends: it is monotone and its slope changes at the break; inconclusive: too few sizes, a "
        "single power law or a straight line fits as well, or the bootstrap does not settle."
    )
    measure: str = Field(description="What was fitted: 'accuracy' or the name of a continuous measure.")
    form: str = Field(default=BROKEN, description="The fitted form.")
    direction: Direction | None = Field(
        default=None, description="minimum (falls then rises), maximum (rises then falls) or break."
    )
    turn: float | None = Field(default=None, description="The turning size: the extremum, or the break.")
    turn_low: float | None = Field(default=None, description="Low end of its 95% interval.")
    turn_high: float | None = Field(default=None, description="High end of its 95% interval.")
    b: float | None = Field(default=None, description="Scale b of eq. 1 (x in the axis' units).")
    c0: float | None = Field(default=None, description="Exponent below the break: |y| ~ x**(-c0).")
    c1: float | None = Field(default=None, description="Change of exponent at the break: x**(-(c0 + c1)).")
    break_size: float | None = Field(default=None, description="The break d1.")
    sharpness: float = Field(default=SHARPNESS, description="The break sharpness f1 (fixed, not fitted).")
    r_squared: float | None = Field(default=None, description="R² over the per-size means.")
    aic: float | None = Field(default=None, description="AIC of the broken form (chi² + 2k, k = 4).")
    aic_power: float | None = Field(default=None, description="AIC of a single power law (k = 2).")
    aic_line: float | None = Field(default=None, description="AIC of a straight line in log10 size.")
    delta_aic: float | None = Field(
        default=None, description="AIC of the better simpler form minus the broken form's."
    )
    failed: int = Field(default=0, description="Resamples whose refit did not converge.")
    delta_aic_turn: float | None = Field(
        default=None,
        description="When the fitted curve has an extremum within the sizes: AIC of the same form with "
        "a level tail (c1 = -c0, k = 3) minus the broken form's. A turn needs at least 4.",
    )
    turned: float | None = Field(
        default=None,
        description="When the data's fitted curve has an extremum within the sizes: the share of the "
        "converged refits whose curve has one too. A turn needs 97.5%; below, it bends.",
    )
    curve: list[FittedPoint] = Field(default_factory=list, description="The fitted curve, for a plot.")
    marks: list[SizeMark] = Field(default_factory=list, description="The turning size, for a plot.")


def _softplus10(t: np.ndarray) -> np.ndarray:
    """log10(1 + 10**t), without overflow."""
    return np.asarray(np.logaddexp(0.0, t * _LN10) / _LN10)


def _model(theta: np.ndarray, u: np.ndarray, centre: float, sign: float) -> np.ndarray:
    """The broken power law at log10 sizes u, one row per row of theta = (log10 |y| at the centre
    size, c0, c1, log10 d1)."""
    level, c0, c1, u1 = (theta[..., i, None] for i in range(4))
    t = (u - u1) / SHARPNESS
    return np.asarray(sign * 10 ** (level - c0 * (u - centre) - c1 * SHARPNESS * _softplus10(t)))


def _chi2(theta: np.ndarray, s: Series, y: np.ndarray, sign: float) -> tuple[np.ndarray, np.ndarray]:
    """chi² of rows of parameters (row i against means y[i]) and their gradients."""
    centre = float(s.u.mean())
    c1, u1 = theta[:, 2, None], theta[:, 3, None]
    t = (s.u - u1) / SHARPNESS
    fit = _model(theta, s.u, centre, sign)
    residual = (fit - y) / s.se
    slope = 2 * residual * fit * _LN10 / s.se
    gate = 1 / (1 + 10 ** np.clip(-t, -300, 300))
    parts = (np.ones_like(t), -(s.u - centre) + 0 * t, -SHARPNESS * _softplus10(t), c1 * gate)
    return np.sum(residual**2, axis=1), np.column_stack([np.sum(slope * part, axis=1) for part in parts])


def _fit_each(
    s: Series, y: np.ndarray, sign: float, starts: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Broken power laws fitted to rows of means `y` from rows of `starts`: parameters, chi², converged."""
    bounds = [(-15.0, 15.0), (-5.0, 5.0), (-10.0, 10.0), (float(s.u[0]), float(s.u[-1]))]
    return minimize_each(lambda theta: _chi2(theta, s, y, sign), starts, bounds)


def _starts(s: Series) -> np.ndarray:
    """A start per trial break (4 within the sizes), each with the slopes of log10 |y| on either side."""
    magnitude = np.log10(np.maximum(np.abs(s.means), 1e-3 * np.abs(s.means).max()))
    centre = float(s.u.mean())
    starts = []
    for u1 in np.linspace(s.u[0], s.u[-1], 6)[1:-1]:
        left, right = s.u <= u1, s.u >= u1
        c0 = -np.polyfit(s.u[left], magnitude[left], 1)[0] if left.sum() > 1 else 0.0
        c1 = (-np.polyfit(s.u[right], magnitude[right], 1)[0] if right.sum() > 1 else 0.0) - c0
        level = np.mean(
            magnitude + c0 * (s.u - centre) + c1 * SHARPNESS * _softplus10((s.u - u1) / SHARPNESS)
        )
        starts.append([level, c0, c1, u1])
    return np.array(starts)


def _fit(s: Series, sign: float) -> tuple[np.ndarray, float]:
    """The best broken power law from `_starts`: its parameters and chi²."""
    starts = _starts(s)
    thetas, chi2, _ = _fit_each(s, np.tile(s.means, (len(starts), 1)), sign, starts)
    best = int(np.argmin(chi2))
    return thetas[best], float(chi2[best])


def _level_tail(s: Series, sign: float) -> float:
    """chi² of the broken power law whose curve is level after the break (c1 = -c0, k = 3): the simpler
    form a turn must beat (a fall that flattens, or a rise that flattens)."""
    starts = _starts(s)[:, [0, 1, 3]]
    means = np.tile(s.means, (len(starts), 1))

    def objective(theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        full = np.column_stack([theta[:, 0], theta[:, 1], -theta[:, 1], theta[:, 2]])
        values, gradients = _chi2(full, s, means, sign)
        return values, np.column_stack([gradients[:, 0], gradients[:, 1] - gradients[:, 2], gradients[:, 3]])

    bounds = [(-15.0, 15.0), (-5.0, 5.0), (float(s.u[0]), float(s.u[-1]))]
    _, chi2, _ = minimize_each(objective, starts, bounds)
    return float(chi2.min())


def _simpler(s: Series, sign: float) -> tuple[float, float]:
    """chi² of a single power law (a = 0) and of a straight line in log10 size (weighted)."""
    centre = float(s.u.mean())
    magnitude = np.log10(np.maximum(np.abs(s.means), 1e-3 * np.abs(s.means).max()))
    slope, level = np.polyfit(s.u - centre, magnitude, 1)

    def power(th: np.ndarray) -> np.ndarray:
        return np.asarray(sign * 10 ** (th[0] - th[1] * (s.u - centre)))

    fit = least_squares(
        lambda th: (power(th) - s.means) / s.se,
        np.clip([level, -slope], [-14.9, -4.9], [14.9, 4.9]),
        jac=lambda th: np.column_stack(
            [power(th) * _LN10 / s.se, -power(th) * _LN10 * (s.u - centre) / s.se]
        ),
        bounds=([-15.0, -5.0], [15.0, 5.0]),
    )
    coef = np.polyfit(s.u, s.means, 1, w=1 / s.se)
    line = float(np.sum(((s.means - np.polyval(coef, s.u)) / s.se) ** 2))
    return 2 * float(fit.cost), line


def _extremum(theta: np.ndarray) -> float | None:
    """log10 of the size where the fitted curve's slope is 0 (anywhere), or None when it has none."""
    _, c0, c1, u1 = theta
    share = -c0 / c1 if c1 != 0 else -1.0
    return float(u1 + SHARPNESS * np.log10(share / (1 - share))) if 0 < share < 1 else None


def _turn(theta: np.ndarray, u: np.ndarray, sign: float) -> tuple[float, Direction]:
    """The extremum of the fitted curve when it lies within the measured sizes, else its break."""
    at = _extremum(theta)
    if at is not None and u[0] <= at <= u[-1]:
        return at, "minimum" if (theta[1] > 0) == (sign > 0) else "maximum"
    return float(theta[3]), "break"


def turn_fit(data: FitData, measure: str | None = None, resamples: int = TURN_RESAMPLES) -> TurnFit:
    """Where the curve of `measure` (None: accuracy) turns or bends, by a broken power law in size
    (module docstring: the form, what is fixed and why, and when it is inconclusive)."""
    s = series(data, measure)
    criterion = (
        f"the broken form beats a single power law and a straight line by ΔAIC ≥ {DELTA_AIC:g}; the sizes "
        f"do not scatter about it beyond item sampling (lack-of-fit χ² p ≥ {LACK_OF_FIT_P:g}); the "
        "bootstrap settles (≤ 10% of refits fail; interval narrower than the measured range); a turn "
        f"(extremum) must beat a level tail by ΔAIC ≥ {DELTA_AIC:g} and appear in ≥ 97.5% of the refits, "
        "else the curve bends at its break"
    )
    base = {"measure": s.name, "axis": data.axis, "sizes": len(s.u), "criterion": criterion}
    sign = 1.0 if (s.means >= 0).all() else -1.0 if (s.means <= 0).all() else 0.0
    if len(s.u) < MIN_SIZES or sign == 0 or not np.abs(s.means).max() > 0:
        text = too_few(len(s.u)) if len(s.u) < MIN_SIZES else (
            "inconclusive: the measure changes sign (or is 0), and a power law needs values of one sign"
        )  # fmt: skip
        return build(TurnFit, kind="inconclusive", text=text, resamples=0, **base)
    theta, chi2 = _fit(s, sign)
    numbers, delta, simpler = _quality(s, sign, theta, chi2)
    if delta < DELTA_AIC:
        text = f"inconclusive: {simpler} fits as well (ΔAIC {delta:.1f} < {DELTA_AIC:g})"
        return build(TurnFit, kind="inconclusive", text=text, resamples=0, **numbers, **base)
    fitted = _model(theta[None], s.u, float(s.u.mean()), sign)[0]
    scatter = lack_of_fit(s, fitted, 4, "broken power law")
    if scatter is not None:
        return build(TurnFit, kind="inconclusive", text=scatter, resamples=0, **numbers, **base)
    at, direction = _turn(theta, s.u, sign)
    note = ""
    if direction != "break":
        numbers["delta_aic_turn"] = level = _level_tail(s, sign) + 6 - (chi2 + 8)
        if level < DELTA_AIC:
            at, direction = float(theta[3]), "break"
            note = f"; a level tail fits as well as a turn (ΔAIC {level:.1f} < {DELTA_AIC:g})"
    refits, failed = _bootstrap(data, s, sign, theta, resamples)
    reason = unsettled(failed, resamples)
    if reason is not None:
        return build(
            TurnFit, kind="inconclusive", text=reason, resamples=resamples, failed=failed, **numbers, **base
        )
    where, supported, turned = _locations(refits, direction)
    if supported != direction:
        at, direction = float(theta[3]), supported
        note = f"; a turn in only {turned:.0%} of resamples"
    low, high = interval(where)
    kind, text = _verdict(data.axis, s, (at, low, high), direction, theta, delta, note)
    at_u = grid(s.u)
    centre = float(s.u.mean())
    curve = fitted_curve(at_u, _model(theta[None], at_u, centre, sign)[0], _model(refits, at_u, centre, sign))
    label = f"turns: {direction} (fitted)" if direction != "break" else "bends (fitted)"
    mark = SizeMark(label=label, x=10**at, low=10**low, high=10**high)
    return build(
        TurnFit,
        kind=kind, text=text, direction=direction, turn=float(10**at), turn_low=float(10**low),
        turn_high=float(10**high), turned=turned, resamples=resamples, failed=failed, curve=curve,
        marks=[mark] if kind != "inconclusive" else [], **numbers, **base,
    )  # fmt: skip


def _quality(s: Series, sign: float, theta: np.ndarray, chi2: float) -> tuple[dict[str, object], float, str]:
    """The fitted parameters and how well they fit, beside the simpler forms: the record's numbers,
    the AIC margin over the better simpler form, and that form's name."""
    power, line = _simpler(s, sign)
    aic, aic_power, aic_line = chi2 + 8, power + 4, line + 4
    delta = min(aic_power, aic_line) - aic
    fitted = _model(theta[None], s.u, float(s.u.mean()), sign)[0]
    total = float(np.sum((s.means - s.means.mean()) ** 2))
    numbers: dict[str, object] = {
        "b": float(sign * 10 ** (theta[0] + theta[1] * s.u.mean())), "c0": float(theta[1]),
        "c1": float(theta[2]), "break_size": float(10 ** theta[3]), "aic": aic, "aic_power": aic_power,
        "aic_line": aic_line, "delta_aic": delta,
        "r_squared": 1 - float(np.sum((s.means - fitted) ** 2)) / total if total > 0 else 0.0,
    }  # fmt: skip
    simpler = "a single power law" if aic_power <= aic_line else "a straight line in log10 size"
    return numbers, delta, simpler


def _bootstrap(
    data: FitData, s: Series, sign: float, theta: np.ndarray, resamples: int
) -> tuple[np.ndarray, int]:
    """Refits to resampled items from the data's fit: the parameters of those that converged, and how
    many did not."""
    means = resampled_means(s, fit_rng(data, "turn", s.name), resamples)
    refits, _, converged = _fit_each(s, means, sign, np.tile(theta, (resamples, 1)))
    return refits[converged], int(resamples - converged.sum())


def _locations(refits: np.ndarray, direction: Direction) -> tuple[np.ndarray, Direction, float | None]:
    """The log10 turning sizes of the refits, the direction they support, and the share of refits whose
    curve has an extremum (None for a bend). A turn needs one in `TURN_SUPPORT` of them (those without
    are left out of its interval); below that, the curve bends at its break."""
    if direction == "break":
        return refits[:, 3], direction, None
    extrema = np.array([np.nan if (e := _extremum(r)) is None else e for r in refits])
    found = np.isfinite(extrema)
    turned = float(found.mean())
    if turned >= TURN_SUPPORT:
        return extrema[found], direction, turned
    return refits[:, 3], "break", turned


def _verdict(
    axis: Axis,
    s: Series,
    where: tuple[float, float, float],
    direction: Direction,
    theta: np.ndarray,
    delta: float,
    note: str,
) -> tuple[Literal["turns", "bends", "inconclusive"], str]:
    at, low, high = where
    u = s.u
    sizes = f"{size_text(10**at, axis)} [{size_text(10**low, axis)}, {size_text(10**high, axis)}]"
    first, last = size_text(float(10 ** u[0]), axis), size_text(float(10 ** u[-1]), axis)
    if not high - low <= u[-1] - u[0]:
        return "inconclusive", f"inconclusive: the turn {sizes} has an interval wider than {first}–{last}"
    how = f"{BROKEN}; beats a single power law and a straight line by ΔAIC {delta:.1f}"
    if direction == "minimum":
        return "turns", f"turns at {sizes}: falls, then rises ({how})"
    if direction == "maximum":
        return "turns", f"turns at {sizes}: rises, then falls ({how})"
    before, after = -theta[1] + 0.0, -(theta[1] + theta[2]) + 0.0
    how += note
    return (
        "bends",
        f"bends at {sizes}: |{s.name}| ∝ size^{before:+.2f} before, size^{after:+.2f} after ({how})",
    )
