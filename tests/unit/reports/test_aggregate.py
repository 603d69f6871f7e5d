"""Aggregation of samples into summary rows (reports.aggregate), without running a model."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import pytest

from benchmark.schemas import Manifest, Sample, TaskInfo
from reports import summarize


def manifest(*tasks: TaskInfo) -> Manifest:
    return Manifest(
        tool_version="test",
        command=["bench", "run"],
        seed=0,
        limit=None,
        tasks=list(tasks),
        models=[],
        started_at=datetime(2026, 1, 1, tzinfo=UTC),
    )


def sample(model: str, item: str, correct: bool, params: int | None = None, **fields: object) -> Sample:
    values: dict[str, object] = {
        "model": model,
        "provider": "scripted",
        "params": params,
        "scripted": True,
        "task": "arithmetic",
        "task_version": "3",
        "prompting": "plain",
        "item_id": item,
        "prompt": f"Q: {item}?",
        "response": "1" if correct else "2",
        "extracted": "1" if correct else "2",
        "target": "1",
        "correct": correct,
        "extraction_failed": False,
        "scoring": "generate",
        "latency_s": 0.0,
    }
    values.update(fields)
    return Sample.model_validate(values)


ARITHMETIC = TaskInfo(name="arithmetic", version="3", promptings=["plain"], chance=0.0)


def test_no_correct_answer_in_20_is_not_a_certainty() -> None:
    [row] = summarize([sample("m", f"{i:05d}", False) for i in range(20)], manifest(ARITHMETIC)).rows
    assert row.accuracy == 0.0 and row.ci_low == 0.0
    assert row.ci_high == pytest.approx(0.161, abs=0.001)  # Wilson; a bootstrap gave [0, 0]


def test_every_interval_contains_its_accuracy() -> None:
    samples = [sample("m", f"{i:05d}", i % 3 == 0) for i in range(30)]
    [row] = summarize(samples, manifest(ARITHMETIC)).rows
    assert row.accuracy == pytest.approx(10 / 30)
    assert row.ci_low is not None and row.ci_high is not None
    assert row.ci_low < row.accuracy < row.ci_high
    assert (row.ci_low, row.ci_high) == (pytest.approx(0.1923, abs=1e-4), pytest.approx(0.5122, abs=1e-4))


HINDSIGHT = TaskInfo(
    name="hindsight_neglect",
    version="3",
    promptings=["plain", "cot"],
    chance=0.5,
    params={"shots": "10", "lang": "en"},
)


def choice(model: str, item: str, prompting: str, scoring: str, correct: bool, params: int) -> Sample:
    answer = " N" if correct else " Y"
    return sample(
        model, item, correct, params, task="hindsight_neglect", task_params={"shots": "10", "lang": "en"},
        prompting=prompting, scoring=scoring, target=" N", extracted=answer,
        response=None if scoring == "logprob" else answer,
        class_logprobs={" Y": -2.0, " N": -0.2} if scoring == "logprob" and correct else None,
    )  # fmt: skip


def test_the_cot_gain_is_against_plain_scored_the_same_way_and_modes_are_never_pooled() -> None:
    samples = []
    for size, model in [(10**8, "small"), (10**9, "big")]:
        for i in range(30):
            item = f"{i:05d}"
            samples.append(choice(model, item, "plain", "logprob", True, size))  # log-probs: all right
            # its text: all wrong for the small model, all right for the big one
            samples.append(choice(model, item, "plain", "generate", model == "big", size))
            samples.append(choice(model, item, "cot", "generate", True, size))
    summary = summarize(samples, manifest(HINDSIGHT))
    rows = summary.rows
    assert [(r.prompting, r.scoring, r.model, r.n) for r in rows] == [
        ("plain", "logprob", "small", 30), ("plain", "logprob", "big", 30),
        ("plain", "generate", "small", 30), ("plain", "generate", "big", 30),
        ("cot", "generate", "small", 30), ("cot", "generate", "big", 30),
    ]  # fmt: skip
    [cot] = [c for c in summary.curves if c.curve.id.prompting == "cot"]
    gains = {g.model: g for g in cot.results["cot"].gains}  # type: ignore[attr-defined]
    # Against plain by generated answer (0/30), not by log-prob (30/30, which would say +0).
    assert gains["small"].estimate == 1.0 and gains["small"].p < 1e-6
    assert gains["big"].estimate == 0.0 and gains["big"].p == 1.0
    # Each curve is one mode: the log-prob curve is level, the generated-answer curve rises.
    shapes = {(c.curve.id.prompting, c.curve.id.scoring): c.results["shape"].verdict for c in summary.curves}  # type: ignore[attr-defined]
    assert shapes[("plain", "logprob")] == "inconclusive"
    assert shapes[("plain", "generate")] == "monotone up"


def test_log_prob_rows_carry_their_reliability_diagram() -> None:
    samples = [choice("m", f"{i:05d}", "plain", "logprob", i < 8, 10**9) for i in range(10)]
    # Right: " N" at 0.858 (softmax of -0.2 and -2.0); wrong: " Y" put first, tied classes at 0.5.
    samples = [
        s if s.correct else s.model_copy(update={"class_logprobs": {" Y": -1.0, " N": -1.0}}) for s in samples
    ]
    summary = summarize(samples, manifest(HINDSIGHT))
    [found] = summary.result(summary.rows[0], "calibration").models  # type: ignore[union-attr]
    bins = found.reliability
    assert [(b.lower, b.count, b.accuracy) for b in bins] == [(0.5, 2, 0.0), (0.8, 8, 1.0)]
    assert bins[1].confidence == pytest.approx(1 / (1 + math.exp(-1.8)))
    expected = sum(b.count / 10 * abs(b.accuracy - b.confidence) for b in bins)
    assert found.ece == pytest.approx(expected)


def test_samples_from_before_variants_take_the_manifests_variant_and_no_cross_mode_gain() -> None:
    old = [choice("m", f"{i:05d}", "plain", "logprob", True, 10**9) for i in range(5)]
    old += [choice("m", f"{i:05d}", "cot", "generate", False, 10**9) for i in range(5)]
    old = [s.model_copy(update={"task_params": {}}) for s in old]  # schema 2 recorded no variant
    summary = summarize(old, manifest(HINDSIGHT))
    rows = summary.rows
    assert [(r.task_params, r.prompting, r.chance) for r in rows] == [
        (HINDSIGHT.params, "plain", 0.5), (HINDSIGHT.params, "cot", 0.5),
    ]  # fmt: skip
    assert (
        summary.result(rows[1], "cot") is None
    )  # no plain row scored by generated answer: no cross-mode gain
