"""Does a continuous measure rise smoothly where accuracy jumps? One sentence from the steps of accuracy
and the measure's values (Schaeffer et al. 2023), as a pure function."""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from benchmark.sizes import format_size
from reports.analyses.stats import Step


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
