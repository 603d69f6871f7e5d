"""Turn a run directory's samples into summary.json, report.md and report.html. No model is called."""

from __future__ import annotations

from collections.abc import Iterator

from benchmark.rundir import RunDir
from benchmark.schemas import Sample, SummaryRow
from reports.aggregate import summarize
from reports.csv import render_csv
from reports.html import render_html
from reports.markdown import render_markdown
from reports.references import Reference
from reports.samples import SampleBrowser

__all__ = ["build_reports", "summarize"]


def build_reports(run: RunDir, reference: Reference | None = None) -> list[SummaryRow]:
    """Rebuild summary.json, summary.csv, report.md and report.html; `reference` only adds published
    curves to the HTML plots."""
    manifest = run.read_manifest()
    browser = SampleBrowser()

    def samples() -> Iterator[Sample]:  # one pass over samples.jsonl feeds the summary and the browser
        for sample in run.iter_samples():
            browser.add(sample)
            yield sample

    rows = summarize(samples(), manifest)
    run.write_summary(rows)
    run.write_text("report.md", render_markdown(manifest, rows))
    run.write_text("summary.csv", render_csv(rows))
    run.write_text("report.html", render_html(manifest, rows, browser, reference))
    return rows
