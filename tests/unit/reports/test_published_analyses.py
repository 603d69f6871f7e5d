"""Michaelov & Bergen 2023's published Pythia curves (reports/references.yaml) run through bench's own
analyses (reports/published/through_analyses.py), offline: how published numbers become items, which
curves they make, what every analysis says about the ten prize tasks, and that docs/reproducing.md prints it.

The findings pinned below are what the analyses say with the shipped seed; a change to a statistic
that changes one of them must update docs/reproducing.md's table too (the last test)."""

from __future__ import annotations

import typing
from collections import Counter

import pytest
from pydantic import BaseModel

from reports.analyses.fits import CrossingFit, Predictability, TurnFit
from reports.analyses.fitted import CrossingResult, PredictabilityResult, TurnResult
from reports.analyses.shape import ShapeResult, StepsResult
from reports.analyses.stats import Shape
from reports.published import through_analyses as pub
from tasks.published.catalog import catalog
from tests.helpers.docs import section

TASKS = {
    "isp_hindsight_neglect", "isp_into_the_unknown", "isp_memo_trap", "isp_modus_tollens", "isp_neqa",
    "isp_pattern_matching_suppression", "isp_redefine", "isp_repetitive_algebra",
    "isp_resisting_correction", "isp_sig_figs",
}  # fmt: skip


def _kinds(record: type[BaseModel]) -> set[str]:
    return set(typing.get_args(record.model_fields["kind"].annotation))


@pytest.fixture(scope="module")
def found() -> dict[str, pub.TaskFindings]:
    """Every task's findings, computed once (about 30 s on a busy 2-core machine)."""
    return {f.task: f for f in pub.findings()}


def test_the_pythia_references_are_the_ten_prize_tasks_and_their_chance_is_the_catalogs() -> None:
    references = pub.pythia_references()
    assert len(references) == 10
    assert {r.curves[0].task for r in references.values()} == TASKS
    assert set(pub.AUTHORS_TESTS) == TASKS
    entries = catalog()
    assert {entries[t].chance for t in TASKS} == {pub.CHANCE}


def test_each_published_point_becomes_its_count_of_right_items_of_its_own() -> None:
    references = pub.pythia_references()
    rows, answered = pub.published_rows(references["pythia-hindsight-neglect"])
    assert len(rows) == 64  # 8 sizes x 8 checkpoints
    published = {
        (p.model, p.revision): p for c in references["pythia-hindsight-neglect"].curves for p in c.points
    }
    ids: Counter[str] = Counter()
    for row, outcomes in zip(rows, answered.values(), strict=True):
        point = published[(row.hub_id, row.revision)]
        assert row.n == point.n == len(outcomes) == 315
        assert abs(row.correct / row.n - point.accuracy) < 0.5 / row.n  # the published k/n, recovered
        assert sum(o.correct for o in outcomes) == row.correct
        ids.update(o.item_id for o in outcomes)
    assert max(ids.values()) == 1  # no item shared by two points: nothing is paired
    # at step143000, 12B: 76 of 315 (.241, as REFERENCES.md gives it)
    final = next(r for r in rows if r.hub_id == "EleutherAI/pythia-12b" and r.revision == pub.FINAL)
    assert (final.correct, final.tokens) == (76, 143000 * 2_097_152)


def test_curves_over_size_at_each_checkpoint_and_over_tokens_at_each_size() -> None:
    curves = pub.published_curves(pub.pythia_references()["pythia-neqa"])
    by_axis = Counter(c.id.axis for c in curves)
    assert by_axis == {"params": 8, "tokens": 8}
    assert all(len(c.points) == 8 and c.chance == 0.5 for c in curves)
    revisions = {c.id.revision for c in curves if c.id.axis == "params"}
    assert pub.FINAL in revisions and "step2000" in revisions
    final = next(c for c in curves if c.id.revision == pub.FINAL)
    steps = pub.analyse(final).results["steps"]
    assert isinstance(steps, StepsResult) and len(steps.steps) == 7
    assert not any(s.paired for s in steps.steps)  # sizes compared as independent samples
    # leaving out the other checkpoints (as `findings` does, for time) changes nothing on this curve
    (alone,) = pub.published_curves(pub.pythia_references()["pythia-neqa"], lambda p: p.revision == pub.FINAL)
    assert alone.seed == final.seed
    assert {k: r.text for k, r in pub.analyse(alone).results.items()} == {
        k: r.text for k, r in pub.analyse(final).results.items()
    }


def test_every_task_gets_a_shape_a_crossing_and_a_predictability_of_each_kind_they_may_have(
    found: dict[str, pub.TaskFindings],
) -> None:
    assert set(found) == TASKS
    shapes = set(typing.get_args(Shape))
    for task, f in found.items():
        assert f.over_size.curve.id.revision == pub.FINAL, task
        assert f.over_tokens.curve.id.size == 11846072320, task  # 12B
        for result in (f.over_size, f.over_tokens):
            shape = result.results["shape"]
            crossing = result.results["crossing"]
            predictable = result.results["predictability"]
            assert isinstance(shape, ShapeResult) and shape.verdict in shapes, task
            assert isinstance(crossing, CrossingResult) and crossing.fit is not None, task
            assert crossing.fit.kind in _kinds(CrossingFit), task
            assert isinstance(predictable, PredictabilityResult), task
            assert [p.measure for p in predictable.fits] == ["accuracy"], task  # no continuous measure
            assert predictable.fits[0].kind in _kinds(Predictability), task
            assert predictable.fits[0].sizes == 7, task
            turn = result.results.get("turn")
            assert turn is None or (isinstance(turn, TurnResult) and turn.fit.kind in _kinds(TurnFit))


def _over_size(found: dict[str, pub.TaskFindings], name: str) -> dict[str, str]:
    return {t: pub.kind(f.over_size.results.get(name)) for t, f in found.items()}


def test_what_the_analyses_say_about_the_final_checkpoint_over_size(
    found: dict[str, pub.TaskFindings],
) -> None:
    shapes = _over_size(found, "shape")
    assert {t for t, s in shapes.items() if s == "inverse"} == {"isp_memo_trap"}
    assert {t for t, s in shapes.items() if s == "flat"} == {"isp_into_the_unknown", "isp_neqa"}
    assert {t for t, s in shapes.items() if s == "U-shaped"} == {
        "isp_modus_tollens", "isp_pattern_matching_suppression", "isp_sig_figs",
    }  # fmt: skip
    assert {t for t, s in shapes.items() if s == "inconclusive"} == {
        "isp_hindsight_neglect", "isp_redefine", "isp_repetitive_algebra", "isp_resisting_correction",
    }  # fmt: skip
    # No crossing: where a logistic beats a line by AIC (modus tollens, redefine, resisting correction),
    # the sizes scatter about it far beyond item sampling (lack of fit), so it says inconclusive.
    assert set(_over_size(found, "crossing").values()) == {"inconclusive"}
    turns = _over_size(found, "turn")
    assert {t for t, k in turns.items() if k in ("turns", "bends")} == {"isp_memo_trap"}
    # 12B falls 27 points below the line through the seven smaller sizes on resisting correction only
    predictable = _over_size(found, "predictability")
    assert {t for t, k in predictable.items() if k == "beyond prediction"} == {"isp_resisting_correction"}
    beyond = found["isp_resisting_correction"].over_size.results["predictability"]
    assert isinstance(beyond, PredictabilityResult)
    assert beyond.fits[0].difference_high is not None and beyond.fits[0].difference_high < 0
    # no turn is fitted where accuracy never drops below the smallest size's
    assert _over_size(found, "turn")["isp_resisting_correction"] == "—"


def test_what_the_analyses_say_about_12b_over_training_tokens(found: dict[str, pub.TaskFindings]) -> None:
    shapes = {t: pub.kind(f.over_tokens.results["shape"]) for t, f in found.items()}
    assert {t for t, s in shapes.items() if s == "inverse"} == {"isp_hindsight_neglect", "isp_memo_trap"}
    assert {t for t, s in shapes.items() if s == "flat"} == {"isp_into_the_unknown", "isp_neqa"}
    assert {t for t, s in shapes.items() if s == "U-shaped"} == {"isp_modus_tollens", "isp_sig_figs"}
    predictable = {t: pub.kind(f.over_tokens.results["predictability"]) for t, f in found.items()}
    assert set(predictable.values()) == {"predictable"}


def test_the_readme_prints_what_the_analyses_say(found: dict[str, pub.TaskFindings]) -> None:
    text = section("docs/reproducing.md", "### What the analyses say about Pythia on the prize tasks")
    assert pub.markdown(sorted(found.values(), key=lambda f: f.task)) in text
    assert "python -m reports.published.through_analyses" in text
    assert pub.AUTHORS_FILE in text
