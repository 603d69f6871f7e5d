"""Verdicts that hold at the item counts users run: "at chance" does not turn on the item count, every
shape verdict can be reached at the default --limit, and a verdict of no change says what the run could
have seen (the power note)."""

from __future__ import annotations

from pathlib import Path

import pytest
from scipy.stats import binom

from benchmark.runconfig import DEFAULT_LIMIT
from reports.analyses.intervals import wilson_interval
from reports.analyses.stats import (
    DETECTION_POWER,
    SizePoint,
    detectable_accuracy,
    shape_verdict,
)
from tests.helpers.summary import rows_with_results

SIZES = [1e8, 1e9, 1e10, 1e11, 1e12]


def curve(accuracies: list[float], n: int) -> list[SizePoint]:
    """The first round(accuracy * n) items right at each size, on the same items."""
    return [
        SizePoint(size, [i < round(a * n) for i in range(n)], [f"q{i}" for i in range(n)])
        for size, a in zip(SIZES, accuracies, strict=False)
    ]


@pytest.mark.parametrize("n", [DEFAULT_LIMIT, 20, 30, 50, 200, 1000])
def test_nothing_then_everything_is_emergent_at_any_item_count(n: int) -> None:
    """0%, 0%, 100% at 100M, 1B, 10B on exact match (chance 0): emergent from 10B, whatever n. While "at
    chance" also asked for an interval within 15 points of chance, 0 of 20 (Wilson [0, 16.1%]) was not at
    chance, and the same curve read "monotone up" at 20 items and "emergent" at 30."""
    verdict = shape_verdict(curve([0.0, 0.0, 1.0], n), chance=0.0, seed=1)
    assert (verdict.shape, verdict.threshold) == ("emergent", 1e10), verdict.reason
    # The flat stretch is a claim of no change, so it carries the power note.
    assert verdict.detectable == detectable_accuracy(n, 0.0)
    assert "power:" in verdict.reason


@pytest.mark.parametrize(
    ("accuracies", "chance", "shape"),
    [
        ([0.0, 0.0, 1.0], 0.0, "emergent"),
        ([0.5, 0.5, 1.0], 0.5, "emergent"),
        ([0.3, 0.6, 0.9], 0.25, "monotone up"),
        ([0.9, 0.6, 0.3], 0.25, "inverse"),
        ([0.9, 0.1, 0.9], 0.5, "U-shaped"),
        ([0.5, 0.5, 0.5], 0.5, "flat"),
        ([0.0, 0.0, 0.0], 0.0, "flat"),
    ],
)
def test_every_shape_verdict_is_reachable_at_the_default_limit(
    accuracies: list[float], chance: float, shape: str
) -> None:
    verdict = shape_verdict(curve(accuracies, DEFAULT_LIMIT), chance, seed=3)
    assert verdict.shape == shape, verdict.reason


def test_the_power_note_is_the_exact_binomial_power_of_the_at_chance_rule() -> None:
    """Checked against a count-by-count search: the smallest count of n items whose Wilson interval lies
    above chance (beyond the at-chance margin), and the binomial probability of reaching it."""
    for n, chance in [(20, 0.5), (20, 0.0), (20, 0.25), (30, 0.0), (100, 0.5), (315, 0.5)]:
        first = next(k for k in range(n + 1) if _above(k, n, chance))
        found = detectable_accuracy(n, chance)
        assert found is not None
        assert binom.sf(first - 1, n, found) == pytest.approx(DETECTION_POWER, abs=1e-9)
        assert binom.sf(first - 1, n, found - 1e-3) < DETECTION_POWER
    # Known figures: 20 items at chance 0.5 detect a rise to 79.9%; at chance 0, to 7.7%.
    assert detectable_accuracy(20, 0.5) == pytest.approx(0.7987, abs=1e-4)
    assert detectable_accuracy(20, 0.0) == pytest.approx(0.0773, abs=1e-4)
    # More items see smaller rises; where no count can be above chance there is nothing to detect.
    assert detectable_accuracy(200, 0.5) < detectable_accuracy(50, 0.5) < detectable_accuracy(20, 0.5)
    assert detectable_accuracy(20, 0.99) is None


def _above(k: int, n: int, chance: float) -> bool:
    low, high = wilson_interval(k, n)
    return low > chance and high > chance + 0.05


def test_a_flat_verdict_carries_its_power_note() -> None:
    verdict = shape_verdict(curve([0.5] * 4, DEFAULT_LIMIT), chance=0.5, seed=0)
    assert verdict.shape == "flat"
    assert verdict.detectable == pytest.approx(0.2987, abs=1e-4)
    assert f"at {DEFAULT_LIMIT} items a size, only a rise of +30 points" in verdict.reason
    # Verdicts that claim a change carry none.
    assert shape_verdict(curve([0.3, 0.6, 0.9], 20), chance=0.25, seed=0).detectable is None


SCRIPTED = """\
name: toy
version: "1"
description: nothing right at 100M and 1B, everything at 10B
source: made up for the test
members:
  - {provider: scripted, model: "constant: 0@100M", params: 100M, variant: base}
  - {provider: scripted, model: "constant: -1@1B", params: 1B, variant: base}
  - {provider: scripted, model: "calculator@10B", params: 10B, variant: base}
"""


def test_a_scripted_emergent_family_is_emergent_at_the_default_limit(cli, tmp_path: Path) -> None:
    """The run a newcomer makes: no --limit. It said "monotone up" at the default 20 items."""
    family = tmp_path / "toy.yaml"
    family.write_text(SCRIPTED)
    out = tmp_path / "run"
    result = cli("run", "--family", str(family), "--task", "arithmetic:digits=2", "--out", str(out))
    assert result.code == 0, result.err
    rows = rows_with_results(out)
    assert {r["n"] for r in rows} == {DEFAULT_LIMIT}
    assert {(r["shape"]["verdict"], r["shape"]["threshold"]) for r in rows} == {("emergent", 1e10)}
    assert "Shape, toy base: **emergent** (threshold 10B)" in (out / "report.md").read_text()
