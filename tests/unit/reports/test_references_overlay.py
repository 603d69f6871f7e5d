"""Published reference curves: drawn on the plots, labelled as published, never in the statistics."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from reports.references import FILE, Curve, ReferenceFile


def test_reference_overlay_changes_the_plot_and_nothing_else(bench, tmp_path: Path) -> None:
    out = tmp_path / "run"
    args = ["run", "--provider", "scripted", "--model", "calculator@1B", "--task", "word_problems"]
    assert bench(*args, "--limit", "4", "--out", str(out)).code == 0
    summary = (out / "summary.json").read_bytes()
    # Drawn by default: GSM8K's published curves as context for bench's own word problems.
    # LaMDA 5+5, GPT-3 4+4, PaLM 3+3 published points, each labelled as published.
    html = (out / "report.html").read_text()
    assert html.count('class="published"') == 24
    assert "published: PaLM CoT" in html and "Wei et al. 2022" in html

    result = bench("report", str(out), "--reference", "none")
    assert result.code == 0, result.err
    assert 'class="published"' not in (out / "report.html").read_text()
    assert (out / "summary.json").read_bytes() == summary  # not mixed into the run's statistics

    assert bench("report", str(out), "--reference", "gsm8k-cot").code == 0
    assert (out / "report.html").read_text().count('class="published"') == 24
    assert (out / "summary.json").read_bytes() == summary

    arithmetic = tmp_path / "arith"
    args = ["run", "--provider", "scripted", "--task", "arithmetic:digits=3,op=-", "--limit", "3"]
    assert bench(*args, "--out", str(arithmetic)).code == 0
    assert bench("report", str(arithmetic), "--reference", "gpt3-arithmetic").code == 0
    html = (arithmetic / "report.html").read_text()
    assert html.count('class="published"') == 1 and "published: GPT-3 3D-" in html  # the matching variant
    assert "(Brown et al. 2020, Language Models are Few-Shot Learners (arXiv:2005.14165), table 3.9" in html
    # ...and where Wei et al. 2022 report 3-digit subtraction emerging, as a marked size.
    assert html.count('class="marker"') == 1 and "3D- emerges at 13B (GPT-3)" in html
    assert "Emergent Abilities of Large Language Models (arXiv:2206.07682), table 1" in html


def test_every_published_number_names_its_source_in_the_file_itself() -> None:
    text = FILE.read_text(encoding="utf-8")
    assert "REFERENCES.md" not in text and "../" not in text  # nothing outside the repository
    data = ReferenceFile.model_validate(yaml.safe_load(text))
    for reference in data.references.values():
        for curve in reference.curves:
            for point in curve.points:
                source = curve.source_of(point)
                if re.match(r"[\w.-]+/[\w.-]+@[0-9a-f]{40}:\S", source):  # an authors' file, at a commit
                    continue
                assert re.search(r"et al\. \d{4}", source), source  # the paper
                assert re.search(r"table|figure|section", source), source  # and where in it
                assert point.plus_minus is None or "read from a figure" in source
        assert all(re.search(r"table|figure|section", m.source) for m in reference.markers)


@pytest.mark.parametrize(
    ("curve", "reason"),
    [
        ({"name": "c", "prompting": "plain", "points": [[1e9, 0.5]]}, "has no source"),
        (
            {"name": "c", "prompting": "plain", "source": "Someone et al. 2020, table 1",
             "points": [{"params": 1e9, "accuracy": 0.5, "plus_minus": 0.05}]},
            "must name the figure",
        ),
    ],
)  # fmt: skip
def test_an_unsourced_number_is_refused(curve: dict, reason: str) -> None:
    with pytest.raises(ValidationError, match=reason):
        Curve.model_validate(curve)


def test_report_md_shows_a_model_label_as_text_not_html(bench, tmp_path: Path) -> None:
    out = tmp_path / "run"
    label = "constant:<img src=x onerror=alert(1)> | **bold** [link](http://x)"
    args = ["--task", "arithmetic", "--prompting", "plain", "--limit", "2", "--out", str(out)]
    assert bench("run", "--provider", "scripted", "--model", label, *args).code == 0
    md = (out / "report.md").read_text()
    assert "<img" not in md and "&lt;img src=x onerror=alert(1)&gt;" in md
    assert "\\| \\*\\*bold\\*\\* \\[link\\](http://x)" in md  # a cell of its own row, not a new column
    row = next(line for line in md.splitlines() if "onerror" in line)
    header = next(line for line in md.splitlines() if line.startswith("| model |"))
    assert len(re.split(r"(?<!\\)\|", row)) == len(header.split("|"))  # the header's cells, none added
