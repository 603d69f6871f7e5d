"""Published reference curves: drawn on the plots, labelled as published, never in the statistics."""

from __future__ import annotations

import re
from pathlib import Path


def test_reference_overlay_changes_the_plot_and_nothing_else(bench, tmp_path: Path) -> None:
    out = tmp_path / "run"
    args = ["run", "--provider", "scripted", "--model", "calculator@1B", "--task", "word_problems"]
    assert bench(*args, "--limit", "4", "--out", str(out)).code == 0
    summary = (out / "summary.json").read_bytes()
    assert 'class="published"' not in (out / "report.html").read_text()

    result = bench("report", str(out), "--reference", "gsm8k-cot")
    assert result.code == 0, result.err
    html = (out / "report.html").read_text()
    # LaMDA 5+5, GPT-3 4+4, PaLM 3+3 published points, each labelled as published.
    assert html.count('class="published"') == 24
    assert "published: PaLM CoT" in html and "Wei et al. 2022" in html
    assert (out / "summary.json").read_bytes() == summary  # not mixed into the run's statistics

    arithmetic = tmp_path / "arith"
    args = ["run", "--provider", "scripted", "--task", "arithmetic:digits=3,op=-", "--limit", "3"]
    assert bench(*args, "--out", str(arithmetic)).code == 0
    assert bench("report", str(arithmetic), "--reference", "gpt3-arithmetic").code == 0
    html = (arithmetic / "report.html").read_text()
    assert html.count('class="published"') == 1 and "GPT-3 175B 3D-" in html  # only the matching variant


def test_report_md_shows_a_model_label_as_text_not_html(bench, tmp_path: Path) -> None:
    out = tmp_path / "run"
    label = "constant:<img src=x onerror=alert(1)> | **bold** [link](http://x)"
    args = ["--task", "arithmetic", "--prompting", "plain", "--limit", "2", "--out", str(out)]
    assert bench("run", "--provider", "scripted", "--model", label, *args).code == 0
    md = (out / "report.md").read_text()
    assert "<img" not in md and "&lt;img src=x onerror=alert(1)&gt;" in md
    assert "\\| \\*\\*bold\\*\\* \\[link\\](http://x)" in md  # a cell of its own row, not a new column
    row = next(line for line in md.splitlines() if "onerror" in line)
    assert len(re.split(r"(?<!\\)\|", row)) == 9 + 2  # the table's nine cells, none added
