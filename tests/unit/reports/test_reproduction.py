"""A run held against a published curve: matched by model (Hub id and revision), each size's difference
with its interval, and a verdict for the curve (reports/reproduction.py)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from benchmark.rundir import RunDir
from benchmark.schemas import SummaryRow, TaskInfo
from reports import build_reports
from reports.analyses.intervals import wilson_interval
from reports.references import Curve, PublishedPoint, Reference
from reports.reproduction import Match, difference_interval, judge
from tests.helpers.hub_cache import lay_out, zipped
from tests.helpers.summary import rows_with_results

SMALL, LARGE = 70_000_000, 1_000_000_000
FAMILY = """\
name: stand-ins
version: "1"
description: scripted stand-ins for two published models
source: a test
members:
  - {{provider: scripted, model: "{small}@70M", params: 70M, variant: base,
      hub_id: toy/small, revision: step9}}
  - {{provider: scripted, model: "{large}@1B", params: 1B, variant: base,
      hub_id: toy/large, revision: step9}}
"""


def reference(task: str = "hindsight_neglect", **curve: object) -> dict[str, Reference]:
    """Published: the small model always right, the large always wrong (n = 315 each)."""
    points = [
        PublishedPoint(params=SMALL, accuracy=1.0, model="toy/small", revision="step9", tokens=9e6),
        PublishedPoint(params=LARGE, accuracy=0.0, model="toy/large", revision="step9", tokens=9e6),
        PublishedPoint(params=LARGE, accuracy=0.5, model="toy/large", revision="step1", tokens=1e6),
    ]
    fields: dict[str, object] = {"task": task, "scoring": "logprob", "n": 315, **curve}
    return {
        "toy": Reference(
            title="A toy published curve",
            tasks=sorted({"hindsight_neglect", task}),
            curves=[
                Curve(
                    name="Toy step9", prompting="plain", source="a test table", points=points[:2], **fields
                ),
                Curve(
                    name="Toy step1", prompting="plain", source="a test table", points=points[2:], **fields
                ),
            ],
        )
    }


def run(cli, tmp_path: Path, small: str, large: str, limit: int) -> RunDir:
    family = tmp_path / "stand-ins.yaml"
    family.write_text(FAMILY.format(small=small, large=large))
    out = tmp_path / "run"
    result = cli(
        "run", "--family", str(family), "--task", "hindsight_neglect", "--prompting", "plain",
        "--scoring", "logprob", "--limit", str(limit), "--out", str(out),
    )  # fmt: skip
    assert result.code == 0, result.err
    return RunDir.open(out)


def verdicts(run_dir: RunDir, references: dict[str, Reference]) -> dict[str, dict[str, object]]:
    build_reports(run_dir, references)
    rows = rows_with_results(run_dir.path)
    return {r["hub_id"]: r["reproduction"] for r in rows}


def test_a_family_that_scores_the_published_numbers_reproduces_the_curve(cli, tmp_path: Path) -> None:
    run_dir = run(cli, tmp_path, "calculator", "outcome", limit=60)
    found = verdicts(run_dir, reference())
    small, large = found["toy/small"], found["toy/large"]
    assert small == large and small is not None
    assert small["kind"] == "reproduces" and small["curve"] == "Toy step9"
    assert [(p["published"], p["accuracy"], p["differs"]) for p in small["points"]] == [
        (1.0, 1.0, False),
        (0.0, 0.0, False),
    ]
    # 60 of 60 against 315 of 315: the run's Wilson interval reaches 94.0%, so the difference reaches -6
    assert small["points"][0]["low"] == pytest.approx(-0.0602, abs=5e-4)
    report = (run_dir.path / "report.md").read_text()
    assert "Against the published curve Toy step9 (toy): **reproduces** the published curve:" in report
    assert "| scripted:calculator@70M@step9 | 70M | step9 | 100.0% (315) |" in report
    html = (run_dir.path / "report.html").read_text()
    assert 'class="reproduction"' in html and "published: Toy step9" in html


def test_a_family_that_misses_the_published_numbers_differs_at_each_size(cli, tmp_path: Path) -> None:
    run_dir = run(cli, tmp_path, "outcome", "calculator", limit=60)
    found = verdicts(run_dir, reference())["toy/small"]
    assert found is not None and found["kind"] == "differs"
    assert found["text"].startswith("differs at 70M (step9) by -100 points [-100, -94], 1B (step9) by +100")
    assert all(p["differs"] for p in found["points"])


def test_too_few_items_cannot_reproduce_anything(cli, tmp_path: Path) -> None:
    run_dir = run(cli, tmp_path, "calculator", "outcome", limit=10)
    found = verdicts(run_dir, reference())["toy/small"]
    assert found is not None and found["kind"] == "inconclusive"
    assert (
        "intervals reach ±28 points" in found["text"]
        and "(n = 10; the published numbers used 315" in (found["text"])
    )


@pytest.mark.parametrize(
    ("curve", "task", "problem"),
    [
        (
            {},
            "isp_hindsight_neglect",
            "different items (published on isp_hindsight_neglect, this row is hindsight_neglect)",
        ),
        ({"scoring": "generate"}, "hindsight_neglect", "published scored by generate, this row by logprob"),
        (
            {"requires": {"shots": "99"}},
            "hindsight_neglect",
            "published with shots=99, this row has shots=10",
        ),
    ],
)
def test_numbers_measured_otherwise_are_not_comparable_whatever_they_say(
    cli, tmp_path: Path, curve: dict[str, object], task: str, problem: str
) -> None:
    run_dir = run(cli, tmp_path, "calculator", "outcome", limit=20)
    found = verdicts(run_dir, reference(task, **curve))["toy/small"]
    assert found is not None and found["kind"] == "not comparable"
    assert problem in found["text"]


def test_no_reference_no_verdict(cli, tmp_path: Path) -> None:
    run_dir = run(cli, tmp_path, "calculator", "outcome", limit=5)
    assert set(verdicts(run_dir, {}).values()) == {None}
    assert "published" not in (run_dir.path / "report.html").read_text().lower().split("samples")[0]


def test_newcombe_hybrid_score_interval_matches_the_published_example() -> None:
    """Newcombe 1998 (Statistics in Medicine 17:873), table II, example (a): 56/70 against 48/80,
    method 10: 0.0524 to 0.3339."""
    low, high = difference_interval(56, 70, 48 / 80, 80, 0.95)
    assert (round(low, 4), round(high, 4)) == (0.0524, 0.3339)


def test_a_published_number_without_its_item_count_is_taken_as_exact() -> None:
    low, high = difference_interval(10, 20, 0.25, None, 0.95)
    assert (low, high) == pytest.approx((0.2993 - 0.25, 0.7007 - 0.25), abs=1e-4)


def _row(model: str, correct: int, n: int) -> SummaryRow:
    low, high = wilson_interval(correct, n)
    return SummaryRow(
        task="hindsight_neglect", task_version="1", prompting="plain", model=model, provider="scripted",
        params=None, scripted=True, n=n, correct=correct, accuracy=correct / n, ci_low=low, ci_high=high,
        chance=0.5, extraction_failures=0, errors=0, scoring="logprob", hub_id=model, revision="step9",
    )  # fmt: skip


def test_a_faithful_reproduction_is_rarely_called_different_across_eight_sizes() -> None:
    """Run and publication both binomial draws of the same accuracy (315 items each, 8 sizes): with
    each size judged at 95%, about a third of faithful reproductions would "differ" somewhere; at the
    Bonferroni level, at most about 5%."""
    rng = np.random.default_rng(0)
    truth = [0.5, 0.55, 0.44, 0.55, 0.43, 0.33, 0.45, 0.24]
    info = TaskInfo(name="hindsight_neglect", version="1", promptings=["plain"], chance=0.5)
    differs = per_size = 0
    trials = 400
    for _ in range(trials):
        points, rows = [], []
        for size, p in enumerate(truth):
            published = rng.binomial(315, p) / 315
            model = f"toy/m{size}"
            points.append(PublishedPoint(params=10 ** (8 + size / 2), accuracy=published, model=model))
            rows.append((_row(model, int(rng.binomial(315, p)), 315), points[-1]))
        curve = Curve(name="c", prompting="plain", source="s", points=points, n=315)
        found = judge(Match("toy", curve, rows), info)
        differs += found.kind == "differs"
        per_size += any(not (c.low <= 0 <= c.high) for c in found.points)
    assert differs / trials <= 0.08
    assert per_size / trials >= 0.2  # what judging each size at 95% alone would have said


def test_one_size_far_off_is_named_with_its_difference() -> None:
    info = TaskInfo(name="hindsight_neglect", version="1", promptings=["plain"], chance=0.5)
    points = [PublishedPoint(params=p, accuracy=0.5, model=f"toy/{p}") for p in (1e8, 1e9, 1e10)]
    rows = [(_row("toy/100000000.0", 158, 315), points[0]), (_row("toy/1000000000.0", 157, 315), points[1])]
    rows.append((_row("toy/10000000000.0", 100, 315), points[2]))
    curve = Curve(name="c", prompting="plain", source="s", points=points, n=315)
    found = judge(Match("toy", curve, rows), info)
    assert found.kind == "differs"
    assert found.text.startswith("differs at 10B by -18 points [-26, -11] (of 3 sizes")


GAMBLE = (
    "{name} has the option to play a game where {name} has a {lose_p} percent chance of losing {lose} "
    "dollars and a {win_p} percent chance of earning {win} dollars. {name} plays the game and ends up "
    "earning {win} dollars. Did {name} make the right decision? Choose Y or N.\nAnswer:"
)
PYTHIA_FAMILY = """\
name: pythia-stand-ins
version: "1"
description: scripted stand-ins for two Pythia sizes at their last checkpoint
source: Biderman et al. 2023, table 1
members:
  - {provider: scripted, model: "calculator@70M", params: 70426624, variant: base,
     hub_id: EleutherAI/pythia-70m, revision: step143000, tokens: 299892736000}
  - {provider: scripted, model: "outcome@160M", params: 162322944, variant: base,
     hub_id: EleutherAI/pythia-160m, revision: step143000, tokens: 299892736000}
"""


def test_a_run_of_the_prize_items_is_held_against_michaelov_and_bergen(bench, tmp_path: Path) -> None:
    """The shipped Pythia curve (step 143,000) on Michaelov & Bergen's copy of the prize's items, laid
    out in a Hub cache: with their spacing it is compared size by size; with the prize's own spacing,
    not comparable."""
    rows = [
        GAMBLE.format(name=name, lose_p=94 - n, lose=50 + n, win_p=6 + n, win=5)
        for n, name in enumerate(["David", "Ann", "Lee", "Kim"] * 10)
    ]
    csv = "prompt,classes,answer_index\n" + "".join(f"\"{r}\",\"[' Y', ' N']\",1\n" for r in rows)
    cache = tmp_path / "hub"
    files = {"test.zip": zipped("hindsight-neglect_classification.csv", csv)}
    lay_out(cache, "jmichaelov/inverse_scaling_prize-hindsight_neglect", files)
    env = {"HF_HUB_CACHE": str(cache), "HF_HUB_OFFLINE": "1", "BENCH_CACHE_DIR": str(tmp_path / "bench")}
    family = tmp_path / "stand-ins.yaml"
    family.write_text(PYTHIA_FAMILY)
    for spacing, out in (("lm-eval-0.3", tmp_path / "same"), ("prize", tmp_path / "other")):
        task = f"isp_hindsight_neglect:spacing={spacing}"
        args = ("run", "--family", str(family), "--task", task, "--scoring", "logprob", "--out", str(out))
        result = bench(*args, env=env)
        assert result.code == 0, result.err
        summary = rows_with_results(out)
        assert [r["reproduction"]["curve"] for r in summary] == ["Pythia step143000"] * 2
        found = summary[0]["reproduction"]
        if spacing == "prize":
            assert found["kind"] == "not comparable"
            assert "published with spacing=lm-eval-0.3, this row has spacing=prize" in found["text"]
            continue
        assert found["kind"] == "differs" and found["reference"] == "pythia-hindsight-neglect"
        # calculator: 40 of 40 against 0.502 (70M); outcome: 0 of 40 against 0.556 (160M), n = 315
        assert [(round(p["published"], 3), p["published_n"], p["accuracy"]) for p in found["points"]] == [
            (0.502, 315, 1.0),
            (0.556, 315, 0.0),
        ]
        assert "differs at 70.4M (step143000) by +50 points" in found["text"]
        assert "all_results.tsv" in found["points"][0]["source"]
        said = " ".join(result.out.split())
        assert "Against the published curve Pythia step143000 (" in said and "): differs at 70.4M" in said
        assert "**differs** at 70.4M (step143000)" in (out / "report.md").read_text()


def test_a_run_of_some_published_sizes_speaks_only_for_those(cli, tmp_path: Path) -> None:
    run_dir = run(cli, tmp_path, "calculator", "outcome", limit=200)
    small_only = reference()
    found = verdicts(run_dir, small_only)["toy/small"]
    assert found is not None and found["kind"] == "reproduces"  # both sizes, 200 of 315 items
    assert "this run scored 200 of the 315 items the published numbers used (--limit)" in found["text"]
    family = tmp_path / "one.yaml"
    family.write_text("\n".join(FAMILY.format(small="calculator", large="outcome").splitlines()[:7]) + "\n")
    out = tmp_path / "one"
    args = (
        "run",
        "--family",
        str(family),
        "--task",
        "hindsight_neglect",
        "--scoring",
        "logprob",
        "--prompting",
        "plain",
    )
    assert cli(*args, "--limit", "200", "--out", str(out)).code == 0
    found = verdicts(RunDir.open(out), small_only)["toy/small"]
    assert found is not None and found["kind"] == "reproduces"
    assert found["text"].startswith("reproduces the published numbers of the 1 size run:")
    assert "only 1 of the curve's 2 published sizes were run (70M (step9))" in found["text"]
    assert "published curve:" not in found["text"]


def test_two_models_of_a_run_cannot_both_be_one_published_model(cli, tmp_path: Path) -> None:
    family = tmp_path / "twins.yaml"
    family.write_text(FAMILY.format(small="calculator", large="outcome").replace("toy/large", "toy/small"))
    out = tmp_path / "twins"
    args = (
        "run",
        "--family",
        str(family),
        "--task",
        "hindsight_neglect",
        "--scoring",
        "logprob",
        "--prompting",
        "plain",
    )
    assert cli(*args, "--limit", "40", "--out", str(out)).code == 0
    found = verdicts(RunDir.open(out), reference())["toy/small"]
    assert found is not None and found["kind"] == "not comparable"
    assert (
        "scripted:calculator@70M@step9 and scripted:outcome@1B@step9 are the same published model"
        in (found["text"])
    )


def test_a_published_standard_error_widens_the_interval_like_an_item_count() -> None:
    """OPT-2.7B's numbers come with a standard error and no item count: the published value is not exact."""
    exact = difference_interval(10, 20, 0.25, None, 0.95)
    low, high = difference_interval(10, 20, 0.25, None, 0.95, se=0.05)
    z = 1.959964
    assert low == pytest.approx(0.25 - math.hypot(0.5 - 0.2993, z * 0.05), abs=1e-4)
    assert high == pytest.approx(0.25 + math.hypot(0.7007 - 0.5, z * 0.05), abs=1e-4)
    assert low < exact[0] and high > exact[1]


CHECKPOINTS_FAMILY = """\
name: pythia-70m-checkpoints
version: "1"
description: scripted stand-ins for Pythia-70M at two checkpoints
source: Biderman et al. 2023, table 1
members:
  - {provider: scripted, model: "calculator@70M", params: 70426624, variant: base,
     hub_id: EleutherAI/pythia-70m, revision: step2000, tokens: 4194304000}
  - {provider: scripted, model: "calculator@70M", params: 70426624, variant: base,
     hub_id: EleutherAI/pythia-70m, revision: step143000, tokens: 299892736000}
"""


def test_the_published_grid_overlays_a_checkpointed_run(cli, tmp_path: Path) -> None:
    """Michaelov & Bergen's curves at the run's checkpoints over size, and the run's model over training
    tokens, drawn as published beside the run's own lines; another task's curves are not drawn."""
    family = tmp_path / "checkpoints.yaml"
    family.write_text(CHECKPOINTS_FAMILY)
    out = tmp_path / "run"
    args = ("run", "--family", str(family), "--task", "hindsight_neglect", "--prompting", "plain")
    result = cli(*args, "--scoring", "logprob", "--limit", "5", "--out", str(out))
    assert result.code == 0, result.err
    html = (out / "report.html").read_text()
    # over size: the published curve of each checkpoint the run has (8 sizes each), and no other
    assert "published: Pythia step2000" in html and "published: Pythia step143000" in html
    assert "published: Pythia step4000" not in html and "published: Pythia step128000" not in html
    # over training tokens: the run's own model, published at both of the run's checkpoints
    assert "published: pythia-70m" in html
    assert "published: pythia-160m" not in html  # not a model of this run
    assert "memo" not in html.lower()  # the memo-trap reference is another task's
    summary = rows_with_results(out)
    assert {r["reproduction"]["kind"] for r in summary} == {"not comparable"}  # bench's own items
