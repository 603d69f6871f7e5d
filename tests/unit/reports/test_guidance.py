"""Verdicts on guidance (chain of thought, instruction tuning) along the size axis, with known crossings."""

from __future__ import annotations

from pathlib import Path

import pytest

from reports.analyses.guidance import SizeGain, guidance_verdict, paired_gain
from tests.helpers.summary import rows_with_results

SIZES = [1e8, 1e9, 1e10, 1e11, 1e12]


def gain(size: float, without: float, with_guidance: float, n: int = 200) -> SizeGain:
    """The first round(p * n) items right in each condition: every changed item moves the same way."""
    a = [i < round(without * n) for i in range(n)]
    b = [i < round(with_guidance * n) for i in range(n)]
    return paired_gain(size, a, b)


def family(pairs: list[tuple[float, float]], n: int = 200) -> list[SizeGain]:
    return [gain(s, a, b, n) for s, (a, b) in zip(SIZES, pairs, strict=False)]


def test_helps_from_the_known_crossing() -> None:
    # Chain of thought is no better up to 1B and clearly better from 10B on (the GSM8K pattern).
    verdict = guidance_verdict(family([(0.1, 0.1), (0.1, 0.1), (0.2, 0.5), (0.3, 0.7)]))
    assert (verdict.kind, verdict.helps_from, verdict.hurts_below) == ("helps", 1e10, None)
    assert verdict.text() == "helps from size 10B (4 sizes, 100M to 100B)"
    assert verdict.sizes == (1e8, 1e9, 1e10, 1e11)


def test_hurts_below_then_helps_from() -> None:
    verdict = guidance_verdict(family([(0.4, 0.1), (0.4, 0.2), (0.3, 0.3), (0.3, 0.31), (0.3, 0.8)]))
    assert (verdict.kind, verdict.hurts_below, verdict.helps_from) == ("hurts then helps", 1e10, 1e12)
    assert verdict.text() == "hurts below size 10B, helps from size 1T (5 sizes, 100M to 1T)"


def test_hurts_below_without_helping() -> None:
    verdict = guidance_verdict(family([(0.4, 0.1), (0.4, 0.4), (0.4, 0.42)]))
    assert (verdict.kind, verdict.hurts_below, verdict.helps_from) == ("hurts", 1e9, None)
    assert verdict.text() == "hurts below size 1B (3 sizes, 100M to 10B)"


def test_no_size_where_it_helps() -> None:
    same = guidance_verdict(family([(0.3, 0.3), (0.5, 0.5), (0.6, 0.6)]))
    assert same.kind == "never helps" and same.text() == "no size where it helps (3 sizes, 100M to 10B)"
    worse = guidance_verdict(family([(0.5, 0.2), (0.6, 0.3), (0.7, 0.4)]))  # loses at every size
    assert worse.kind == "never helps" and worse.hurts_below is None


def test_overlapping_intervals_are_inconclusive() -> None:
    # 20 items a size, a few changed both ways: every interval straddles zero.
    noisy = []
    for size, ups, downs in [(1e8, 2, 2), (1e9, 3, 1), (1e10, 4, 2)]:
        a = [i < downs for i in range(20)]
        b = [downs <= i < downs + ups for i in range(20)]
        noisy.append(paired_gain(size, a, b))
    verdict = guidance_verdict(noisy)
    assert all(g.gain.low < 0 < g.gain.high for g in noisy)
    assert verdict.kind == "inconclusive" and verdict.helps_from is None and verdict.hurts_below is None


def test_a_gain_needs_the_exact_test_too() -> None:
    # 4 of 4 items better: the score interval excludes 0 ([+31, +100]), McNemar's p is 0.125.
    small = gain(1e9, 0.0, 1.0, n=4)
    assert small.gain.low == pytest.approx(0.307, abs=1e-3) and small.p_value == pytest.approx(0.125)
    assert small.direction == "none"
    assert guidance_verdict([gain(1e8, 0.0, 0.0, n=4), small]).kind == "inconclusive"
    assert gain(1e9, 0.0, 1.0, n=40).direction == "up"


def test_nothing_right_either_way_is_no_finding() -> None:
    """Defect B: 0 of 20 with and without guidance at one size (268M) read "no size where it helps. every
    interval below +5 points: 268M +0 points [+0, +0]": an interval collapsed to a point, and one size
    read as a finding about scale."""
    one = gain(2.68e8, 0.0, 0.0, n=20)
    assert one.gain.estimate == 0.0
    assert (one.gain.low, one.gain.high) == (pytest.approx(-0.161, abs=1e-3), pytest.approx(0.161, abs=1e-3))
    verdict = guidance_verdict([one])
    assert (verdict.kind, verdict.sizes) == ("inconclusive", (2.68e8,))
    assert verdict.text() == "inconclusive: one size (268M)"
    assert verdict.reason == (
        "one size: a verdict over sizes needs at least two; the gain there: "
        "268M +0 points [-16, +16], McNemar p=1, n=20"
    )
    # At three sizes it is still no evidence that guidance never helps: gains up to +16 are not ruled out.
    three = guidance_verdict([gain(s, 0.0, 0.0, n=20) for s in SIZES[:3]])
    assert three.kind == "inconclusive" and three.text() == "inconclusive"
    # Enough items rule them out: 0 of 400 either way bounds the gain below +1 point.
    assert guidance_verdict([gain(s, 0.0, 0.0, n=400) for s in SIZES[:3]]).kind == "never helps"


def test_one_size_is_never_a_finding_about_scale() -> None:
    """A significant gain at the only size measured is that size's gain, not "helps from" a size."""
    verdict = guidance_verdict([gain(1e10, 0.2, 0.7)])
    assert verdict.kind == "inconclusive" and verdict.helps_from is None
    assert verdict.text() == "inconclusive: one size (10B)"
    assert "+50 points" in verdict.reason


def test_a_gain_that_does_not_last_is_inconclusive() -> None:
    verdict = guidance_verdict(family([(0.2, 0.2), (0.2, 0.6), (0.5, 0.5)]))
    assert verdict.kind == "inconclusive"


def test_order_free_and_rejects_two_gains_at_one_size() -> None:
    gains = family([(0.1, 0.1), (0.1, 0.1), (0.2, 0.5)])
    assert guidance_verdict(gains) == guidance_verdict(list(reversed(gains)))
    with pytest.raises(ValueError):
        guidance_verdict([gains[0], gains[0]])
    assert guidance_verdict([]).kind == "inconclusive"


GUIDED_FAMILY = """\
name: guided
version: "1"
description: scripted stand-ins; chain of thought hurts at 100M, does nothing at 1B, helps from 10B;
  instruction tuning helps from 10B
source: made up for the test
members:
  - {provider: scripted, model: "cot:outcome/calculator@100M", params: 100M, variant: base}
  - {provider: scripted, model: "outcome@1B", params: 1B, variant: base}
  - {provider: scripted, model: "cot:calculator/outcome@10B", params: 10B, variant: base}
  - {provider: scripted, model: "cot:calculator/outcome@100B", params: 100B, variant: base}
  - {provider: scripted, model: "outcome@1000M", params: 1B, variant: instruct}
  - {provider: scripted, model: "calculator@10B", params: 10B, variant: instruct}
  - {provider: scripted, model: "calculator@100B", params: 100B, variant: instruct}
"""


def _guided_run(cli, tmp_path: Path, limit: str) -> list[dict]:
    family = tmp_path / "guided.yaml"
    family.write_text(GUIDED_FAMILY)
    out = tmp_path / f"run-{limit}"
    args = ["run", "--family", str(family), "--task", "hindsight_neglect", "--limit", limit]
    result = cli(*args, "--out", str(out))
    assert result.code == 0, result.err
    return rows_with_results(out)


def test_scripted_family_crossings_are_found_and_reported(cli, tmp_path: Path) -> None:
    rows = _guided_run(cli, tmp_path, "30")
    cot = [r for r in rows if r["prompting"] == "cot" and r["variant"] == "base"]
    # against plain, by generated answer
    assert [r["cot_gain"]["estimate"] for r in cot] == [-1.0, 0.0, 1.0, 1.0]
    verdict = cot[0]["cot_verdict"]
    assert (verdict["kind"], verdict["hurts_below"], verdict["helps_from"]) == ("hurts then helps", 1e9, 1e10)
    assert verdict["text"] == "hurts below size 1B, helps from size 10B (4 sizes, 100M to 100B)"
    assert all(r["cot_verdict"] == verdict for r in cot)  # one verdict per curve, on each of its rows
    tuned = [r for r in rows if r["variant"] == "instruct" and r["prompting"] == "plain"]
    assert {r["scoring"] for r in tuned} == {"logprob", "generate"}
    for r in tuned:  # instruct against the base model of the same size, same items and scoring
        assert r["instruct_gain"]["estimate"] == (0.0 if r["params"] == 10**9 else 1.0)
        assert r["instruct_verdict"]["text"] == "helps from size 10B (3 sizes, 1B to 100B)"
    assert all(r["instruct_verdict"] is None for r in rows if r["variant"] == "base")
    out = tmp_path / "run-30"
    md = (out / "report.md").read_text()
    assert "guided base: **hurts below size 1B, helps from size 10B (4 sizes, 100M to 100B)**" in md
    assert (
        "Instruction tuning (instruct against base of the same size), guided instruct: "
        "**helps from size 10B (3 sizes, 1B to 100B)**" in md
    )
    html = (out / "report.html").read_text()
    assert "gain from guidance by model size</title>" in html and "no gain" in html
    assert "guided · base · cot · generated answer − plain" in html


def test_scripted_family_with_too_few_items_is_inconclusive(cli, tmp_path: Path) -> None:
    rows = _guided_run(cli, tmp_path, "3")  # the same crossings, 3 items a size: McNemar p >= 0.25
    cot = [r for r in rows if r["prompting"] == "cot" and r["variant"] == "base"]
    assert [r["cot_gain"]["estimate"] for r in cot] == [-1.0, 0.0, 1.0, 1.0]
    assert {r["cot_verdict"]["kind"] for r in cot} == {"inconclusive"}
    tuned = [r for r in rows if r["variant"] == "instruct" and r["prompting"] == "plain"]
    assert {r["instruct_verdict"]["text"] for r in tuned} == {"inconclusive"}


def test_one_model_with_nothing_right_reports_no_finding(cli, tmp_path: Path) -> None:
    """The run behind defect B: one 268M model, 0 of 20 with and without chain of thought. report.md said
    "no size where it helps. every interval below +5 points: 268M +0 points [+0, +0]"."""
    out = tmp_path / "run"
    args = ["run", "--provider", "scripted", "--model", "constant: 0@268M", "--task", "word_problems"]
    result = cli(*args, "--prompting", "both", "--out", str(out))
    assert result.code == 0, result.err
    md = (out / "report.md").read_text()
    assert "**inconclusive: one size (268M)**" in md
    assert r"268M +0 points \[-16, +16\], McNemar p=1, n=20" in md
    assert "no size where it helps" not in md and r"\[+0, +0\]" not in md
