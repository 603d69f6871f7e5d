"""summary.csv: the summary rows for spreadsheets and pandas (`SummaryRow.flat`: continuous measures as
metric_* columns, a mapping or a list as JSON text), then a column per analysis (and axis, for one over
training tokens or compute: `shape@tokens`): the row's own figure where the analysis gives one per model
(a step, a gain), else the one-line result of the curve the row lies on."""

from __future__ import annotations

import csv
import io
import json

from benchmark.schemas import SummaryRow
from reports.aggregate import Summary
from reports.tables import size_axis


def render_csv(summary: Summary) -> str:
    rows = summary.rows
    columns = SummaryRow.columns(rows)
    analyses = _analysis_columns(summary)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns + [_name(name, axis) for name, axis in analyses])
    for row in rows:
        data = row.flat()
        found = _results_of(summary, row)
        writer.writerow([_cell(data.get(name)) for name in columns] + [found.get(c, "") for c in analyses])
    return out.getvalue()


def _name(name: str, axis: str) -> str:
    return name if axis == "params" else f"{name}@{axis}"


def _analysis_columns(summary: Summary) -> list[tuple[str, str]]:
    found: dict[tuple[str, str], None] = {}
    for c in summary.curves:
        for name in c.results:
            found[(name, size_axis(c.curve.id.axis))] = None
    return list(found)


def _results_of(summary: Summary, row: SummaryRow) -> dict[tuple[str, str], str]:
    found: dict[tuple[str, str], str] = {}
    for c in summary.curves_for(row):
        axis = size_axis(c.curve.id.axis)
        for name, record in c.results.items():
            cells = record.cells()
            found[(name, axis)] = cells.get(row.model, "") if cells else record.text
    return found


def _cell(value: object) -> object:
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return value
