"""Scorers (benchmark/scoring.py): each task names one; the built-ins read number, choice and text answers
as bench always has; the measures a report shows, and the one the mirage check reads, are the scorer's
declaration recorded in the manifest; a new answer kind is one scorer of another package (docs/extending.md's
"Write a scorer", run here through `bench run --provider scripted`)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import pytest

from benchmark.errors import BenchError, UsageError
from benchmark.prompting import COT, PLAIN, Exemplars, Prompting, Question, render
from benchmark.schemas import SCHEMA_9_CONTINUOUS, AnswerType, Instance, ScorerInfo, SummaryRow, TaskInfo
from benchmark.scoring import (
    BUILTIN,
    SCORERS,
    ChoiceScorer,
    NumberScorer,
    Score,
    Scorer,
    TextScorer,
    score_generation,
    score_with,
    scorer_named,
)
from reports.analyses.base import Curve, CurveId, Point
from reports.analyses.shape import ContinuousAnalysis
from reports.keys import Outcome
from tasks.base import Task
from tests.helpers.cli import assert_one_line_error
from tests.helpers.packages import _env, _install, readme_package


def _item(answer_type: AnswerType, target: str, step: Prompting = PLAIN, **extra: object) -> Instance:
    question = Question("1", "Q: ?\nA:", answer_type, target, 8, **extra)  # type: ignore[arg-type]
    return next(render("t", step, Exemplars(), [question]))


# -- the built-ins ---------------------------------------------------------------------------------


def test_each_answer_type_has_its_built_in_scorer_under_its_own_name() -> None:
    assert set(BUILTIN) == set(AnswerType.__args__)  # type: ignore[attr-defined]
    assert {name: SCORERS[name] for name in BUILTIN} == {
        "number": NumberScorer,
        "choice": ChoiceScorer,
        "text": TextScorer,
    }


def test_the_number_scorer_returns_the_measures_it_declares() -> None:
    score = NumberScorer().score(_item("number", "1053"), " The answer is 1,043.")
    assert (score.extracted, score.correct) == ("1043", False)
    assert score.metrics == {"digit_accuracy": 0.75, "edit_distance": 0.25}
    assert set(score.metrics) == set(NumberScorer.metrics) and NumberScorer.continuous == "digit_accuracy"
    # Runs that record no scorer were scored by it alone: their continuous measure is its.
    assert SCHEMA_9_CONTINUOUS == NumberScorer.continuous


def test_choice_and_text_scorers_read_a_class_and_a_first_line_and_declare_no_measures() -> None:
    choice = _item("choice", " Y", classes=(" Y", " N"), answer_index=0)
    assert ChoiceScorer().score(choice, " Y, because").correct
    assert ChoiceScorer().score(choice, "The answer is N").extracted == " N"
    assert ChoiceScorer().score(choice, " maybe").extraction_failed
    text = _item("text", " Paris ")
    assert TextScorer().score(text, "\n  Paris \nmore").correct
    assert TextScorer().score(text, "   \n").extraction_failed
    assert ChoiceScorer.metrics == TextScorer.metrics == {} and ChoiceScorer.continuous is None


def test_a_cut_off_chain_of_thought_scores_as_no_answer_with_the_measures_of_none() -> None:
    cot = _item("number", "42", COT)
    cut = score_with(NumberScorer(), cot, " First 12 plus 30 is", cut_off=True)
    assert (cut.extracted, cut.correct, cut.truncated) == (None, False, True)
    assert cut.metrics == {"digit_accuracy": 0.0, "edit_distance": 1.0}
    stated = score_with(NumberScorer(), cot, " 12 plus 30. The answer is 42", cut_off=True)
    assert stated.correct and not stated.truncated


def test_score_generation_scores_with_the_built_in_of_the_answer_type() -> None:
    for item, response in ((_item("number", "7"), " 7"), (_item("text", "ok"), "ok")):
        mine = score_generation(item, response)
        assert mine == BUILTIN[item.answer_type]().score(item, response) and mine.correct


# -- a task names its scorer -------------------------------------------------------------------------


class _Named(Task):
    name = "named"
    version = "1"
    description = "a number task read as text"
    answer_type = "number"
    chance = 0.0

    def questions(self, seed: int, limit: int | None) -> Iterator[Question]:
        yield Question("1", "Q: 2 + 2?\nA:", "number", "4", 8)


def test_a_task_is_scored_by_its_answer_types_scorer_unless_it_names_another() -> None:
    task = _Named()
    assert isinstance(task.answer_scorer(), NumberScorer)
    task.scorer = "text"
    assert isinstance(task.answer_scorer(), TextScorer)
    assert task.info(["plain"]).scorer == ScorerInfo(name="text", metrics={}, continuous=None)
    task.scorer = "nonesuch"
    with pytest.raises(UsageError, match=r"unknown scorer 'nonesuch'; choose one of: choice, number, text"):
        task.info(["plain"])
    with pytest.raises(UsageError, match="unknown scorer"):
        scorer_named("nonesuch")


def test_the_manifest_records_the_declaration_and_old_manifests_still_load() -> None:
    info = _Named().info(["plain"])
    assert info.scorer is not None and info.scorer.metrics == dict(NumberScorer.metrics)
    assert TaskInfo.model_validate_json(info.model_dump_json()) == info
    old = TaskInfo.model_validate({"name": "arithmetic", "version": "3", "promptings": [], "chance": 0})
    assert old.scorer is None and old.continuous_measure() == "digit_accuracy"
    assert info.model_copy(update={"scorer": TextScorer.info()}).continuous_measure() is None


# -- what a scorer of another package may not do ------------------------------------------------------


class _Undeclared(Scorer):
    name = "undeclared"

    def score(self, instance: Instance, response: str) -> Score:
        return Score(response, True, metrics={"closeness": 0.5})


class _Broken(Scorer):
    name = "broken"
    metrics: ClassVar[dict[str, str]] = {"closeness": "how close"}

    def score(self, instance: Instance, response: str) -> Score:
        if response == "nan":
            return Score(response, True, metrics={"closeness": float("nan")})
        return Score(None, {}["missing"])


def test_a_scorer_that_fails_or_returns_what_it_does_not_declare_is_an_error_naming_it() -> None:
    item = _item("text", "x")
    with pytest.raises(BenchError, match=r"'undeclared' returned closeness, which it does not declare"):
        score_with(_Undeclared(), item, "x")
    with pytest.raises(BenchError, match=r"scorer 'broken' returned closeness = nan: a measure is a finite"):
        score_with(_Broken(), item, "nan")
    with pytest.raises(BenchError, match=r"scorer 'broken' failed on item '1' of t: KeyError: 'missing'"):
        score_with(_Broken(), item, "x")


# -- reports read the declaration ---------------------------------------------------------------------


def _row(model: str, params: int, correct: int, n: int, metrics: dict[str, float]) -> SummaryRow:
    return SummaryRow(
        task="t", task_version="1", prompting="plain", model=model, provider="scripted", params=params,
        scripted=True, n=n, correct=correct, accuracy=correct / n, ci_low=None, ci_high=None, chance=0.0,
        extraction_failures=0, errors=0, scoring="generate", metrics=metrics,
    )  # fmt: skip


def _jump_curve(task: TaskInfo | None) -> Curve:
    """Accuracy 0, 0, 100% over three sizes of 40 items, while `closeness` and `digit_accuracy`
    (both on every row) rise steadily."""
    points = []
    for i, (params, correct) in enumerate(((10**8, 0), (10**9, 0), (10**10, 40))):
        measures = {"closeness": 0.3 + 0.3 * i, "digit_accuracy": 0.5}
        outcomes = [Outcome(str(k), k < correct, None, measures) for k in range(40)]
        points.append(Point(float(params), _row(f"m{i}", params, correct, 40, measures), outcomes))
    identity = CurveId(task="t", prompting="plain", scoring="generate", axis="params")
    return Curve(identity, 0.0, tuple(points), seed=1, run_seed=0, task=task)


def test_the_mirage_check_reads_the_measure_the_tasks_scorer_declares() -> None:
    declared = ScorerInfo(name="closeness", metrics={"closeness": "how close"}, continuous="closeness")
    task = TaskInfo(name="t", version="1", promptings=["plain"], chance=0.0, scorer=declared)
    found = ContinuousAnalysis().analyse(_jump_curve(task))
    assert found is not None and found.compared and "closeness rises" in found.text, found
    # The same rows under a scorer that declares no such measure, or a task the run does not list: none.
    undeclared = task.model_copy(update={"scorer": declared.model_copy(update={"continuous": None})})
    assert ContinuousAnalysis().analyse(_jump_curve(undeclared)) is None
    assert ContinuousAnalysis().analyse(_jump_curve(None)) is None
    # A run of schema 9 records no scorer: digit accuracy, as then (constant here: no smooth rise).
    old = ContinuousAnalysis().analyse(_jump_curve(task.model_copy(update={"scorer": None})))
    assert old is not None and "digit accuracy" in old.text and "closeness" not in old.text


# -- a new answer kind is one scorer of another package (docs/extending.md, "Write a scorer") ----------


def _run(bench, out: Path, env: dict[str, str]) -> object:
    return bench(
        "run", "--provider", "scripted", "--model", "constant: 11 and 7@1B", "--model", "calculator@2B",
        "--task", "factors", "--limit", "30", "--out", str(out), env=env,
    )  # fmt: skip


def test_the_readme_scorer_scores_a_task_of_another_package(bench, tmp_path: Path) -> None:
    files, groups = readme_package("Write a scorer")
    assert set(files) == {"bench_factors/scorer.py", "bench_factors/task.py"}
    site = tmp_path / "site"
    _install(site, "bench-factors", files, groups)
    out = tmp_path / "run"
    result = _run(bench, out, _env(site))
    assert result.code == 0, result.err

    samples = [json.loads(line) for line in (out / "samples.jsonl").read_text().splitlines()]
    constant = [s for s in samples if s["model"] == "scripted:constant: 11 and 7@1B"]
    assert len(constant) == 30
    for s in constant:
        wanted = set(s["target"].split())
        assert (s["extracted"], s["correct"]) == ("11 7", wanted == {"7", "11"})  # in any order
        assert s["metrics"] == {"found": len(wanted & {"7", "11"}) / 2}
    assert {s["correct"] for s in constant} == {True, False}  # seed 0 asks for 7 × 11 and others
    others = [s for s in samples if s not in constant]  # the calculator does not know: no numbers
    assert others and all(s["extraction_failed"] and s["metrics"] == {"found": 0.0} for s in others)

    [task] = json.loads((out / "manifest.json").read_text())["tasks"]
    assert task["scorer"] == {
        "name": "number_set",
        "metrics": {"found": "share of the target's numbers that the answer names"},
        "continuous": "found",
    }
    rows = json.loads((out / "summary.json").read_text())["rows"]
    [row] = [r for r in rows if r["model"] == "scripted:constant: 11 and 7@1B"]
    assert row["metrics"] == {"found": pytest.approx(sum(s["metrics"]["found"] for s in constant) / 30)}
    assert "found by model size" in (out / "report.html").read_text()
    shown = bench("tasks", "show", "factors", env=_env(site))
    assert shown.code == 0 and "answers: text, scored by number_set (found)" in shown.out

    # Without the scorer's package the task cannot be scored: one line before anything runs.
    del groups["bench.scorers"]
    bare = tmp_path / "bare"
    _install(bare, "bench-factors", files, groups)
    refused = _run(bench, tmp_path / "refused", _env(bare))
    assert_one_line_error(refused, "unknown scorer 'number_set'; choose one of: choice, number, text")
    assert not (tmp_path / "refused" / "samples.jsonl").exists()


def test_a_scorer_of_another_package_that_fails_is_one_line_naming_it(bench, tmp_path: Path) -> None:
    files, groups = readme_package("Write a scorer")
    files["bench_factors/scorer.py"] = files["bench_factors/scorer.py"].replace(
        "found = len(", "found = 1 / 0 + len("
    )
    site = tmp_path / "site"
    _install(site, "bench-factors", files, groups)
    result = _run(bench, tmp_path / "run", _env(site))
    # The progress lines before it, then one line naming the scorer and the item (no traceback).
    assert result.code == 2 and "Traceback" not in result.err, result.err
    errors = [line for line in result.err.splitlines() if "error" in line.lower()]
    assert errors == [
        "bench: error: scorer 'number_set' failed on item '0' of factors: ZeroDivisionError: division by zero"
    ]
