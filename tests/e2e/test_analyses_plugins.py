"""Analyses plug in (reports/analyses): docs/extending.md's "Write an analysis" example, installed as
another package's entry point, reaches every report without a change to bench; a failing one is one line."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from tests.helpers.cli import assert_one_line_error
from tests.helpers.packages import _env, _install, readme_package


def _scripted_run(bench, out: Path, env: dict[str, str]) -> object:
    return bench(
        "run", "--provider", "scripted", "--model", "constant: 0@100M", "--model", "calculator@1B",
        "--task", "arithmetic", "--prompting", "plain", "--limit", "4", "--out", str(out), env=env,
    )  # fmt: skip


def test_the_readme_analysis_reaches_every_report(bench, tmp_path: Path) -> None:
    files, groups = readme_package("Write an analysis")
    assert set(groups) == {"bench.analyses"}
    site = tmp_path / "site"
    _install(site, "bench-spread", files, groups)
    out = tmp_path / "run"
    result = _scripted_run(bench, out, _env(site))
    assert result.code == 0, result.err
    said = "0% to 100% across 2 sizes"
    summary = json.loads((out / "summary.json").read_text())
    [curve] = [c for c in summary["curves"] if "spread" in c["results"]]
    spread = curve["results"]["spread"]
    assert (spread["type"], spread["text"], spread["low"], spread["high"]) == ("SpreadResult", said, 0.0, 1.0)
    assert [p["model"] for p in curve["points"]] == ["scripted:constant: 0@100M", "scripted:calculator@1B"]
    assert f"Spread of accuracy: {said}" in (out / "report.md").read_text()
    assert f"Spread of accuracy: {said}" in (out / "report.html").read_text()
    with open(out / "summary.csv", newline="") as handle:
        assert {row["spread"] for row in csv.DictReader(handle)} == {said}
    assert said in result.out  # the terminal's lines after the tables
    # Without the package the same run has no such result: it came from the entry point alone.
    plain = bench("report", str(out))
    assert plain.code == 0 and said not in (out / "report.md").read_text()


FAILING = """
from reports.analyses.base import Analysis


class Broken(Analysis):
    name = "broken"
    title = "Broken"

    def analyse(self, curve):
        return {}["missing"]
"""


def test_an_analysis_that_fails_is_one_line_naming_it(bench, tmp_path: Path) -> None:
    site = tmp_path / "site"
    _install(
        site,
        "bench-broken",
        {"bench_broken.py": FAILING},
        {"bench.analyses": {"broken": "bench_broken:Broken"}},
    )
    out = tmp_path / "run"
    assert _scripted_run(bench, out, {}).code == 0
    failed = bench("report", str(out), env=_env(site))
    assert_one_line_error(failed, "analysis 'broken' (bench_broken) failed on the curve", "KeyError")


def _logistic_run(tmp_path: Path) -> Path:
    """A stored run of a family of 8 sizes (100M to 1T) whose accuracy rises as a logistic with its
    midpoint at 10B, at 4 checkpoints (the last trained 8 times as long), 200 items a size."""
    from datetime import UTC, datetime

    import numpy as np

    from benchmark.rundir import RunDir
    from benchmark.schemas import Manifest, Sample, TaskInfo

    rng = np.random.default_rng(5)
    task = TaskInfo(name="arithmetic", version="3", promptings=["plain"], chance=0.0, params={"digits": "2"})
    lines = []
    for step in (1, 2, 4, 8):
        for u in np.linspace(8, 12, 8):
            p = 1 / (1 + np.exp(-3 * (u - 10 - np.log10(8 / step))))
            for i in range(200):
                lines.append(Sample.model_validate({
                    "model": f"toy-{u:.2f}@step{step}", "provider": "scripted", "params": int(10**u),
                    "scripted": True, "family": "toy", "variant": "base", "revision": f"step{step}",
                    "tokens": step * 1e10, "task": "arithmetic", "task_params": {"digits": "2"},
                    "task_version": "3", "prompting": "plain", "item_id": f"{i:03d}", "prompt": "Q",
                    "response": "1", "extracted": "1", "target": "1", "correct": bool(rng.random() < p),
                    "extraction_failed": False, "scoring": "generate", "latency_s": 0.0,
                }).model_dump_json())  # fmt: skip
    out = tmp_path / "run"
    run = RunDir.create(out)
    started = datetime(2026, 12, 7, tzinfo=UTC)
    manifest = Manifest(tool_version="test", command=["bench"], seed=0, limit=200, tasks=[task], models=[],
                        started_at=started)  # fmt: skip
    run.write_manifest(manifest)
    (out / "samples.jsonl").write_text("\n".join(lines) + "\n")
    run.release()
    return out


def test_fits_are_reported_and_drawn_as_fitted_along_size_tokens_and_compute(bench, tmp_path: Path) -> None:
    out = _logistic_run(tmp_path)
    result = bench("report", str(out), "--reference", "none")
    assert result.code == 0, result.err
    curves = json.loads((out / "summary.json").read_text())["curves"]
    final = next(c for c in curves if c["curve"]["axis"] == "params" and c["curve"]["revision"] == "step8")
    crossing = final["results"]["crossing"]["fit"]
    assert crossing["kind"] == "fitted" and crossing["midpoint_low"] < 1e10 < crossing["midpoint_high"]
    assert final["results"]["predictability"]["fits"][0]["measure"] == "accuracy"
    axes = {c["curve"]["axis"] for c in curves if "crossing" in c["results"]}
    assert axes == {"params", "tokens", "compute"}  # and the size-rank or no-size curves get none
    md = (out / "report.md").read_text()
    assert "Crossing (logistic fit), toy base at step8: **fitted**: crosses halfway at" in md
    assert "Crossing (logistic fit) over training compute, toy base at step8" in md
    html = (out / "report.html").read_text()
    # Over size at the last checkpoint and over tokens at the largest size: the fitted logistic in its
    # band, the crossing size marked, the prediction at the largest size; each labelled as fitted.
    assert "fitted: toy base at step8 · plain · generated answer · logistic" in html
    assert "fitted: toy base at 1T · plain · generated answer · predicted from the smaller sizes" in html
    assert "fitted: toy base at step8 · plain · generated answer · logistic: crosses halfway" in html
    assert html.count('<g class="fitted">') >= 3
