"""Statistics as pure functions: intervals for accuracy (Wilson), paired differences (Newcombe's score
interval, McNemar) and unpaired ones (bootstrap), calibration, and the shape verdict of a scaling curve.
Over 400 lines: the rules are written here once, every function is small and pure, and they are read
together.

Shape verdict (`shape_verdict`): a curve of accuracy against size is classified from each point's
Wilson interval and the intervals of the differences between sizes (paired score intervals on shared
items, else unpaired bootstrap).

Ingredients, all at `level`:

- each point's accuracy interval (`accuracy_interval`, Wilson). A point is *at chance* if its interval
  is consistent with chance -- it contains `chance` or lies wholly within [chance, chance +
  AT_CHANCE_MARGIN] (so 1/200 correct on an exact-match task with chance 0 is still at chance),
  however wide it is. Otherwise the point is *above* (low end > chance) or *below* chance. The test
  does not ask for precision, so a chance-level model reads "at chance" at 20 items as at 2,000 (0 of
  20 and 0 of 30 alike); what few items cannot do is tell a small rise from chance, and the verdicts
  that rest on "at chance" say how small (the power note below);
- the power note (`detectable_accuracy`, on flat, emergent, and inconclusive-without-change verdicts,
  field `detectable`): at the smallest item count n of the curve, the rise above chance at which a
  size is called above chance with probability DETECTION_POWER (0.8), exact from the binomial (20
  items at chance 0.5: +30 points; at chance 0: +8);
- the neighbour steps (`neighbour_differences`) and the first-to-last difference (`compare_sizes`);
  a difference is *up* if its interval's low end is > 0, *down* if its high end is < 0 (significant),
  else *none*.

Rules, first match wins (points sorted by size; "rise" = the first-to-last difference or some step
is up; "fall" = it or some step is down):

1. one size: inconclusive. Two sizes: monotone up / inverse if the one step is up / down, else
   inconclusive (too few sizes to tell flat, emergent or U-shaped).
2. U-shaped: the lowest point (lowest accuracy, first if tied) is interior, and both the difference
   from the highest earlier point to it is down and the difference from it to the highest later
   point is up. `minimum` = its size.
3. emergent: for some k >= 2, points 0..k-1 are all at chance (a flat stretch of at least two
   sizes), points k.. are all above chance, the step k-1 -> k is up, and no step is down.
   `threshold` = the size of point k, the first above chance.
4. monotone up: a rise and no step down.
5. inverse: a fall and no step up.
6. flat: no step up or down, first-to-last none, and every point at chance. With few items a curve
   slightly above chance passes too: "flat" means no size differs detectably from chance, and its
   power note says what was detectable (a flat curve at 20 items says rises under +30 points at chance
   0.5 could go unseen), rather than the verdict switching with the item count.
7. otherwise inconclusive: rises and falls without a U (e.g. an inverted U), or no significant change
   but some point off chance (a flat curve above or below chance).

No correction is made for the several comparisons; with few sizes and the stated rules (which
need an interval to exclude 0) a noisy curve comes out inconclusive or flat rather than rising or
falling.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from statistics import NormalDist
from typing import Literal, NamedTuple

import numpy as np
from scipy.stats import beta

from benchmark.sizes import format_size

BOOTSTRAP_RESAMPLES = 4000

Shape = Literal["flat", "emergent", "monotone up", "inverse", "U-shaped", "inconclusive"]


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


# --------------------------------------------------------------------------------------------------
# Paired comparisons, scaling-curve shapes, calibration.
#
# Everything below is a pure function of its arguments: no I/O, and every random draw comes from
# `np.random.default_rng(seed)` (or from a seed derived from it with `stable_seed`), so the same inputs
# and seed give the same result on every machine.
# --------------------------------------------------------------------------------------------------


# A point whose accuracy interval lies wholly within this many accuracy units above chance counts as at
# chance even when the interval excludes chance (exact-match tasks with chance 0, where 1 correct in 200
# already excludes 0).
AT_CHANCE_MARGIN = 0.05
# The power note (`detectable_accuracy`): the accuracy a size needs to be called above chance this often.
DETECTION_POWER = 0.8


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


@dataclass(frozen=True)
class SizePoint:
    """One model's per-item outcomes on one task and prompting; `size` is its parameter count (or rank).

    `outcomes[i]` is the outcome on item `item_ids[i]`; ids must be unique within a point.
    """

    size: float
    outcomes: Sequence[bool]
    item_ids: Sequence[str]

    def __post_init__(self) -> None:
        outcomes = tuple(bool(o) for o in self.outcomes)
        item_ids = tuple(str(i) for i in self.item_ids)
        if len(outcomes) != len(item_ids):
            raise ValueError(f"size {self.size}: {len(outcomes)} outcomes but {len(item_ids)} item ids")
        if not outcomes:
            raise ValueError(f"size {self.size}: no outcomes")
        if len(set(item_ids)) != len(item_ids):
            raise ValueError(f"size {self.size}: duplicate item ids")
        object.__setattr__(self, "outcomes", outcomes)
        object.__setattr__(self, "item_ids", item_ids)

    @property
    def accuracy(self) -> float:
        return sum(self.outcomes) / len(self.outcomes)


@dataclass(frozen=True)
class Step:
    """The difference in accuracy (later minus earlier) between two sizes, and whether it was paired."""

    from_size: float
    to_size: float
    diff: Interval
    paired: bool


@dataclass(frozen=True)
class Verdict:
    """The shape of a scaling curve, the size where it turns (if any), and why."""

    shape: Shape
    threshold: float | None  # emergent: the size of the first point above chance
    minimum: float | None  # U-shaped: the size of the lowest point
    reason: str
    detectable: float | None = None
    """Power note, on verdicts that say sizes do not differ from chance (flat, emergent's flat stretch,
    no significant change): the rise above chance a size of the run's smallest item count is called
    above chance with DETECTION_POWER (`detectable_accuracy`); None elsewhere, or when none is."""


@dataclass(frozen=True)
class ReliabilityBin:
    """One bin of a reliability diagram: predictions whose probability lies in [lower, upper)."""

    lower: float
    upper: float
    count: int
    confidence: float
    """Mean probability the model gave its predictions in the bin."""
    accuracy: float
    """Share of those predictions that were right."""


@dataclass(frozen=True)
class Calibration:
    """Brier score and expected calibration error of the predicted class's probability, and the
    non-empty bins behind the ECE (a reliability diagram)."""

    brier: float
    ece: float
    n: int
    bins: tuple[ReliabilityBin, ...] = ()


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
    (tests/test_stats.py): 96.4% on average for 95% intervals, never below 94% on its grid.
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


def compare_sizes(
    earlier: SizePoint,
    later: SizePoint,
    seed: int,
    level: float = 0.95,
    resamples: int = BOOTSTRAP_RESAMPLES,
) -> Step:
    """Accuracy of `later` minus accuracy of `earlier`, with an interval.

    Paired (`paired_difference`, Newcombe's score interval) on the item ids both points share, in sorted
    id order, when they share any (items only one point has are left out, so the estimate is the
    difference on the shared items); otherwise unpaired (`unpaired_bootstrap_diff`, seeded) on all
    items of each.
    """
    a = dict(zip(earlier.item_ids, earlier.outcomes, strict=True))
    b = dict(zip(later.item_ids, later.outcomes, strict=True))
    shared = sorted(a.keys() & b.keys())
    if shared:
        diff = paired_difference([a[i] for i in shared], [b[i] for i in shared], level=level)
    else:
        diff = unpaired_bootstrap_diff(
            earlier.outcomes, later.outcomes, seed, level=level, resamples=resamples
        )
    return Step(from_size=earlier.size, to_size=later.size, diff=diff, paired=bool(shared))


def _pair_seed(seed: int, earlier: SizePoint, later: SizePoint) -> int:
    return stable_seed(seed, "difference", repr(float(earlier.size)), repr(float(later.size)))


def _sorted_points(points: Sequence[SizePoint]) -> list[SizePoint]:
    ordered = sorted(points, key=lambda p: p.size)
    for p, q in zip(ordered, ordered[1:], strict=False):
        if p.size == q.size:
            raise ValueError(f"two points with size {p.size}")
    return ordered


def neighbour_differences(
    points: Sequence[SizePoint],
    seed: int,
    level: float = 0.95,
    resamples: int = BOOTSTRAP_RESAMPLES,
) -> list[Step]:
    """The accuracy difference between each pair of neighbouring sizes, smallest size first.

    Points are sorted by size (two points of one size are an error); each neighbouring pair is compared
    with `compare_sizes` (paired on shared item ids, else unpaired), with a seed derived from `seed`
    and the two sizes, so a pair's interval does not depend on which other sizes are present.
    """
    ordered = _sorted_points(points)
    return [
        compare_sizes(p, q, _pair_seed(seed, p, q), level=level, resamples=resamples)
        for p, q in zip(ordered, ordered[1:], strict=False)
    ]


def _direction(interval: Interval) -> Literal["up", "down", "none"]:
    if interval.low > 0:
        return "up"
    if interval.high < 0:
        return "down"
    return "none"


def _position(low: float, high: float, chance: float) -> Literal["at", "above", "below"]:
    """At chance when the interval is consistent with chance (see the opening comment), whatever its
    width; else above or below it."""
    if low <= chance <= high or (chance <= low and high <= chance + AT_CHANCE_MARGIN):
        return "at"
    return "above" if low > chance else "below"


def detectable_accuracy(
    n: int, chance: float, level: float = 0.95, power: float = DETECTION_POWER
) -> float | None:
    """The smallest true accuracy at which a size of `n` items is called above chance (its Wilson interval
    at `level` placed "above" by the at-chance rule) with probability `power`; None when no count is.

    Exact, from the binomial: the counts called above chance are k >= k0 (both ends of the Wilson
    interval rise with k, so they form an upper range, found by bisection), and P(Binomial(n, p) >= k0) is
    the regularized incomplete beta function I_p(k0, n - k0 + 1), which rises with p, so the answer is
    its `power` quantile, scipy.stats.beta.ppf(power, k0, n - k0 + 1). 20 items at chance 0.5 give 0.80
    (+30 points): a smaller rise is missed more than one time in five.
    """
    if n < 1:
        raise ValueError("no items: power needs at least one")
    if not 0 < power < 1:
        raise ValueError(f"power must be in (0, 1), got {power}")

    def above(k: int) -> bool:
        return _position(*wilson_interval(k, n, level), chance) == "above"

    if not above(n):
        return None
    low, high = 0, n  # above(high) holds; find the smallest such count
    while low < high:
        middle = (low + high) // 2
        low, high = (low, middle) if above(middle) else (middle + 1, high)
    return float(beta.ppf(power, high, n - high + 1))


def _power_note(points: Sequence[SizePoint], chance: float, level: float) -> tuple[float | None, str]:
    """The rise above chance that the smallest size's item count detects with DETECTION_POWER, and its
    sentence for a verdict that says no size differs from chance."""
    n = min(len(p.outcomes) for p in points)
    accuracy = detectable_accuracy(n, chance, level)
    if accuracy is None:
        return None, f"power: {n} items a size cannot show any accuracy above chance ({chance:g})"
    rise = accuracy - chance
    return rise, (
        f"power: at {n} items a size, only a rise of {rise * 100:+.0f} points over chance "
        f"(accuracy {accuracy:.0%}) is detected {DETECTION_POWER:.0%} of the time (exact binomial)"
    )


def _step_text(step: Step) -> str:
    return (
        f"{format_size(step.from_size)}→{format_size(step.to_size)} {step.diff.estimate * 100:+.0f} points "
        f"[{step.diff.low * 100:+.0f}, {step.diff.high * 100:+.0f}]"
    )


def shape_verdict(
    points: Sequence[SizePoint],
    chance: float,
    seed: int,
    level: float = 0.95,
    resamples: int = BOOTSTRAP_RESAMPLES,
) -> Verdict:
    """Classify a scaling curve (accuracy against size) by the rules in this module's opening comment,
    first match wins."""
    if not points:
        raise ValueError("no points")
    ordered = _sorted_points(points)
    if len(ordered) == 1:
        return Verdict("inconclusive", None, None, "only one size: a curve needs at least two")

    def diff(p: SizePoint, q: SizePoint) -> Step:
        return compare_sizes(p, q, _pair_seed(seed, p, q), level=level, resamples=resamples)

    steps = neighbour_differences(ordered, seed, level=level, resamples=resamples)
    directions = [_direction(s.diff) for s in steps]
    power = _power_note(ordered, chance, level)
    if len(ordered) == 2:
        return _two_sizes(steps[0], directions[0], power)
    positions = [_position(*accuracy_interval(p.outcomes, level), chance) for p in ordered]
    return (
        _u_shaped(ordered, diff)
        or _emergent(ordered, positions, steps, directions, chance, power)
        or _trend(diff(ordered[0], ordered[-1]), positions, steps, directions, chance, power)
    )


def _two_sizes(step: Step, direction: str, power: tuple[float | None, str]) -> Verdict:
    """Rule 1, two sizes: one significant step is a direction; anything else is too little to tell."""
    if direction == "up":
        return Verdict("monotone up", None, None, f"two sizes, significant rise: {_step_text(step)}")
    if direction == "down":
        return Verdict("inverse", None, None, f"two sizes, significant fall: {_step_text(step)}")
    text = f"two sizes, no significant difference: {_step_text(step)}; {power[1]}"
    return Verdict("inconclusive", None, None, text, power[0])


def _u_shaped(ordered: list[SizePoint], diff: Callable[[SizePoint, SizePoint], Step]) -> Verdict | None:
    """Rule 2: an interior lowest point, with a significant fall to it and a significant rise after."""
    accuracies = [p.accuracy for p in ordered]
    m = int(np.argmin(accuracies))
    if not 0 < m < len(ordered) - 1:
        return None
    before = max(range(m), key=lambda i: accuracies[i])
    after = max(range(m + 1, len(ordered)), key=lambda i: accuracies[i])
    fall, rise = diff(ordered[before], ordered[m]), diff(ordered[m], ordered[after])
    if _direction(fall.diff) != "down" or _direction(rise.diff) != "up":
        return None
    return Verdict(
        "U-shaped",
        None,
        ordered[m].size,
        f"significant fall to a minimum at {format_size(ordered[m].size)} "
        f"({_step_text(fall)}) and rise after it ({_step_text(rise)})",
    )


def _emergent(
    ordered: list[SizePoint],
    positions: Sequence[str],
    steps: list[Step],
    directions: Sequence[str],
    chance: float,
    power: tuple[float | None, str],
) -> Verdict | None:
    """Rule 3: at chance for at least two sizes, then above chance after a significant jump."""
    if "down" in directions:
        return None
    for k in range(2, len(ordered)):
        if (
            all(pos == "at" for pos in positions[:k])
            and all(pos == "above" for pos in positions[k:])
            and directions[k - 1] == "up"
        ):
            return Verdict(
                "emergent",
                ordered[k].size,
                None,
                f"at chance ({chance:g}) up to {format_size(ordered[k - 1].size)}, above chance from "
                f"{format_size(ordered[k].size)} on, significant jump {_step_text(steps[k - 1])}; {power[1]}",
                power[0],
            )
    return None


def _trend(
    overall: Step,
    positions: Sequence[str],
    steps: list[Step],
    directions: Sequence[str],
    chance: float,
    power: tuple[float | None, str],
) -> Verdict:
    """Rules 4 to 7: monotone up, inverse, flat, else inconclusive."""
    overall_direction = _direction(overall.diff)
    rises = overall_direction == "up" or "up" in directions
    falls = overall_direction == "down" or "down" in directions
    if rises and "down" not in directions:
        text = f"significant rise first to last ({_step_text(overall)}), no step down"
        return Verdict("monotone up", None, None, text)
    if falls and "up" not in directions:
        return Verdict(
            "inverse", None, None, f"significant fall first to last ({_step_text(overall)}), no step up"
        )
    if not rises and not falls:
        if all(pos == "at" for pos in positions):
            text = f"every size at chance ({chance:g}) and no significant change; {power[1]}"
            return Verdict("flat", None, None, text, power[0])
        return Verdict(
            "inconclusive",
            None,
            None,
            f"no significant change between sizes ({_step_text(overall)} first to last), "
            f"but not every size is at chance ({chance:g}); {power[1]}",
            power[0],
        )
    significant = "; ".join(_step_text(s) for s, d in zip(steps, directions, strict=True) if d != "none")
    return Verdict(
        "inconclusive",
        None,
        None,
        f"significant rises and falls without a U around the lowest point: {significant}",
    )


def class_probabilities(logprobs: Sequence[float]) -> list[float]:
    """Softmax of class log-probabilities (renormalised over the classes given), numerically stable.

    Subtracts the largest log-probability before exponentiating; -inf entries get probability 0.
    """
    values = np.asarray(logprobs, dtype=float)
    if values.size == 0:
        raise ValueError("no log-probabilities")
    if np.isnan(values).any() or np.isposinf(values).any():
        raise ValueError("log-probabilities must be finite or -inf")
    top = values.max()
    if np.isneginf(top):
        raise ValueError("every log-probability is -inf")
    weights = np.exp(values - top)
    return [float(w) for w in weights / weights.sum()]


def calibration(probabilities: Sequence[float], correct: Sequence[bool], bins: int = 10) -> Calibration:
    """Brier score and expected calibration error (ECE) of a model's confidence in its predictions.

    `probabilities[i]` is the probability the model gave to the class it predicted on item i (e.g. the
    largest of `class_probabilities`), `correct[i]` whether that prediction was right (y = 1 or 0).
    Brier = mean((p - y)^2). ECE = sum over bins of (n_b / n) * |mean(y) - mean(p)| in the bin, with
    `bins` equal-width bins over [0, 1] ([0, 1/B), [1/B, 2/B), ..., [(B-1)/B, 1]; empty bins count
    nothing), as in Kadavath et al. 2022, "Language Models (Mostly) Know What They Know". The
    non-empty bins (mean probability against accuracy) are the points of a reliability diagram.
    """
    if len(probabilities) != len(correct):
        raise ValueError(f"{len(probabilities)} probabilities but {len(correct)} outcomes")
    if not probabilities:
        raise ValueError("no predictions")
    if bins < 1:
        raise ValueError(f"bins must be at least 1, got {bins}")
    p = np.asarray(probabilities, dtype=float)
    if np.isnan(p).any() or (p < 0).any() or (p > 1).any():
        raise ValueError("probabilities must lie in [0, 1]")
    y = np.asarray([bool(c) for c in correct], dtype=float)
    n = len(p)
    brier = float(np.mean((p - y) ** 2))
    index = np.minimum((p * bins).astype(int), bins - 1)
    ece = 0.0
    diagram = []
    for b in range(bins):
        in_bin = index == b
        count = int(in_bin.sum())
        if count:
            accuracy, confidence = float(y[in_bin].mean()), float(p[in_bin].mean())
            ece += count / n * abs(accuracy - confidence)
            diagram.append(ReliabilityBin(b / bins, (b + 1) / bins, count, confidence, accuracy))
    return Calibration(brier=brier, ece=ece, n=n, bins=tuple(diagram))


class MetricComparison(NamedTuple):
    """`compare_metric`'s answer: one sentence, and whether it compares the measure with a jump of
    accuracy (False: there was nothing to compare, and the sentence says why)."""

    text: str
    compared: bool


def compare_metric(
    accuracy_steps: Sequence[Step],
    metric_points: Sequence[tuple[float, float]],
    metric_name: str = "the continuous measure",
) -> MetricComparison:
    """One sentence on whether a continuous measure rises smoothly where accuracy jumps (Schaeffer et al.
    2023, "Are Emergent Abilities of Large Language Models a Mirage?").

    Rule. A quantity *jumps* across an interval of sizes if that interval carries more than half of its
    total rise over the sizes measured. Accuracy jumps across its largest significant up-step (interval
    low > 0) if that step carries more than half the sum of all step estimates. The continuous measure
    (`metric_points`: (size, value) pairs) *rises steadily* if it increases at every neighbouring pair
    of its sizes and the jump's interval (its two sizes must both be measured) carries at most half of
    its first-to-last rise. Steady rise under an accuracy jump: the jump may be a metric artifact. If the
    measure itself jumps across the same interval (more than half its rise, or no overall rise): consistent
    with a real jump. Otherwise (not increasing everywhere, but no jump there): no sign of an artifact.
    Sizes are matched exactly.
    """
    ups = [s for s in accuracy_steps if s.diff.low > 0]
    total = sum(s.diff.estimate for s in accuracy_steps)
    jump = max(ups, key=lambda s: s.diff.estimate) if ups else None
    if jump is None or total <= 0 or jump.diff.estimate / total <= 0.5:
        return MetricComparison(
            "accuracy has no jump (no significant step carrying over half its rise): nothing to compare",
            False,
        )
    where = (
        f"accuracy jumps between {format_size(jump.from_size)} and {format_size(jump.to_size)} "
        f"({jump.diff.estimate * 100:+.0f} points)"
    )
    metric = sorted(metric_points)
    values = dict(metric)
    if jump.from_size not in values or jump.to_size not in values:
        return MetricComparison(
            f"{where}, but {metric_name} is not measured at both sizes: nothing to compare", False
        )
    trace = " → ".join(f"{v:.2f}" for _, v in metric)
    rise = metric[-1][1] - metric[0][1]
    increasing = all(v2 > v1 for (_, v1), (_, v2) in zip(metric, metric[1:], strict=False))
    share = (values[jump.to_size] - values[jump.from_size]) / rise if rise > 0 else 1.0
    if increasing and share <= 0.5:
        return MetricComparison(
            f"{where} while {metric_name} rises steadily ({trace}): "
            "the jump may be a metric artifact (Schaeffer et al. 2023)",
            True,
        )
    if share > 0.5:
        return MetricComparison(
            f"{where} and {metric_name} rises with it ({trace}): consistent with a real jump", True
        )
    return MetricComparison(
        f"{where} and {metric_name} does not rise steadily ({trace}): no sign of a metric artifact", True
    )
