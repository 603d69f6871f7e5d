"""The shape verdict of a scaling curve, as pure functions (the intervals it reads are in
`reports.analyses.intervals`).

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

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy.stats import beta

from benchmark.sizes import format_size
from reports.analyses.intervals import (
    BOOTSTRAP_RESAMPLES,
    Interval,
    accuracy_interval,
    paired_difference,
    stable_seed,
    unpaired_bootstrap_diff,
    wilson_interval,
)

Shape = Literal["flat", "emergent", "monotone up", "inverse", "U-shaped", "inconclusive"]


# A point whose accuracy interval lies wholly within this many accuracy units above chance counts as at
# chance even when the interval excludes chance (exact-match tasks with chance 0, where 1 correct in 200
# already excludes 0).
AT_CHANCE_MARGIN = 0.05


# The power note (`detectable_accuracy`): the accuracy a size needs to be called above chance this often.
DETECTION_POWER = 0.8


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
