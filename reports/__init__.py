"""Turn a run directory's samples into summary.json, report.md and report.html. No model is called."""

from __future__ import annotations

from collections.abc import Iterator

from benchmark.rundir import RunDir
from benchmark.schemas import Sample
from reports.aggregate import Summary, summarize
from reports.csv import render_csv
from reports.html import render_html
from reports.markdown import render_markdown
from reports.references import Reference, load_references
from reports.reproduction import with_reproductions
from reports.samples import SampleBrowser

__all__ = ["Summary", "build_reports", "summarize"]


def build_reports(run: RunDir, references: dict[str, Reference] | None = None) -> Summary:
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

    summary = summarize(samples(), manifest)
    summary.rows = with_reproductions(summary.rows, manifest, references)
    run.write_summary(summary.dump())
    run.write_text("report.md", render_markdown(manifest, summary))
    run.write_text("summary.csv", render_csv(summary))
    run.write_text("report.html", render_html(manifest, summary, browser, references))
    return summary
