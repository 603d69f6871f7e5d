"""The run directory contract, exercised with the scripted provider."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import pytest

from benchmark.rundir import RunDir
from benchmark.schemas import Manifest, Sample
from tests.helpers.summary import row_objects

FILES = ["manifest.json", "samples.jsonl", "summary.json", "summary.csv", "report.md", "report.html"]


def test_scripted_sweep_writes_all_five_files_ordered_by_size(bench, tmp_path: Path) -> None:
    out = tmp_path / "run"
    # Sizes given largest first: the report must still order them by parameter count.
    result = bench(
        "run",
        "--provider",
        "scripted",
        "--model",
        "calculator@7B",
        "--model",
        "constant: 0@125M",
        "--limit",
        "6",
        "--seed",
        "3",
        "--out",
        str(out),
    )
    assert result.code == 0, result.err
    for name in FILES:
        assert (out / name).is_file(), name

    manifest = Manifest.model_validate_json((out / "manifest.json").read_text())
    assert manifest.seed == 3 and manifest.limit == 6
    assert manifest.command[:2] == ["bench", "run"]
    assert manifest.finished_at is not None and manifest.finished_at >= manifest.started_at
    assert {t.name: t.version for t in manifest.tasks} == {
        "arithmetic": "3",
        "word_problems": "3",
        "hindsight_neglect": "3",
    }
    assert [(m.label, m.params, m.scripted) for m in manifest.models] == [
        ("scripted:calculator@7B", 7_000_000_000, True),
        ("scripted:constant: 0@125M", 125_000_000, True),
    ]

    samples = [Sample.model_validate_json(line) for line in (out / "samples.jsonl").read_text().splitlines()]
    # 2 models × (arithmetic plain + word problems plain, cot, cot_zeroshot + gamble plain scored two
    # ways, cot) × 6 items
    assert len(samples) == 2 * 7 * 6
    keys = {(s.model, s.task, s.prompting, s.scoring, s.item_id) for s in samples}
    assert len(keys) == len(samples)
    assert all(s.scripted for s in samples)
    gamble = [s for s in samples if s.task == "hindsight_neglect" and s.prompting == "plain"]
    by_logprob = [s for s in gamble if s.scoring == "logprob"]
    assert len(by_logprob) == len(gamble) // 2 == 12
    assert all(s.class_logprobs and set(s.class_logprobs) == {" Y", " N"} for s in by_logprob)
    # ...and the same items by their generated answer, the plain baseline of chain of thought.
    assert all(s.response is not None and s.class_logprobs is None for s in gamble if s not in by_logprob)
    # Under chain of thought the answer follows the reasoning, so it is read from generated text.
    gamble_cot = [s for s in samples if s.task == "hindsight_neglect" and s.prompting == "cot"]
    assert all(s.scoring == "generate" and s.response is not None for s in gamble_cot)
    arithmetic = [s for s in samples if s.task == "arithmetic"]
    assert all(s.scoring == "generate" and s.response is not None for s in arithmetic)
    # Continuous measures: digit accuracy and edit distance, and the target's log-prob (scripted
    # models give log-probs: 0.9 on the rule's answer, which for the calculator is the target).
    calc = [s for s in arithmetic if s.model == "scripted:calculator@7B"]
    assert all(s.metrics["digit_accuracy"] == 1.0 and s.metrics["edit_distance"] == 0.0 for s in calc)
    assert all(s.metrics["target_logprob"] == pytest.approx(math.log(0.9)) for s in calc)

    rows = row_objects(out)
    assert len(rows) == 2 * 7
    for row in rows:
        assert row.n == 6 and row.ci_low is not None and row.ci_high is not None
        assert row.accuracy is not None and row.ci_low <= row.accuracy <= row.ci_high
    arith = [r for r in rows if r.task == "arithmetic"]
    assert [r.params for r in arith] == [125_000_000, 7_000_000_000]
    assert [r.accuracy for r in arith] == [0.0, 1.0]  # constant 0 never right, calculator always
    assert arith[1].metrics["digit_accuracy"] == 1.0 and arith[0].metrics["digit_accuracy"] < 0.5
    assert [r.chance for r in rows if r.task == "hindsight_neglect"] == [0.5] * 6

    with open(out / "summary.csv", newline="") as handle:
        table = list(csv.DictReader(handle))
    assert [(r["task"], r["model"], r["accuracy"]) for r in table] == [
        (r.task, r.model, str(r.accuracy)) for r in rows
    ]
    assert "metric_digit_accuracy" in table[0]
    # A column per analysis: the curve's one-line result, or the row's own figure (its step).
    assert all(r["shape"].startswith(row.shape.verdict) for r, row in zip(table, rows, strict=True))
    assert [r["steps"] for r in table] == [
        f"{r.step.estimate * 100:+.0f} [{r.step.low * 100:+.0f}, {r.step.high * 100:+.0f}] points"
        if r.step
        else ""
        for r in rows
    ]

    md = (out / "report.md").read_text()
    assert "Scripted models" in md and "scripted:calculator@7B (scripted)" in md
    html = (out / "report.html").read_text()
    # accuracy per task (3); each continuous measure (7: digit accuracy and edit distance of the two
    # numeric tasks, the target's log-prob of arithmetic and of the trap's log-prob rows, the trap's Brier
    # score); the gain from each chain-of-thought condition (3); the trap's reliability diagram (1)
    assert html.count("<svg") == 14 and html.count('class="reliability"') == 1
    assert (
        html.count("accuracy by model size</title>") == 5
        and html.count("digit accuracy by model size</title>") == 2
        and html.count("gain from guidance by model size</title>") == 3
    )
    assert 'class="chance"' in html and "Scripted models" in html
    assert "<script" not in html and "http://" not in html.replace("http://www.w3.org/2000/svg", "")
    assert "scripted:calculator@7B" in result.out  # the printed per-model table


def test_report_rebuilds_summary_identically(bench, tmp_path: Path) -> None:
    out = tmp_path / "run"
    assert bench("run", "--provider", "scripted", "--limit", "5", "--out", str(out)).code == 0
    before = (out / "summary.json").read_bytes()
    (out / "summary.json").unlink()
    result = bench("report", str(out))
    assert result.code == 0, result.err
    assert (out / "summary.json").read_bytes() == before


def test_generated_answers_score_choice_items_when_provider_has_no_logprobs(tmp_path: Path) -> None:
    from benchmark.rundir import RunDir
    from benchmark.runner import Runner, plan_run
    from benchmark.settings import RunSettings
    from providers.scripted import ScriptedProvider, calculator

    def factory(_provider: str, _model: str | None, _options: object) -> ScriptedProvider:
        return ScriptedProvider(calculator, "calculator-text", params=None, supports_logprobs=False)

    run = RunDir.create(tmp_path / "run")
    settings = RunSettings(provider="scripted", tasks=["hindsight_neglect"], prompting="plain", limit=8)
    Runner(plan_run(settings), run, factory=factory).run()
    run.close()
    samples = list(run.iter_samples())
    assert len(samples) == 8
    assert all(s.scoring == "generate" and s.class_logprobs is None for s in samples)
    assert all(s.correct and s.extracted == s.target for s in samples)


def test_existing_run_is_not_overwritten(bench, tmp_path: Path) -> None:
    out = tmp_path / "run"
    assert bench("run", "--provider", "scripted", "--limit", "2", "--out", str(out)).code == 0
    before = {name: (out / name).read_bytes() for name in FILES}
    result = bench("run", "--provider", "scripted", "--limit", "3", "--out", str(out))
    assert result.code == 2
    assert "already holds a run" in result.err
    assert {name: (out / name).read_bytes() for name in FILES} == before


def test_max_cost_stops_cleanly_before_the_budget_is_exceeded(tmp_path: Path) -> None:
    from benchmark.cost import CHARS_PER_TOKEN, Price, PriceTable
    from benchmark.runner import Runner, plan_run
    from benchmark.settings import RunSettings
    from reports import build_reports
    from tasks import create

    task = create("arithmetic")
    items = task.instances(0, 10, "plain")
    prices = PriceTable(version="test", prices={"calculator": Price(input=1000.0, output=1000.0)})
    per_item = prices.cost("calculator", len(items[0].prompt) // CHARS_PER_TOKEN + 1, items[0].max_tokens)
    assert per_item is not None and per_item > 0
    run = RunDir.create(tmp_path / "run")
    settings = RunSettings(
        provider="scripted", models=["calculator"], tasks=["arithmetic"], limit=10, max_cost=3.5 * per_item
    )
    runner = Runner(plan_run(settings), run, prices=prices)
    runner.run()
    run.close()
    samples = list(run.iter_samples())
    assert len(samples) == 3  # the fourth would have gone over; nothing after it was asked
    assert runner.budget is not None and runner.budget.stopped and "--max-cost" in runner.budget.stopped
    assert runner.budget.spent <= 3.5 * per_item
    rows = build_reports(run).rows
    assert rows[0].n == 3 and rows[0].cost_usd == pytest.approx(sum(s.cost_usd or 0 for s in samples))


def test_cut_off_chains_of_thought_are_counted_apart_and_the_limit_is_recorded(bench, tmp_path: Path) -> None:
    # 150 words of unfinished arithmetic: the reasoning never reaches "The answer is".
    rambling = "constant:" + " ".join(["1 + 1 = 2."] * 40) + " The answer is 2."
    out = tmp_path / "run"
    result = bench("run", "--provider", "scripted", "--model", rambling, "--task", "word_problems",
                   "--limit", "3", "--out", str(out))  # fmt: skip
    assert result.code == 0, result.err
    manifest = Manifest.model_validate_json((out / "manifest.json").read_text())
    assert manifest.tasks[0].max_tokens == {"plain": 12, "cot": 96, "cot_zeroshot": 96}
    samples = [Sample.model_validate_json(x) for x in (out / "samples.jsonl").read_text().splitlines()]
    cot = [s for s in samples if s.prompting != "plain"]
    assert cot and all(s.extraction_failed and s.truncated and s.extracted is None for s in cot)
    assert all(s.completion_tokens == 96 for s in cot)
    # Plain prompting is read as always (its last number), and was not reasoning: never "cut off".
    # (12 words: "1 + 1 = 2. 1 + 1 = 2. 1 + 1")
    assert all(not s.truncated and s.extracted == "1" for s in samples if s.prompting == "plain")
    rows = {r.prompting: r for r in row_objects(out)}
    assert (rows["cot"].extraction_failures, rows["cot"].truncated) == (3, 3)
    assert (rows["plain"].extraction_failures, rows["plain"].truncated) == (0, 0)
    assert "| 3 (3 cut off) |" in (out / "report.md").read_text()
