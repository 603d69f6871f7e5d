"""How often the reproduction verdict (reports/reproduction.py) calls a faithful reproduction of an
eight-size curve "differs", "reproduces" or "inconclusive", against judging each size alone at 95%.

Each trial draws, at every size, a published number and a run's number as two independent binomial
samples of the same accuracy (the curve of Pythia's hindsight neglect at step 143,000, rounded), on the
same number of items each; the figures docs/reproducing.md quotes come from the defaults (seed 1, 2,000
trials, 315 items). No model and no I/O: the result depends only on the seed and the arguments.

    python -m perf.verdict_simulation [--trials 2000] [--items 315] [--seed 1]
"""

from __future__ import annotations

import argparse
from collections import Counter

import numpy as np

from benchmark.schemas import SummaryRow, TaskInfo
from reports.analyses.intervals import wilson_interval
from reports.references import Curve, PublishedPoint
from reports.reproduction import Match, judge

TRUTH = [0.50, 0.55, 0.44, 0.55, 0.43, 0.33, 0.45, 0.24]
INFO = TaskInfo(name="trap", version="1", promptings=["plain"], chance=0.5)


def row(model: str, correct: int, n: int) -> SummaryRow:
    low, high = wilson_interval(correct, n)
    return SummaryRow(
        task="trap", task_version="1", prompting="plain", model=model, provider="simulated", params=None,
        scripted=True, n=n, correct=correct, accuracy=correct / n, ci_low=low, ci_high=high, chance=0.5,
        extraction_failures=0, errors=0, scoring="logprob", hub_id=model,
    )  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--trials", type=int, default=2000)
    parser.add_argument("--items", type=int, default=315)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    if args.trials < 1 or args.items < 1:
        parser.error("--trials and --items must be at least 1")
    rng = np.random.default_rng(args.seed)
    kinds: Counter[str] = Counter()
    any_size = 0
    for _ in range(args.trials):
        points, rows = [], []
        for size, p in enumerate(TRUTH):
            point = PublishedPoint(
                params=10 ** (8 + size / 2),
                accuracy=rng.binomial(args.items, p) / args.items,
                model=f"m{size}",
            )
            points.append(point)
            rows.append((row(f"m{size}", int(rng.binomial(args.items, p)), args.items), point))
        curve = Curve(name="c", prompting="plain", source="simulated", points=points, n=args.items)
        found = judge(Match("simulated", curve, rows), INFO)
        kinds[found.kind] += 1
        any_size += any(not (c.low <= 0 <= c.high) for c in found.points)
    print(f"{args.trials} faithful reproductions of an {len(TRUTH)}-size curve, {args.items} items a side:")
    print(f"  some size outside its own 95% interval: {any_size / args.trials:.1%}")
    for kind in ("differs", "reproduces", "inconclusive"):
        print(f"  verdict {kind}: {kinds[kind] / args.trials:.1%}")


if __name__ == "__main__":
    main()
