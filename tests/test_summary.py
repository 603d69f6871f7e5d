"""Aggregation of samples into summary rows (reports.aggregate), without running a model."""

from __future__ import annotations

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
    rows = summarize([sample("m", f"{i:05d}", False) for i in range(20)], manifest(ARITHMETIC))
    [row] = rows
    assert row.accuracy == 0.0 and row.ci_low == 0.0
    assert row.ci_high == pytest.approx(0.161, abs=0.001)  # Wilson; a bootstrap gave [0, 0]


def test_every_interval_contains_its_accuracy() -> None:
    samples = [sample("m", f"{i:05d}", i % 3 == 0) for i in range(30)]
    [row] = summarize(samples, manifest(ARITHMETIC))
    assert row.accuracy == pytest.approx(10 / 30)
    assert row.ci_low is not None and row.ci_high is not None
    assert row.ci_low < row.accuracy < row.ci_high
    assert (row.ci_low, row.ci_high) == (pytest.approx(0.1923, abs=1e-4), pytest.approx(0.5122, abs=1e-4))
