"""The fits of a curve (reports/analyses/fits.py): scripted curves drawn from known forms give back
their parameters inside the fits' 95% intervals in at least 90% of seeds; too few sizes, or a simpler
form that fits as well, give `inconclusive`; every record round-trips through its schema."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
from scipy.special import expit

from reports.analyses.fit_base import MAX_FAILED, size_text, unsettled
from reports.analyses.fit_turn import SHARPNESS
from reports.analyses.fits import (
    CrossingFit,
    FitData,
    FitPoint,
    Predictability,
    TrendFit,
    TurnFit,
    crossing_fit,
    predictability,
    trend_fit,
    turn_fit,
)

LOG_SIZES = np.linspace(8, 11, 10)  # 100M ... 100B parameters
ITEMS = 200
CHANCE = 0.25
SEEDS = range(40)
RESAMPLES = 100  # refits per curved fit in the simulations (the default is 200), to keep them fast
Measure = Callable[[float], float]


def family(
    accuracy: np.ndarray | list[float],
    seed: int,
    logprob: Measure | None = None,
    shared: bool = True,
    log_sizes: np.ndarray = LOG_SIZES,
    items: int = ITEMS,
) -> FitData:
    """A scripted family: at each size, `items` items right with probability `accuracy[i]` and, if given,
    a log-probability drawn around `logprob(log10 size)` (sd 1.5). `shared`: the same items at every
    size, else each size has its own."""
    rng = np.random.default_rng(seed)
    points = []
    for j, (u, p) in enumerate(zip(log_sizes, accuracy, strict=True)):
        ids = [f"q{i}" if shared else f"s{j}q{i}" for i in range(items)]
        measures = {"logprob": rng.normal(logprob(u), 1.5, items)} if logprob else {}
        points.append(FitPoint(10**u, ids, rng.random(items) < p, measures))
    return FitData(points, CHANCE, seed)


def logistic(midpoint: float, steepness: float = 3.0, ceiling: float = 0.85) -> np.ndarray:
    return CHANCE + (ceiling - CHANCE) * expit(steepness * (LOG_SIZES - midpoint))


def broken(level: float, c0: float, c1: float, u1: float) -> tuple[np.ndarray, float]:
    """A broken power law's values at LOG_SIZES (fit_turn's form, a = 0) and log10 of its extremum."""
    t = (LOG_SIZES - u1) / SHARPNESS
    values = 10 ** (level - c0 * (LOG_SIZES - LOG_SIZES.mean()) - c1 * SHARPNESS * np.log10(1 + 10**t))
    share = -c0 / c1 if c1 else -1.0
    return values, u1 + SHARPNESS * np.log10(share / (1 - share)) if 0 < share < 1 else np.nan


def share(hits: list[bool]) -> float:
    return sum(hits) / len(hits)


# --- recovery of known parameters, by simulation ---------------------------------------------------


@pytest.mark.parametrize("shared", [True, False], ids=["paired items", "own items per size"])
def test_a_logistic_midpoint_lies_in_the_crossing_interval_in_90_percent_of_seeds(shared: bool) -> None:
    midpoint = 9.6  # 4B
    hits = []
    for seed in SEEDS:
        fit = crossing_fit(family(logistic(midpoint), seed, shared=shared), resamples=RESAMPLES)
        # A seed whose sizes scatter beyond item sampling by chance (p < 0.01) is a miss, not a pass.
        assert fit.kind == "fitted" or "lack of fit" in fit.text, fit.text
        found = fit.kind == "fitted" and fit.midpoint_low is not None and fit.midpoint_high is not None
        hits.append(found and fit.midpoint_low <= 10**midpoint <= fit.midpoint_high)  # type: ignore[operator]
    assert share(hits) >= 0.9


def test_a_u_minimum_lies_in_the_turn_interval_in_90_percent_of_seeds() -> None:
    accuracy, minimum = broken(np.log10(0.3), c0=0.3, c1=-0.7, u1=9.8)
    assert accuracy.min() > 0.25 and accuracy.max() < 0.9 and 9 < minimum < 10  # a U within the sizes
    hits = []
    for seed in SEEDS:
        fit = turn_fit(family(accuracy, seed), resamples=RESAMPLES)
        assert (fit.kind == "turns" and fit.direction == "minimum") or "lack of fit" in fit.text, fit.text
        found = fit.kind == "turns" and fit.turn_low is not None and fit.turn_high is not None
        hits.append(found and fit.turn_low <= 10**minimum <= fit.turn_high)  # type: ignore[operator]
    assert share(hits) >= 0.9


def test_a_linear_trend_in_log_probability_lies_in_the_slope_interval_in_90_percent_of_seeds() -> None:
    hits = []
    for seed in range(200):
        data = family(logistic(9.6), seed, logprob=lambda u: -4 + 0.6 * (u - 8))
        fit = trend_fit(data, "logprob", resamples=500)
        assert fit.kind == "trend" and fit.slope_low is not None and fit.slope_high is not None
        hits.append(fit.slope_low <= 0.6 <= fit.slope_high)
    assert share(hits) >= 0.9


# --- inconclusive ----------------------------------------------------------------------------------


def test_fewer_than_four_sizes_are_inconclusive_for_every_fit() -> None:
    data = family(logistic(9.0)[:3], 0, logprob=lambda u: -4 + u / 10, log_sizes=LOG_SIZES[:3])
    records = [trend_fit(data, "logprob"), crossing_fit(data), turn_fit(data), predictability(data)]
    for record in records:
        assert record.kind == "inconclusive"
        assert record.text.startswith("inconclusive: 3 sizes,") and "needs at least 4" in record.text
    assert records[-1].text == "inconclusive: 3 sizes, predicting the largest (3 to fit) needs at least 4"


def test_four_sizes_are_enough_to_predict_the_largest() -> None:
    data = family(logistic(9.0)[::3], 0, log_sizes=LOG_SIZES[::3])
    assert predictability(data).kind != "inconclusive"


def test_a_straight_line_is_not_called_a_logistic() -> None:
    line = 0.3 + 0.12 * (LOG_SIZES - 8)
    fits = [crossing_fit(family(line, seed), resamples=RESAMPLES) for seed in range(20)]
    assert share([fit.kind == "fitted" for fit in fits]) <= 0.1
    assert "inconclusive: a straight line in log10 size fits as well (ΔAIC" in fits[0].text


def test_a_flat_curve_at_chance_has_no_crossing_and_a_constant_fits_as_well() -> None:
    fit = crossing_fit(family([CHANCE] * 10, 3))
    assert fit.kind == "inconclusive"
    assert "fits as well (ΔAIC" in fit.text and fit.delta_aic is not None and fit.delta_aic < 4


def test_a_curve_already_past_halfway_at_the_smallest_size_is_not_crossed_between_the_sizes() -> None:
    accuracy = logistic(7.6, steepness=4.0, ceiling=0.9)  # 0.79 at 100M, 0.9 from 1B on
    for seed in range(3):
        fit = crossing_fit(family(accuracy, seed, items=600), resamples=RESAMPLES)
        assert fit.kind == "not crossed", fit.text
        assert fit.text.startswith("not crossed between 100M and 100B (fitted halfway below 100M;")
        assert fit.midpoint_high is not None and fit.midpoint_high < 1e8 and not fit.marks


def test_a_curve_that_has_only_begun_to_rise_has_no_crossing_yet() -> None:
    """Its ceiling is not identified (a low ceiling just above the last point fits), so neither is
    the crossing: never `fitted` at a size the curve has not reached halfway to its true ceiling."""
    accuracy = logistic(11.4, steepness=4.0, ceiling=0.9)  # 0.25 up to 10B, 0.36 at 100B
    fits = [crossing_fit(family(accuracy, seed, items=1000), resamples=RESAMPLES) for seed in range(5)]
    assert all(fit.kind != "fitted" for fit in fits), [fit.text for fit in fits]


def test_a_single_power_law_has_no_turn() -> None:
    accuracy = 0.8 * 10 ** (-0.15 * (LOG_SIZES - 8))
    fit = turn_fit(family(accuracy, 2))
    assert fit.kind == "inconclusive" and "fits as well" in fit.text


def test_a_fall_that_flattens_bends_near_its_break() -> None:
    accuracy, _ = broken(np.log10(0.45), c0=0.2, c1=-0.2, u1=9.5)  # 0.90 at 100M, 0.45 from 3B on
    assert 0.85 < accuracy[0] < 0.95 and abs(accuracy[-1] - 0.45) < 0.01
    fits = [turn_fit(family(accuracy, seed), resamples=50) for seed in range(20)]
    bends = [fit for fit in fits if fit.kind == "bends"]
    assert len(bends) >= 0.9 * len(fits), [fit.text for fit in fits if fit.kind != "bends"]
    assert all(fit.direction == "break" and fit.text.startswith("bends at ") for fit in bends)
    assert share([(fit.turn_low or 0) <= 10**9.5 <= (fit.turn_high or 0) for fit in bends]) >= 0.9


def test_a_measure_that_changes_sign_cannot_be_a_power_law() -> None:
    fit = turn_fit(family(logistic(9.0), 0, logprob=lambda u: 2 * (u - 9.5)), "logprob")
    assert fit.kind == "inconclusive" and "changes sign" in fit.text


def test_a_bootstrap_with_more_than_a_tenth_of_failed_refits_has_not_settled() -> None:
    assert unsettled(int(MAX_FAILED * 200), 200) is None
    assert unsettled(int(MAX_FAILED * 200) + 1, 200) == (
        "inconclusive: the bootstrap does not settle (21 of 200 resamples failed, more than 10%)"
    )


# --- predictability --------------------------------------------------------------------------------


def test_a_largest_point_far_above_the_trend_is_beyond_prediction() -> None:
    accuracy = list(0.3 + 0.02 * (LOG_SIZES - 8))
    accuracy[-1] = 0.8
    fit = predictability(family(accuracy, 0))
    assert fit.kind == "beyond prediction"
    assert fit.difference is not None and fit.difference_low is not None and fit.difference_low > 0.3
    assert fit.text.startswith("beyond prediction by +")


def test_a_smooth_curve_is_predictable_from_smaller_models_in_90_percent_of_seeds() -> None:
    kinds = [predictability(family(0.3 + 0.12 * (LOG_SIZES - 8), seed)).kind for seed in SEEDS]
    assert share([kind == "predictable" for kind in kinds]) >= 0.9


def test_predictability_of_a_continuous_measure_keeps_its_name_and_units() -> None:
    data = family(logistic(10.8), 5, logprob=lambda u: -4 + 0.6 * (u - 8))
    fit = predictability(data, "logprob")
    assert fit.measure == "logprob" and fit.kind == "predictable"
    assert "points" not in fit.text and fit.text.startswith("predictable from smaller models: measured -")
    assert fit.predicted_point is not None and fit.predicted_point.x == pytest.approx(1e11)


def test_a_sudden_exact_match_jump_over_a_smooth_log_probability() -> None:
    """Schaeffer et al. 2023's mirage: accuracy jumps at the largest size, the log-probability of the
    right answer rises smoothly through it."""
    accuracy = [0.26] * 9 + [0.7]
    data = family(accuracy, 4, logprob=lambda u: -6 + 0.8 * (u - 8))
    assert predictability(data).kind == "beyond prediction"
    assert predictability(data, "logprob").kind == "predictable"


def test_predictability_is_axis_agnostic_and_says_the_axis() -> None:
    data = family(0.3 + 0.12 * (LOG_SIZES - 8), 0)
    tokens = FitData(data.points, CHANCE, 0, axis="tokens")
    fit = predictability(tokens)
    assert fit.axis == "tokens" and "at 100B tokens" in fit.text


# --- records ---------------------------------------------------------------------------------------


def test_every_record_round_trips_through_its_schema() -> None:
    data = family(logistic(9.6), 0, logprob=lambda u: -4 + 0.6 * (u - 8))
    u_shape, _ = broken(np.log10(0.3), c0=0.3, c1=-0.7, u1=9.8)
    three = family(logistic(9.6)[:3], 0, log_sizes=LOG_SIZES[:3])
    records = [
        trend_fit(data, "logprob"), crossing_fit(data), predictability(data), predictability(data, "logprob"),
        turn_fit(family(u_shape, 0)), turn_fit(data), crossing_fit(three),
    ]  # fmt: skip
    for record in records:
        assert type(record).model_validate(record.model_dump()) == record
        assert type(record).model_validate_json(record.model_dump_json()) == record
    fitted = [r for r in records if r.kind not in ("inconclusive",)]
    assert all(len(r.curve) == 25 for r in fitted)
    assert all(p.low <= p.y <= p.high for r in fitted for p in r.curve)
    assert {type(r) for r in records} == {TrendFit, CrossingFit, Predictability, TurnFit}


def test_the_same_data_and_seed_give_the_same_record() -> None:
    a, b = family(logistic(9.6), 7), family(logistic(9.6), 7)
    assert crossing_fit(a, resamples=50) == crossing_fit(b, resamples=50)


def test_a_crossing_is_written_with_its_interval_and_how_well_it_fits() -> None:
    fit = crossing_fit(family(logistic(9.6), 0))
    assert fit.kind == "fitted" and fit.midpoint is not None
    assert fit.text.startswith(f"crosses halfway at {size_text(fit.midpoint, 'parameters')} [")
    assert "(logistic from chance 25.0% to ceiling" in fit.text and "R² 0.9" in fit.text
    assert fit.marks and fit.marks[0].label == "crosses halfway (fitted)"


def test_bad_curves_are_refused() -> None:
    with pytest.raises(ValueError, match="positive"):
        FitPoint(0.0, ["a"], [True])
    with pytest.raises(ValueError, match="outcomes"):
        FitPoint(1e9, ["a", "b"], [True])
    with pytest.raises(ValueError, match="once"):
        FitData([FitPoint(1e9, ["a"], [True]), FitPoint(1e9, ["a"], [False])], 0.0, 0)
    with pytest.raises(ValueError, match="missing"):
        trend_fit(family(logistic(9.6), 0), "logprob")


def test_sizes_that_scatter_beyond_item_sampling_are_no_crossing_and_no_turn() -> None:
    """Pythia at step 143,000 on modus tollens (1,236 items; reports/references.yaml, from Michaelov &
    Bergen's results file): 52.8%, 99.9%, 100%, 41.3%, 0%, 94.7%, 57.0%, 100% from 70M to 12B. A
    logistic and a broken power law can beat a line by AIC on such numbers, but neither describes them,
    and an interval from item sampling alone came out a point ("crosses halfway at 2.05B [2.05B,
    2.06B]", R² 0.08): now both say why they are inconclusive."""
    sizes = [70426624, 162322944, 405334016, 1011781632, 1414647808, 2775208960, 6857302016, 11846072320]
    accuracies = [0.528, 0.999, 1.0, 0.413, 0.0, 0.947, 0.57, 1.0]
    points = [
        FitPoint(x, [f"{x}:{i}" for i in range(1236)], [i < round(a * 1236) for i in range(1236)])
        for x, a in zip(sizes, accuracies, strict=True)
    ]
    data = FitData(points, 0.5, seed=1)
    crossing, turn = crossing_fit(data, resamples=RESAMPLES), turn_fit(data, resamples=RESAMPLES)
    assert crossing.kind == "inconclusive" and not crossing.marks, crossing.text
    assert turn.kind == "inconclusive" and not turn.marks, turn.text
    assert "lack of fit" in crossing.text or "fits as well" in crossing.text
