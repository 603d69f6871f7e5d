"""Paired comparisons, McNemar, scaling-curve shapes, calibration and the smoothness note."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from benchmark.sizes import format_size
from reports.analyses.intervals import (
    Interval,
    mcnemar,
    newcombe_paired_interval,
    paired_difference,
    stable_seed,
    unpaired_bootstrap_diff,
    wilson_interval,
)
from reports.analyses.mirage import compare_metric
from reports.analyses.reliability import calibration, class_probabilities
from reports.analyses.stats import SizePoint, Step, compare_sizes, neighbour_differences, shape_verdict

SIZES = [1e8, 1e9, 1e10, 1e11, 1e12]


def point(size: float, accuracy: float, n: int = 200, prefix: str = "q") -> SizePoint:
    """The first round(accuracy * n) items right, the rest wrong; ids shared across sizes."""
    k = round(accuracy * n)
    return SizePoint(size, [i < k for i in range(n)], [f"{prefix}{i}" for i in range(n)])


def curve(accuracies: list[float], n: int = 200) -> list[SizePoint]:
    return [point(s, a, n) for s, a in zip(SIZES, accuracies, strict=False)]


pairs = st.integers(min_value=1, max_value=60).flatmap(
    lambda n: st.tuples(
        st.lists(st.booleans(), min_size=n, max_size=n), st.lists(st.booleans(), min_size=n, max_size=n)
    )
)
seeds = st.integers(min_value=0, max_value=2**63 - 1)


# --- existing functions keep their behaviour -------------------------------------------------------------


def test_existing_functions_unchanged() -> None:
    assert stable_seed("a", 1) == stable_seed("a", 1) != stable_seed("a", 2)
    assert stable_seed() == int.from_bytes(__import__("hashlib").sha256(b"").digest()[:8], "big") >> 1


# --- Wilson interval of a proportion ---------------------------------------------------------------------


def test_wilson_known_cases() -> None:
    # 0 of 20: not a zero-width "certainty" but [0, 16.1%] (z = 1.96: 3.8415 / 23.8415).
    assert wilson_interval(0, 20) == (0.0, pytest.approx(0.16113, abs=1e-5))
    low, high = wilson_interval(20, 20)
    assert high == 1.0 and low == pytest.approx(1 - 0.16113, abs=1e-5)
    # 10 of 20: symmetric about one half, [29.9%, 70.1%].
    low, high = wilson_interval(10, 20)
    assert (low, high) == (pytest.approx(0.29929, abs=1e-5), pytest.approx(0.70071, abs=1e-5))
    # 7 of 50 by hand: centre (7 + 1.9207) / 53.8415 = 0.16568, half-width 1.96 * sqrt(6.02 + 0.96037)
    # / 53.8415 = 0.09618.
    assert wilson_interval(7, 50) == (pytest.approx(0.06951, abs=1e-5), pytest.approx(0.26186, abs=1e-5))
    # A 99% interval is wider than a 95% one.
    assert wilson_interval(3, 30, level=0.99)[1] > wilson_interval(3, 30)[1]


@pytest.mark.parametrize(
    "call",
    [lambda: wilson_interval(0, 0), lambda: wilson_interval(5, 4), lambda: wilson_interval(1, 4, level=1)],
)
def test_wilson_bad_input(call: Callable[[], object]) -> None:
    with pytest.raises(ValueError):
        call()


@given(st.integers(1, 500).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))))
@settings(max_examples=300, deadline=None)
def test_wilson_contains_the_estimate_within_0_1(kn: tuple[int, int]) -> None:
    k, n = kn
    low, high = wilson_interval(k, n)
    assert 0.0 <= low <= k / n <= high <= 1.0 and low < high


def test_wilson_coverage_is_close_to_95_percent_in_a_seeded_simulation() -> None:
    rng = np.random.default_rng(2024)
    coverages = []
    for n in (20, 50, 200):
        for p in (0.05, 0.1, 0.3, 0.5, 0.7, 0.9):
            draws = rng.binomial(n, p, size=4000)
            inside = [low <= p <= high for low, high in (wilson_interval(int(k), n) for k in draws)]
            coverages.append(sum(inside) / len(inside))
    assert 0.93 <= sum(coverages) / len(coverages) <= 0.97  # close to nominal on average (0.958 here)
    assert min(coverages) >= 0.87  # and never far below it on this grid


# --- paired differences (Newcombe's score interval) and unpaired ones (bootstrap) ------------------------


def test_newcombe_matches_the_published_example() -> None:
    """Cavo et al. 2012 (complete response before and after consolidation therapy), the worked example of
    Fagerland, Lydersen and Laake: 59 both, 6 first only, 16 second only, 80 neither. Newcombe's
    square-and-add interval, 95%: estimate -0.0621, [-0.1186, -0.0046] for first minus second
    (ocbe-uio/contingencytables, tests/testthat/test-ch8.R at ac7bf36e91360ed47c269d65bc54e0134d7fdde1);
    here second minus first, so the mirror image."""
    diff = newcombe_paired_interval(both=59, a_only=6, b_only=16, neither=80)
    assert diff.estimate == pytest.approx(10 / 161)
    assert (diff.low, diff.high) == (pytest.approx(0.0046, abs=5e-5), pytest.approx(0.1186, abs=5e-5))
    back = newcombe_paired_interval(both=59, a_only=16, b_only=6, neither=80)
    assert (back.low, back.high) == (pytest.approx(-diff.high), pytest.approx(-diff.low))


def test_a_paired_interval_does_not_collapse_without_discordant_pairs() -> None:
    """Defect B: 0 of 20 in both conditions is no evidence of "no difference"; the percentile bootstrap
    said [+0, +0]. Each accuracy keeps its Wilson width (0 of 20: up to 16.1%)."""
    nothing = paired_difference([False] * 20, [False] * 20)
    assert nothing.estimate == 0.0
    assert (nothing.low, nothing.high) == (
        pytest.approx(-0.16113, abs=1e-5),
        pytest.approx(0.16113, abs=1e-5),
    )
    # Identical outcomes, half right: narrower (the pairs agree) but not a point.
    same = [i < 10 for i in range(20)]
    agree = paired_difference(same, same)
    assert -0.16 < agree.low < 0 < agree.high < 0.16
    # Every changed item one way, 4 of 4: not [+100, +100].
    four = paired_difference([False] * 4, [True] * 4)
    assert four.estimate == 1.0 and four.high == 1.0 and four.low == pytest.approx(0.3072, abs=1e-4)


def test_paired_is_tighter_than_unpaired_for_correlated_outcomes() -> None:
    a = [i < 100 for i in range(200)]
    b = [i < 110 for i in range(200)]
    paired = paired_difference(a, b)
    unpaired = unpaired_bootstrap_diff(a, b, seed=4)
    assert paired.estimate == pytest.approx(unpaired.estimate) == pytest.approx(0.05)
    assert paired.low > 0 > unpaired.low
    assert paired.high - paired.low < unpaired.high - unpaired.low


@pytest.mark.parametrize(
    "call",
    [
        lambda: paired_difference([], []),
        lambda: paired_difference([True], [True, False]),
        lambda: paired_difference([True], [True], level=1.0),
        lambda: newcombe_paired_interval(1, -1, 0, 0),
        lambda: unpaired_bootstrap_diff([True], [True], seed=0, resamples=0),
        lambda: unpaired_bootstrap_diff([], [True], seed=0),
        lambda: mcnemar([True], []),
    ],
)
def test_bad_input_raises(call: Callable[[], object]) -> None:
    with pytest.raises(ValueError):
        call()


@settings(max_examples=200, deadline=None)
@given(pairs)
def test_paired_interval_contains_estimate_is_bounded_and_never_a_point(
    ab: tuple[list[bool], list[bool]],
) -> None:
    a, b = ab
    diff = paired_difference(a, b)
    assert -1 <= diff.low <= diff.estimate <= diff.high <= 1
    assert diff.high - diff.low > 0.01
    assert diff.estimate == pytest.approx(sum(b) / len(b) - sum(a) / len(a))


def _correlated_table(n: int, p_a: float, p_b: float, rho: float) -> list[float]:
    """Probabilities of (both, a only, b only, neither) for two 0/1 outcomes with the given accuracies and
    correlation (clipped to what those accuracies allow)."""
    both = p_a * p_b + rho * math.sqrt(p_a * (1 - p_a) * p_b * (1 - p_b))
    both = min(max(both, max(0.0, p_a + p_b - 1)), min(p_a, p_b))
    return [both, p_a - both, p_b - both, 1 - p_a - p_b + both]


def test_paired_interval_coverage_is_close_to_95_percent_in_a_seeded_simulation() -> None:
    """Over a grid of item counts, accuracies and correlations, the 95% interval covers the true difference
    in 96.4% of draws on average (least 94.0%, at n = 200, accuracies 0.2 and 0.8, correlation 0.3),
    and is never a point (narrowest 3.9 points). (The paired percentile bootstrap it replaces collapsed
    to a point whenever no pair was discordant.)"""
    rng = np.random.default_rng(27)
    coverages = []
    for n in (20, 50, 200):
        for p_a, p_b in [
            (0.05, 0.05),
            (0.05, 0.2),
            (0.1, 0.4),
            (0.3, 0.3),
            (0.5, 0.6),
            (0.2, 0.8),
            (0.9, 0.95),
        ]:
            for rho in (0.0, 0.3, 0.6):
                table = _correlated_table(n, p_a, p_b, rho)
                counts = rng.multinomial(n, table, size=1000)
                truth = table[2] - table[1]
                inside, cache = 0, {}
                for row in map(tuple, counts):
                    if row not in cache:
                        cache[row] = newcombe_paired_interval(*(int(c) for c in row))
                    found = cache[row]
                    assert found.high - found.low > 0
                    inside += found.low <= truth <= found.high
                coverages.append(inside / len(counts))
    assert 0.93 <= sum(coverages) / len(coverages) <= 0.98
    assert min(coverages) >= 0.90


@settings(max_examples=50, deadline=None)
@given(pairs, seeds)
def test_same_seed_same_result(ab: tuple[list[bool], list[bool]], seed: int) -> None:
    a, b = ab
    assert unpaired_bootstrap_diff(a, b, seed, resamples=300) == unpaired_bootstrap_diff(
        a, b, seed, resamples=300
    )


# --- McNemar -------------------------------------------------------------------------------------------


def test_mcnemar_known_answer() -> None:
    # b01 = 10 (a wrong, b right), b10 = 2 (a right, b wrong), plus concordant items.
    a = [False] * 10 + [True] * 2 + [True] * 30 + [False] * 8
    b = [True] * 10 + [False] * 2 + [True] * 30 + [False] * 8
    result = mcnemar(a, b)
    assert (result.a_only, result.b_only) == (2, 10)
    expected = 2 * sum(math.comb(12, i) for i in range(3)) / 2**12
    assert result.p_value == pytest.approx(expected, rel=1e-12)
    assert result.p_value == pytest.approx(0.0386, abs=5e-5)


def test_mcnemar_edge_cases() -> None:
    assert mcnemar([], []).p_value == 1.0
    assert mcnemar([True, False], [True, False]).p_value == 1.0  # no discordant items
    assert mcnemar([True] * 5, [False] * 5).p_value == 2 / 32  # 5 vs 0
    assert mcnemar([True, False], [False, True]).p_value == 1.0  # 1 vs 1: capped at 1


def minlike_p(k: int, n: int) -> float:
    """Two-sided exact binomial p (n, 1/2): total probability of outcomes no likelier than k."""
    probability = [math.comb(n, i) / 2**n for i in range(n + 1)]
    return min(1.0, sum(p for p in probability if p <= probability[k] * (1 + 1e-12)))


@settings(max_examples=150, deadline=None)
@given(pairs)
def test_mcnemar_p_in_range_symmetric_and_exact(ab: tuple[list[bool], list[bool]]) -> None:
    a, b = ab
    forward, backward = mcnemar(a, b), mcnemar(b, a)
    assert 0 <= forward.p_value <= 1
    assert forward.p_value == backward.p_value
    assert (forward.a_only, forward.b_only) == (backward.b_only, backward.a_only)
    n = forward.a_only + forward.b_only
    if n:
        assert forward.p_value == pytest.approx(minlike_p(forward.a_only, n), rel=1e-9)


# --- neighbour differences ------------------------------------------------------------------------------


def test_size_point_validates() -> None:
    with pytest.raises(ValueError):
        SizePoint(1e9, [True], ["a", "b"])
    with pytest.raises(ValueError):
        SizePoint(1e9, [], [])
    with pytest.raises(ValueError):
        SizePoint(1e9, [True, False], ["a", "a"])
    assert SizePoint(1e9, [True, False], ["a", "b"]).accuracy == 0.5


def test_neighbour_differences_sorted_paired_on_shared_ids() -> None:
    points = [point(1e10, 0.9), point(1e8, 0.5), point(1e9, 0.5)]  # out of order
    steps = neighbour_differences(points, seed=5)
    assert [(s.from_size, s.to_size) for s in steps] == [(1e8, 1e9), (1e9, 1e10)]
    assert all(s.paired for s in steps)
    # The same outcomes at both sizes: no change, and an interval around it (not the point [0, 0]).
    assert steps[0].diff.estimate == 0.0 and -0.05 < steps[0].diff.low < 0 < steps[0].diff.high < 0.05
    assert steps[1].diff.estimate == pytest.approx(0.4) and steps[1].diff.low > 0
    assert neighbour_differences(points, seed=5) == steps


def test_neighbour_differences_partial_and_no_overlap() -> None:
    small = SizePoint(1e8, [True, False, True, False], ["a", "b", "c", "d"])
    # Shares "c" and "d" only: paired on those two (c: T->T, d: F->T).
    overlap = SizePoint(1e9, [True, True, False], ["c", "d", "e"])
    step = compare_sizes(small, overlap, seed=1)
    assert step.paired and step.diff.estimate == pytest.approx(0.5)
    disjoint = SizePoint(1e9, [True, True, True, False], ["w", "x", "y", "z"])
    (only,) = neighbour_differences([small, disjoint], seed=1)
    assert not only.paired and only.diff.estimate == pytest.approx(0.25)


def test_duplicate_sizes_rejected() -> None:
    with pytest.raises(ValueError):
        neighbour_differences([point(1e9, 0.5), point(1e9, 0.6)], seed=0)


# --- shape verdicts -------------------------------------------------------------------------------------


def test_emergent_step_curve() -> None:
    verdict = shape_verdict(curve([0.5, 0.5, 0.5, 0.9, 0.95]), chance=0.5, seed=11)
    assert verdict.shape == "emergent", verdict.reason
    assert verdict.threshold == SIZES[3]
    assert verdict.minimum is None


def test_emergent_exact_match_near_zero() -> None:
    """Chance 0: 1 right in 200 still counts as at chance."""
    verdict = shape_verdict(curve([0.0, 0.0, 0.005, 0.4, 0.7]), chance=0.0, seed=2)
    assert verdict.shape == "emergent", verdict.reason
    assert verdict.threshold == SIZES[3]


def test_u_shaped_v_curve() -> None:
    verdict = shape_verdict(curve([0.8, 0.5, 0.2, 0.5, 0.85]), chance=0.5, seed=3)
    assert verdict.shape == "U-shaped", verdict.reason
    assert verdict.minimum == SIZES[2]
    assert verdict.threshold is None


def test_flat_at_chance() -> None:
    verdict = shape_verdict(curve([0.5] * 5), chance=0.5, seed=4)
    assert verdict.shape == "flat", verdict.reason


def test_flat_at_chance_with_different_patterns() -> None:
    """Exactly half right at every size, but different items right: wide paired steps, still flat."""
    ids = [f"q{i}" for i in range(200)]
    points = [
        SizePoint(s, [(i // block) % 2 == 0 for i in range(200)], ids)
        for block, s in zip([1, 2, 4, 5, 10], SIZES, strict=True)
    ]
    assert all(p.accuracy == 0.5 for p in points)
    verdict = shape_verdict(points, chance=0.5, seed=4)
    assert verdict.shape == "flat", verdict.reason


def test_few_items_at_chance_is_flat_and_says_what_it_could_not_see() -> None:
    """20 items a size around one half: every size consistent with chance and no significant step, so flat
    (it was inconclusive while "at chance" asked for a narrow interval), with the power note: only a rise
    of +30 points (to 80%) is called above chance four times in five at 20 items."""
    verdict = shape_verdict(curve([0.5, 0.55, 0.45, 0.55], n=20), chance=0.5, seed=5)
    assert verdict.shape == "flat", verdict.reason
    assert verdict.detectable == pytest.approx(0.2987, abs=1e-4)
    assert "only a rise of +30 points over chance (accuracy 80%)" in verdict.reason


def test_no_change_off_chance_is_inconclusive_with_its_power_note() -> None:
    verdict = shape_verdict(curve([0.75, 0.8, 0.75], n=40), chance=0.5, seed=5)
    assert verdict.shape == "inconclusive", verdict.reason
    assert "no significant change" in verdict.reason and "not every size is at chance" in verdict.reason
    assert verdict.detectable is not None and "power:" in verdict.reason


def test_inverse() -> None:
    verdict = shape_verdict(curve([0.9, 0.75, 0.6, 0.45, 0.3]), chance=0.25, seed=6)
    assert verdict.shape == "inverse", verdict.reason


def test_monotone_up() -> None:
    verdict = shape_verdict(curve([0.3, 0.45, 0.6, 0.75, 0.9]), chance=0.25, seed=7)
    assert verdict.shape == "monotone up", verdict.reason


def test_inverted_u_is_inconclusive() -> None:
    verdict = shape_verdict(curve([0.3, 0.6, 0.9, 0.6, 0.3]), chance=0.25, seed=8)
    assert verdict.shape == "inconclusive", verdict.reason
    assert "rises and falls" in verdict.reason


def test_flat_above_chance_is_inconclusive() -> None:
    verdict = shape_verdict(curve([0.8, 0.8, 0.8]), chance=0.25, seed=9)
    assert verdict.shape == "inconclusive", verdict.reason


def test_few_sizes() -> None:
    assert shape_verdict(curve([0.5]), chance=0.5, seed=0).shape == "inconclusive"
    assert shape_verdict(curve([0.5, 0.5]), chance=0.5, seed=0).shape == "inconclusive"
    assert shape_verdict(curve([0.5, 0.9]), chance=0.5, seed=0).shape == "monotone up"
    assert shape_verdict(curve([0.9, 0.5]), chance=0.5, seed=0).shape == "inverse"
    with pytest.raises(ValueError):
        shape_verdict([], chance=0.5, seed=0)


def test_verdict_independent_of_input_order_and_deterministic() -> None:
    points = curve([0.8, 0.5, 0.2, 0.5, 0.85])
    assert shape_verdict(points, 0.5, seed=1) == shape_verdict(points[::-1], 0.5, seed=1)


@settings(max_examples=25, deadline=None)
@given(
    st.lists(st.integers(min_value=0, max_value=40), min_size=1, max_size=5),
    st.sampled_from([0.0, 0.25, 0.5]),
    seeds,
)
def test_verdict_same_seed_same_result(corrects: list[int], chance: float, seed: int) -> None:
    points = [point(s, k / 40, n=40) for s, k in zip(SIZES, corrects, strict=False)]
    first = shape_verdict(points, chance, seed, resamples=300)
    assert first == shape_verdict(points, chance, seed, resamples=300)
    assert (first.threshold is not None) == (first.shape == "emergent")
    assert (first.minimum is not None) == (first.shape == "U-shaped")


# --- calibration ----------------------------------------------------------------------------------------


def test_class_probabilities() -> None:
    probs = class_probabilities([math.log(0.2), math.log(0.3), math.log(0.5)])
    assert probs == pytest.approx([0.2, 0.3, 0.5])
    assert class_probabilities([1000.0, 1000.0]) == pytest.approx([0.5, 0.5])  # no overflow
    assert class_probabilities([-2000.0, -2000.0 + math.log(3)]) == pytest.approx([0.25, 0.75])
    assert class_probabilities([0.0, -math.inf]) == [1.0, 0.0]
    for bad in ([], [math.nan], [-math.inf, -math.inf], [math.inf]):
        with pytest.raises(ValueError):
            class_probabilities(bad)


def test_calibration_perfect() -> None:
    probabilities = [0.8] * 10 + [0.35] * 20 + [1.0] * 4
    correct = [i < 8 for i in range(10)] + [i < 7 for i in range(20)] + [True] * 4
    result = calibration(probabilities, correct)
    assert result.ece == pytest.approx(0.0, abs=1e-12)
    assert result.n == 34


def test_calibration_confident_and_wrong() -> None:
    result = calibration([1.0] * 7, [False] * 7)
    assert result.brier == 1.0
    assert result.ece == 1.0


def test_calibration_hand_computed() -> None:
    result = calibration([0.9, 0.6, 0.3, 0.95], [True, False, False, True])
    # Brier: (0.01 + 0.36 + 0.09 + 0.0025) / 4.
    assert result.brier == pytest.approx(0.115625)
    # Bins [0.9, 1]: 2 items, |1 - 0.925|; [0.6, 0.7): |0 - 0.6|; [0.3, 0.4): |0 - 0.3|.
    assert result.ece == pytest.approx(2 / 4 * 0.075 + 1 / 4 * 0.6 + 1 / 4 * 0.3)
    # One bin: |mean(y) - mean(p)| = |0.5 - 0.6875|.
    assert calibration([0.9, 0.6, 0.3, 0.95], [True, False, False, True], bins=1).ece == pytest.approx(0.1875)
    # The reliability diagram: the same non-empty bins, lowest first.
    assert [(b.lower, b.count, b.accuracy) for b in result.bins] == [
        (pytest.approx(0.3), 1, 0.0), (pytest.approx(0.6), 1, 0.0), (pytest.approx(0.9), 2, 1.0),
    ]  # fmt: skip
    assert [b.confidence for b in result.bins] == [
        pytest.approx(0.3),
        pytest.approx(0.6),
        pytest.approx(0.925),
    ]
    assert result.ece == pytest.approx(sum(b.count / 4 * abs(b.accuracy - b.confidence) for b in result.bins))


def test_calibration_bad_input() -> None:
    for probabilities, correct, bins in (
        ([], [], 10),
        ([0.5], [], 10),
        ([1.5], [True], 10),
        ([0.5], [True], 0),
    ):
        with pytest.raises(ValueError):
            calibration(probabilities, correct, bins)


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.tuples(st.floats(min_value=0, max_value=1), st.booleans()), min_size=1, max_size=50),
    st.integers(min_value=1, max_value=20),
)
def test_calibration_bounded(items: list[tuple[float, bool]], bins: int) -> None:
    result = calibration([p for p, _ in items], [c for _, c in items], bins)
    assert 0 <= result.brier <= 1
    assert 0 <= result.ece <= 1 + 1e-12


# --- smoothness note ------------------------------------------------------------------------------------


def jump_steps() -> list[Step]:
    return [
        Step(1e8, 1e9, Interval(0.02, -0.03, 0.07), paired=True),
        Step(1e9, 1e10, Interval(0.40, 0.32, 0.48), paired=True),
        Step(1e10, 1e11, Interval(0.03, -0.02, 0.08), paired=True),
    ]


def test_smoothness_note_artifact() -> None:
    metric = [(1e8, 0.31), (1e9, 0.45), (1e10, 0.62), (1e11, 0.80)]
    note = compare_metric(jump_steps(), metric, metric_name="digit accuracy").text
    assert note == (
        "accuracy jumps between 1B and 10B (+40 points) while digit accuracy rises steadily "
        "(0.31 → 0.45 → 0.62 → 0.80): the jump may be a metric artifact (Schaeffer et al. 2023)"
    )


def test_smoothness_note_real_jump() -> None:
    metric = [(1e8, 0.30), (1e9, 0.32), (1e10, 0.75), (1e11, 0.78)]
    note = compare_metric(jump_steps(), metric, metric_name="digit accuracy").text
    assert "rises with it (0.30 → 0.32 → 0.75 → 0.78): consistent with a real jump" in note


def test_smoothness_note_from_real_steps() -> None:
    steps = neighbour_differences(curve([0.5, 0.5, 0.5, 0.9, 0.95]), seed=3)
    metric = [(s, 0.2 * (i + 1)) for i, s in enumerate(SIZES)]
    assert "metric artifact" in compare_metric(steps, metric).text


def test_smoothness_note_nothing_to_compare() -> None:
    gradual = neighbour_differences(curve([0.3, 0.45, 0.6, 0.75, 0.9]), seed=3)
    assert "nothing to compare" in compare_metric(gradual, [(1e8, 0.1), (1e12, 0.9)]).text
    assert not compare_metric(gradual, [(1e8, 0.1), (1e12, 0.9)]).compared  # the report leaves it out
    assert "not measured" in compare_metric(jump_steps(), [(1e8, 0.1), (1e11, 0.9)]).text


def test_format_size() -> None:
    assert [format_size(s) for s in (1e8, 1.3e9, 1e12, 125e6, 7.0)] == ["100M", "1.3B", "1T", "125M", "7"]
