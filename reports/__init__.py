"""Turn a run directory's samples into summary.json, report.md and report.html. No model is called."""

from __future__ import annotations

from benchmark.rundir import RunDir
from benchmark.schemas import SummaryRow
from reports.aggregate import summarize
from reports.csv import render_csv
from reports.html import render_html
from reports.markdown import render_markdown
from reports.references import Reference

__all__ = ["build_reports", "summarize"]


def build_reports(run: RunDir, reference: Reference | None = None) -> list[SummaryRow]:
    """Rebuild summary.json, summary.csv, report.md and report.html; `reference` only adds published
    curves to the HTML plots."""
    manifest = run.read_manifest()
    samples = list(run.iter_samples())  # read once: the summary and the sample browser both need them
    rows = summarize(samples, manifest)
    run.write_summary(rows)
    run.write_text("report.md", render_markdown(manifest, rows))
    run.write_text("summary.csv", render_csv(rows))
    run.write_text("report.html", render_html(manifest, rows, samples, reference))
    return rows
