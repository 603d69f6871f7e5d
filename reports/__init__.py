"""Turn a run directory's samples into summary.json, report.md and report.html. No model is called."""

from __future__ import annotations

from collections.abc import Iterator

from benchmark.rundir import RunDir
from benchmark.schemas import Sample, SummaryRow
from reports.aggregate import summarize
from reports.csv import render_csv
from reports.html import render_html
from reports.markdown import render_markdown
from reports.references import Reference, load_references
from reports.reproduction import with_reproductions
from reports.samples import SampleBrowser

__all__ = ["build_reports", "summarize"]


def build_reports(run: RunDir, references: dict[str, Reference] | None = None) -> list[SummaryRow]:
    """Rebuild summary.json, summary.csv, report.md and report.html. `references`: the published results
    to draw and to hold the run against (None: all of reports/references.yaml; {}: none)."""
    if references is None:
        references = load_references()
    manifest = run.read_manifest()
    browser = SampleBrowser()

    def samples() -> Iterator[Sample]:  # one pass over samples.jsonl feeds the summary and the browser
        for sample in run.iter_samples():
            browser.add(sample)
            yield sample

    rows = with_reproductions(summarize(samples(), manifest), manifest, references)
    run.write_summary(rows)
    run.write_text("report.md", render_markdown(manifest, rows))
    run.write_text("summary.csv", render_csv(rows))
    run.write_text("report.html", render_html(manifest, rows, browser, references))
    return rows
