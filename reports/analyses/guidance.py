"""Does guidance pay off only above a size? Paired gains per size and a verdict over sizes.

Guidance is chain of thought (against plain prompting: the same items, the same model, the same scoring
mode) or instruction tuning (an instruct model against the base model of the same family and size: the
same items, prompting and scoring). Pure functions, no random draws: each size's gain is a paired score
interval (`newcombe_paired_interval`) with McNemar's exact test.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

from benchmark.sizes import format_size
from reports.analyses.intervals import Interval, mcnemar, paired_difference

GuidanceKind = Literal["helps", "hurts", "hurts then helps", "never helps", "inconclusive"]

ALPHA = 0.05
"""A size's gain is significant when its 95% interval excludes 0 and McNemar's exact p is below this."""

GAIN_MARGIN = 0.05
"""'No size where it helps': at every size the gain's 95% interval lies below this (+5 points)."""


@dataclass(frozen=True)
class SizeGain:
    """Accuracy with guidance minus without, at one size, on the items both conditions answered."""

    size: float
    gain: Interval
    """Newcombe's paired score interval of the difference (`paired_difference`)."""
    p_value: float
    """Exact McNemar test of the paired outcomes."""
    n: int
    """Items in the pair."""

    @property
    def direction(self) -> Literal["up", "down", "none"]:
        """Significant both ways: the interval excludes 0 and McNemar's p < ALPHA. (4 of 4 items better
        gives [+31, +100] but p = 0.125: with so few items the two can disagree, and both must agree.)"""
        if self.p_value < ALPHA and self.gain.low > 0:
            return "up"
        if self.p_value < ALPHA and self.gain.high < 0:
            return "down"
        return "none"


@dataclass(frozen=True)
class GuidanceVerdict:
    """Where guidance helps or hurts along the size axis, and why."""

    kind: GuidanceKind
    helps_from: float | None
    """The smallest size from which every larger size measured gains significantly."""
    hurts_below: float | None
    """The first size above an unbroken run of significant losses that starts at the smallest size."""
    reason: str
    sizes: tuple[float, ...] = ()
    """The sizes the verdict speaks for (those with a gain), smallest first."""

    def text(self, label: Callable[[float], str] = format_size) -> str:
        """`helps from size 62B (3 sizes, 8B to 540B)`, `hurts below size 8B (...)`, `hurts below size 8B,
        helps from size 62B (...)`, `no size where it helps (...)`, `inconclusive: one size (268M)`,
        `inconclusive`: a claim over sizes names the sizes it speaks for."""
        helps = f"helps from size {label(self.helps_from)}" if self.helps_from is not None else ""
        hurts = f"hurts below size {label(self.hurts_below)}" if self.hurts_below is not None else ""
        claim = ", ".join(part for part in (hurts, helps) if part)
        if not claim and self.kind == "never helps":
            claim = "no size where it helps"
        if claim:
            return f"{claim} ({len(self.sizes)} sizes, {label(self.sizes[0])} to {label(self.sizes[-1])})"
        if len(self.sizes) == 1:
            return f"inconclusive: one size ({label(self.sizes[0])})"
        return "inconclusive"


def paired_gain(size: float, without: Sequence[bool], with_guidance: Sequence[bool]) -> SizeGain:
    """The gain at one size: `with_guidance[i]` and `without[i]` are the outcomes on the same item."""
    interval = paired_difference(without, with_guidance)
    return SizeGain(size, interval, mcnemar(without, with_guidance).p_value, len(without))


def guidance_verdict(
    gains: Sequence[SizeGain], label: Callable[[float], str] = format_size
) -> GuidanceVerdict:
    """A verdict from the gains at each size (any order; sizes must differ).

    A size *gains* (or *loses*) when its gain is significant (`SizeGain.direction`). Rules:

    - helps from size X: X is the smallest size from which every larger size measured gains;
    - hurts below size Y: the smallest sizes lose, without a break, and Y is the first size that does
      not (both can hold: "hurts below size 8B, helps from size 62B");
    - no size where it helps: neither, and at every size the interval lies below +GAIN_MARGIN (this
      includes losing at every size);
    - inconclusive: otherwise (intervals too wide to tell, or a gain that does not last to the
      largest size), and always with one size: "from", "below" and "no size" are findings about scale,
      which one size cannot give (its gain stays in the reason and in the size's own gain).

    Every verdict carries the sizes it speaks for (`GuidanceVerdict.sizes`), and its text names them.
    """
    ordered = sorted(gains, key=lambda g: g.size)
    if not ordered:
        return GuidanceVerdict("inconclusive", None, None, "no size has both conditions on the same items")
    if len({g.size for g in ordered}) != len(ordered):
        raise ValueError("two gains at the same size")
    sizes = tuple(g.size for g in ordered)
    directions = [g.direction for g in ordered]
    per_size = "; ".join(_gain_text(g, label) for g in ordered)
    if len(ordered) == 1:
        reason = f"one size: a verdict over sizes needs at least two; the gain there: {per_size}"
        return GuidanceVerdict("inconclusive", None, None, reason, sizes)
    first_up = len(directions)
    while first_up > 0 and directions[first_up - 1] == "up":
        first_up -= 1
    losing = 0
    while losing < len(directions) and directions[losing] == "down":
        losing += 1
    helps_from = ordered[first_up].size if first_up < len(ordered) else None
    hurts_below = ordered[losing].size if 0 < losing < len(ordered) else None
    if helps_from is not None or hurts_below is not None:
        kind: GuidanceKind = (
            "helps" if hurts_below is None else "hurts" if helps_from is None else "hurts then helps"
        )
        return GuidanceVerdict(kind, helps_from, hurts_below, per_size, sizes)
    if all(g.gain.high < GAIN_MARGIN for g in ordered):
        reason = f"every interval below +{GAIN_MARGIN * 100:.0f} points: {per_size}"
        return GuidanceVerdict("never helps", None, None, reason, sizes)
    reason = f"no lasting significant gain or loss: {per_size}"
    return GuidanceVerdict("inconclusive", None, None, reason, sizes)


def _gain_text(gain: SizeGain, label: Callable[[float], str]) -> str:
    g = gain.gain
    return (
        f"{label(gain.size)} {g.estimate * 100:+.0f} points [{g.low * 100:+.0f}, {g.high * 100:+.0f}], "
        f"McNemar p={gain.p_value:.2g}, n={gain.n}"
    )
