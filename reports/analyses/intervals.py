"""Intervals and tests as pure functions: the Wilson interval of an accuracy, Newcombe's score interval of
a paired difference with McNemar's exact test beside it, and a seeded bootstrap of an unpaired one.

Everything here is a pure function of its arguments: no I/O, and every random draw comes from
`np.random.default_rng(seed)` (or from a seed derived from it with `stable_seed`), so the same inputs and
seed give the same result on every machine.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np

BOOTSTRAP_RESAMPLES = 4000


def stable_seed(*parts: object) -> int:
    """A 63-bit seed from the given parts, the same on every machine and every Python run."""
    digest = hashlib.sha256("\x1f".join(map(str, parts)).encode()).digest()
    return int.from_bytes(digest[:8], "big") >> 1


def wilson_interval(correct: int, n: int, level: float = 0.95) -> tuple[float, float]:
    """Wilson score interval of a binomial proportion: `correct` successes in `n` trials.

    Closed form (Wilson 1927): centre (k + z²/2) / (n + z²), half-width z·sqrt(k(n−k)/n + z²/4) / (n + z²),
    with z the standard normal quantile for `level`. Unlike a percentile bootstrap of 0/1 outcomes (or the
    Wald interval), it never collapses to a point at 0 or n correct: 0 of 20 gives [0, 0.161] at 95%.
    Its coverage is close to the nominal level on average over p even for small n (Brown, Cai and
    DasGupta 2001), where Clopper-Pearson's exact interval is conservative (0/20: [0, 0.168]).
    """
    if n < 1:
        raise ValueError("no outcomes: an interval needs at least one trial")
    if not 0 <= correct <= n:
        raise ValueError(f"{correct} correct out of {n} is not a count of successes")
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level}")
    z = float(NormalDist().inv_cdf((1 + level) / 2))
    p = correct / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    # The exact ends at 0 and n correct (rounding would otherwise leave 1e-17 instead of 0).
    low = 0.0 if correct == 0 else max(0.0, centre - half)
    high = 1.0 if correct == n else min(1.0, centre + half)
    return (low, high)


def accuracy_interval(correct: Sequence[bool], level: float = 0.95) -> tuple[float, float]:
    """The Wilson interval (`wilson_interval`) of the accuracy of 0/1 outcomes."""
    return wilson_interval(sum(bool(c) for c in correct), len(correct), level)


@dataclass(frozen=True)
class Interval:
    """A point estimate with an interval (a score interval, or a percentile bootstrap interval)."""

    estimate: float
    low: float
    high: float


@dataclass(frozen=True)
class McNemar:
    """McNemar's test on paired 0/1 outcomes: the discordant counts and the exact two-sided p-value."""

    a_only: int  # items a got right and b got wrong (b10)
    b_only: int  # items b got right and a got wrong (b01)
    p_value: float


def _check_level(level: float, resamples: int) -> None:
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level}")
    if resamples < 1:
        raise ValueError(f"resamples must be at least 1, got {resamples}")


def _percentile_interval(estimate: float, draws: np.ndarray, level: float) -> Interval:
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(draws, [tail, 100 - tail])
    return Interval(estimate=float(estimate), low=float(low), high=float(high))


def newcombe_paired_interval(
    both: int, a_only: int, b_only: int, neither: int, level: float = 0.95
) -> Interval:
    """p_b - p_a for paired 0/1 outcomes given as the four counts of their 2x2 table, with Newcombe's
    square-and-add score interval.

    `both`: items both got right; `a_only`: a right, b wrong; `b_only`: a wrong, b right; `neither`.
    Method 10 of Newcombe 1998, "Improved confidence intervals for the difference between binomial
    proportions based on paired data", Statistics in Medicine 17:2635-2650, in the form of Fagerland,
    Lydersen and Laake 2014 ("Recommended tests and confidence intervals for paired binomial proportions",
    Statistics in Medicine 33:2850): with p_a, p_b the two accuracies, (l_a, u_a) and (l_b, u_b) their
    Wilson intervals (`wilson_interval`) and psi the correlation of the table,

        low  = d - sqrt((p_b - l_b)^2 - 2 psi (p_b - l_b)(u_a - p_a) + (u_a - p_a)^2)
        high = d + sqrt((u_b - p_b)^2 - 2 psi (u_b - p_b)(p_a - l_a) + (p_a - l_a)^2),   d = p_b - p_a,

    psi = (A - n/2) / sqrt(product of the four margins) when A = both * neither - a_only * b_only > n/2,
    0 when 0 <= A <= n/2, A / sqrt(...) when A < 0, and 0 when a margin is empty. Closed form, no
    resampling. Unlike a percentile bootstrap of the pair differences it never collapses to a point:
    with no discordant pair (0 of 20 against 0 of 20) it gives [-16.1, +16.1] points, because each
    accuracy keeps its Wilson width and psi < 1 (the n/2 shrinkage). Coverage, in a seeded simulation
    (tests/unit/reports/test_stats.py): 96.4% on average for 95% intervals, never below 94% on its grid.
    """
    counts = (both, a_only, b_only, neither)
    if min(counts) < 0:
        raise ValueError(f"counts must not be negative, got {counts}")
    n = sum(counts)
    if n == 0:
        raise ValueError("no pairs: an interval needs at least one item")
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level}")
    right_a, right_b = both + a_only, both + b_only
    p_a, p_b = right_a / n, right_b / n
    low_a, high_a = wilson_interval(right_a, n, level)
    low_b, high_b = wilson_interval(right_b, n, level)
    margins = right_a * (n - right_a) * right_b * (n - right_b)
    cross = both * neither - a_only * b_only
    shrunk = cross - n / 2 if cross > n / 2 else min(cross, 0)
    psi = shrunk / math.sqrt(margins) if margins else 0.0
    d = p_b - p_a
    below = math.sqrt(
        max(0.0, (p_b - low_b) ** 2 - 2 * psi * (p_b - low_b) * (high_a - p_a) + (high_a - p_a) ** 2)
    )
    above = math.sqrt(
        max(0.0, (high_b - p_b) ** 2 - 2 * psi * (high_b - p_b) * (p_a - low_a) + (p_a - low_a) ** 2)
    )
    return Interval(estimate=d, low=max(-1.0, d - below), high=min(1.0, d + above))


def paired_difference(a: Sequence[bool], b: Sequence[bool], level: float = 0.95) -> Interval:
    """mean(b) - mean(a) on the same items (a[i] and b[i] are one item), with Newcombe's paired score
    interval (`newcombe_paired_interval`)."""
    if len(a) != len(b):
        raise ValueError(f"paired outcomes differ in length: {len(a)} and {len(b)}")
    if not a:
        raise ValueError("no paired outcomes")
    pairs = [(bool(x), bool(y)) for x, y in zip(a, b, strict=True)]
    return newcombe_paired_interval(
        both=pairs.count((True, True)),
        a_only=pairs.count((True, False)),
        b_only=pairs.count((False, True)),
        neither=pairs.count((False, False)),
        level=level,
    )


def unpaired_bootstrap_diff(
    a: Sequence[bool],
    b: Sequence[bool],
    seed: int,
    level: float = 0.95,
    resamples: int = BOOTSTRAP_RESAMPLES,
) -> Interval:
    """mean(b) - mean(a) for independent samples, with a percentile bootstrap interval.

    Method: resample each sample's items with replacement, independently (the number correct in a
    resample of n items is Binomial(n, k/n), drawn directly), and take the percentiles of the
    differences of the resampled means.
    """
    if not a or not b:
        raise ValueError("no outcomes to resample")
    _check_level(level, resamples)
    pa = sum(bool(x) for x in a) / len(a)
    pb = sum(bool(x) for x in b) / len(b)
    rng = np.random.default_rng(seed)
    means_a = rng.binomial(len(a), pa, size=resamples) / len(a)
    means_b = rng.binomial(len(b), pb, size=resamples) / len(b)
    return _percentile_interval(pb - pa, means_b - means_a, level)


def mcnemar(a: Sequence[bool], b: Sequence[bool]) -> McNemar:
    """Exact McNemar test of paired 0/1 outcomes a[i], b[i].

    Only discordant items count: b01 (a wrong, b right) and b10 (a right, b wrong). Under the null
    hypothesis each discordant item is equally likely to go either way, so min(b01, b10) is
    Binomial(n = b01 + b10, 1/2) and the two-sided p-value is 2 * P(X <= min(b01, b10)), computed
    exactly with `math.comb` and capped at 1. With no discordant items p = 1.
    """
    if len(a) != len(b):
        raise ValueError(f"paired outcomes differ in length: {len(a)} and {len(b)}")
    b10 = sum(1 for x, y in zip(a, b, strict=True) if x and not y)
    b01 = sum(1 for x, y in zip(a, b, strict=True) if y and not x)
    n = b01 + b10
    if n == 0:
        return McNemar(a_only=0, b_only=0, p_value=1.0)
    tail = sum(math.comb(n, i) for i in range(min(b01, b10) + 1))
    p = min(1.0, 2 * tail / 2**n)  # exact integer arithmetic, one correctly rounded division
    return McNemar(a_only=b10, b_only=b01, p_value=p)
