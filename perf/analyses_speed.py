"""How long the analyses take on a 10-size x 4-task x 3-condition run, on one core, bootstrap included:
the target is under 10 s (issue 27). Two figures:

- the whole summary (`reports.summarize`: aggregation and every shipped analysis -- shape, steps, chain
  of thought against plain, the continuous-measure note, the four fits, calibration -- on every curve)
  of a synthetic run: 4 tasks (the four shapes below), 3 prompting conditions (plain, cot,
  cot_zeroshot), 10 sizes, 200 items each, 24,000 samples with a digit accuracy per item;
- the fits alone on twelve curves, as below.

Twelve synthetic curves (four shapes -- a logistic rise, a U, a fall that flattens, a straight line --
each under three prompting conditions, shifted a little), ten sizes from 100M to 100B, 200 items per
size shared across sizes, each item with an outcome and a log-probability of the correct answer. Each
curve gets every fit once per measure the lead's analysis layer would ask for: the trend of the
log-probability, the crossing of accuracy, the turn of accuracy, and predictability of accuracy and of
the log-probability, with the default resample counts (LINE_RESAMPLES for the straight lines,
CURVE_RESAMPLES and TURN_RESAMPLES refits for the curved forms).

One core: BLAS/OpenMP thread pools are set to one thread before numpy is imported and the process is
pinned to one CPU. It prints the wall-clock and the process's CPU seconds (on a shared machine the CPU
seconds are the cost; wall-clock includes waiting for the core), the CPU and the load average.

    python -m perf.analyses_speed [--repeats 3] [--seed 1]
"""

from __future__ import annotations

import os

for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_name] = "1"
if hasattr(os, "sched_setaffinity"):
    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})

import argparse  # noqa: E402
import time  # noqa: E402
from collections import Counter  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
from scipy.special import expit  # noqa: E402

from benchmark.schemas import Manifest, Sample, TaskInfo  # noqa: E402
from perf._lib.machine import cpu  # noqa: E402
from reports import summarize  # noqa: E402
from reports.analyses.fit_curves import CURVE_RESAMPLES  # noqa: E402
from reports.analyses.fit_turn import TURN_RESAMPLES  # noqa: E402
from reports.analyses.fits import (  # noqa: E402
    LINE_RESAMPLES,
    FitData,
    FitPoint,
    crossing_fit,
    predictability,
    trend_fit,
    turn_fit,
)

SIZES = np.linspace(8, 11, 10)  # log10 parameters: 100M ... 100B
ITEMS = 200
CHANCE = 0.25


def shapes(shift: float) -> dict[str, np.ndarray]:
    """Accuracy at each size of the four tasks' curves, moved along log10 size by `shift`."""
    u = SIZES - shift
    return {
        "rise": CHANCE + (0.85 - CHANCE) * expit(3 * (u - 9.6)),
        "U": 0.3 + 0.12 * (u - 9.8) ** 2,
        "fall": 0.35 + 0.4 * expit(-3 * (u - 9.3)),
        "line": 0.3 + 0.1 * (u - 8),
    }


def curves(seed: int) -> list[FitData]:
    rng = np.random.default_rng(seed)
    ids = [f"item{i}" for i in range(ITEMS)]
    out = []
    for shift in (0.0, -0.3, 0.3):  # three prompting conditions
        for accuracy in shapes(shift).values():
            points = []
            for u, p in zip(SIZES, np.clip(accuracy, 0.02, 0.98), strict=True):
                logprob = rng.normal(np.log(p), 0.8, ITEMS)
                points.append(FitPoint(10**u, ids, rng.random(ITEMS) < p, {"logprob": logprob}))
            out.append(FitData(points, CHANCE, seed))
    return out


def analyse(data: list[FitData]) -> Counter[str]:
    kinds: Counter[str] = Counter()
    for curve in data:
        for record in (
            trend_fit(curve, "logprob"),
            crossing_fit(curve),
            turn_fit(curve),
            predictability(curve),
            predictability(curve, "logprob"),
        ):
            kinds[f"{record.fit}: {record.kind}"] += 1
    return kinds


CONDITIONS = ("plain", "cot", "cot_zeroshot")


def whole_run(seed: int) -> tuple[list[Sample], Manifest]:
    """A synthetic run: each of the four shapes a task, each condition a shift along size."""
    rng = np.random.default_rng(seed)
    tasks = [TaskInfo(name=f"task_{name}", version="1", promptings=list(CONDITIONS), chance=CHANCE)
             for name in shapes(0.0)]  # fmt: skip
    samples = []
    for condition, shift in zip(CONDITIONS, (0.0, -0.3, 0.3), strict=True):
        for task, accuracy in zip(tasks, shapes(shift).values(), strict=True):
            for u, p in zip(SIZES, np.clip(accuracy, 0.02, 0.98), strict=True):
                correct = rng.random(ITEMS) < p
                digits = np.clip(rng.normal(p, 0.1, ITEMS), 0, 1)
                for i in range(ITEMS):
                    samples.append(Sample.model_validate({
                        "model": f"m{u:.2f}", "provider": "scripted", "params": int(10**u), "scripted": True,
                        "family": "synthetic", "variant": "base", "task": task.name, "task_version": "1",
                        "prompting": condition, "item_id": f"item{i:03d}", "prompt": "Q", "response": "A",
                        "extracted": "A", "target": "A", "correct": bool(correct[i]),
                        "extraction_failed": False, "scoring": "generate", "latency_s": 0.0,
                        "metrics": {"digit_accuracy": float(digits[i])},
                    }))  # fmt: skip
    manifest = Manifest(tool_version="perf", command=["perf"], seed=seed, limit=ITEMS, tasks=tasks, models=[],
                        started_at="2026-12-07T00:00:00Z")  # fmt: skip
    return samples, manifest


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    if args.repeats < 1:
        parser.error("--repeats must be at least 1")
    samples, manifest = whole_run(args.seed)
    print(
        f"whole summary: {len(samples)} samples, {len(SIZES)} sizes x 4 tasks x {len(CONDITIONS)} conditions"
    )
    for repeat in range(args.repeats):
        wall, cpu_start = time.perf_counter(), time.process_time()
        summary = summarize(samples, manifest)
        wall, used = time.perf_counter() - wall, time.process_time() - cpu_start
        results = sum(len(c.results) for c in summary.curves)
        print(f"run {repeat + 1}: {wall:.2f} s wall-clock, {used:.2f} s CPU "
              f"({len(summary.curves)} curves, {results} results)")  # fmt: skip
    data = curves(args.seed)
    resamples = f"{LINE_RESAMPLES} (lines), {CURVE_RESAMPLES} (crossing), {TURN_RESAMPLES} (turn)"
    print(f"fits alone: {len(data)} curves x {len(SIZES)} sizes x {ITEMS} items; resamples: {resamples}")
    for repeat in range(args.repeats):
        wall, cpu_start = time.perf_counter(), time.process_time()
        kinds = analyse(data)
        wall, used = time.perf_counter() - wall, time.process_time() - cpu_start
        print(f"run {repeat + 1}: {wall:.2f} s wall-clock, {used:.2f} s CPU")
    print("verdicts:", ", ".join(f"{kind} {count}" for kind, count in sorted(kinds.items())))
    print(f"CPU: {cpu()}; pinned to 1; load average: {Path('/proc/loadavg').read_text().strip()}")


if __name__ == "__main__":
    main()
