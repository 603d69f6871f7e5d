"""What tests read from a run directory and how they start and wait for `bench` processes, shared by the
unit and e2e tests (no test module imports another's helpers)."""

from __future__ import annotations

import asyncio
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from benchmark.schemas import Sample
from providers.base import GenerateRequest, ScoreRequest
from tests.conftest import ROOT, bench_argv, bench_env

Key = tuple[str, str, str, str, str]


def sample_key(sample: Sample) -> Key:
    """What makes a sample one item of one condition of one model."""
    return (sample.model, sample.task, sample.prompting, sample.scoring, sample.item_id)


def complete_samples(out: Path) -> list[Sample]:
    """The samples a resume will keep: complete lines only."""
    file = out / "samples.jsonl"
    if not file.exists():
        return []
    data = file.read_bytes()
    return [Sample.model_validate_json(line) for line in data[: data.rfind(b"\n") + 1].splitlines()]


def popen_bench(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """`bench ARGS` as a process of its own (this checkout's code), its output appended to `log`."""
    with open(log, "ab") as sink:
        return subprocess.Popen(bench_argv(*args), cwd=ROOT, env=bench_env(env), stdout=sink, stderr=sink)


def wait_for(condition: Callable[[], object], what: str, limit: float = 120.0) -> None:
    """Poll `condition` until it holds; fail naming `what` after `limit` seconds."""
    deadline = time.monotonic() + limit
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def engine_answers(provider: object) -> tuple[list[tuple[float, ...]], list[str]]:
    """Class log-probs and greedy answers of a few trap and arithmetic items (the numbers that must not
    move with the thread count)."""
    import tasks

    items = tasks.create("hindsight_neglect").instances(0, 4, "plain") + tasks.create("arithmetic").instances(
        0, 4, "plain"
    )
    score = [ScoreRequest(i.prompt, tuple(i.classes or (" 1", " 12")), i.shared_prefix) for i in items]
    generate = [GenerateRequest(i.prompt, 12, tuple(i.stop), i.shared_prefix) for i in items]
    scored = asyncio.run(provider.score_many(score))  # type: ignore[attr-defined]
    texts = asyncio.run(provider.generate_many(generate))  # type: ignore[attr-defined]
    return [s.logprobs for s in scored], [g.text for g in texts]
