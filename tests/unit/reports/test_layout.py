"""Reports a reader can read: conditions side by side, a terminal table in 100 columns, the reliability
diagram beside the Brier score and ECE."""

from __future__ import annotations

import io
import re
from pathlib import Path

from rich.console import Console

from benchmark.schemas import SummaryRow
from reports.terminal import per_model_tables
from tests.helpers.summary import row_objects, rows_with_results

MODELS = ["--model", "calculator@1B", "--model", "constant: Y@100M"]


def _run(bench, out: Path, *args: str) -> list[SummaryRow]:
    result = bench("run", "--provider", "scripted", *args, "--out", str(out))
    assert result.code == 0, result.err
    return row_objects(out)


def test_conditions_at_one_size_stand_side_by_side(bench, tmp_path: Path) -> None:
    out = tmp_path / "run"
    _run(bench, out, *MODELS, "--task", "hindsight_neglect", "--limit", "6")
    html = (out / "report.html").read_text()
    first_plot = html[html.index("<svg") : html.index("</svg>")]
    points = re.findall(r'<circle class="point" cx="([\d.]+)" cy="[\d.]+" r="4" fill="(#\w+)">', first_plot)
    # Three curves (plain by log-prob, plain by generated answer, cot) at each of two sizes, here all
    # at the same accuracy: each curve its own column, 7 pixels apart, none hidden under another.
    assert len(points) == 6
    xs = sorted(float(x) for x, _ in points)
    assert len(set(xs)) == 6
    for size in (xs[:3], xs[3:]):
        assert [round(b - a, 1) for a, b in zip(size, size[1:], strict=False)] == [7.0, 7.0]
    assert "side by side" in html


def test_the_terminal_table_is_readable_in_100_columns(bench, tmp_path: Path) -> None:
    family = tmp_path / "long.yaml"
    family.write_text(
        "name: long\nversion: '1'\ndescription: d\nsource: s\nmembers:\n"
        "  - {provider: scripted, model: 'cot:outcome/calculator@100M', params: 100M, variant: base}\n"
        "  - {provider: scripted, model: 'cot:calculator/outcome@100B', params: 100B, variant: base}\n"
    )
    rows = _run(bench, tmp_path / "run", "--family", str(family), "--limit", "4")
    console = Console(width=100, file=io.StringIO(), record=True)
    for table in per_model_tables(rows):
        console.print(table)
    text = console.export_text()
    assert max(len(line) for line in text.splitlines()) <= 100
    for row in rows:  # every cell whole, on one line
        assert row.accuracy is not None and row.ci_low is not None and row.ci_high is not None
        cell = f"{row.accuracy * 100:.0f} [{row.ci_low * 100:.0f}–{row.ci_high * 100:.0f}]"
        assert cell in text
    assert "scripted:cot:calculator/outcome@100B" in text  # long labels wrap, never cut short
    assert text.count(": accuracy % [95% CI]") == 3  # a table per task variant
    assert "hindsight_neglect (shots=10, lang=en)" in text


def test_a_reliability_diagram_stands_beside_brier_and_ece(bench, tmp_path: Path) -> None:
    out = tmp_path / "run"
    _run(bench, out, *MODELS, "--task", "hindsight_neglect", "--prompting", "plain", "--limit", "10")
    html = (out / "report.html").read_text()
    assert html.count('class="reliability"') == 1  # the log-prob rows only
    diagram = html[html.index('class="reliability"') :]
    diagram = diagram[: diagram.index("</svg>")]
    assert "scripted:calculator@1B: Brier 0.010, ECE 0.100" in diagram
    assert diagram.count('class="bin"') == 2 and 'class="diagonal"' in diagram
    rows = rows_with_results(out)
    [calculator] = [r for r in rows if r["scoring"] == "logprob" and r["params"] == 10**9]
    bins = calculator["calibration"]["reliability"]
    assert bins == [
        {"lower": 0.9, "upper": 1.0, "count": 10, "confidence": bins[0]["confidence"], "accuracy": 1.0},
    ]
    assert abs(bins[0]["confidence"] - 0.9) < 1e-9
