"""summary.csv: the summary rows for spreadsheets and pandas, continuous measures as metric_* columns;
a field that holds a mapping or a list (task parameters, verdicts, reliability bins) as JSON text."""

from __future__ import annotations

import csv
import io
import json

from benchmark.schemas import SummaryRow


def render_csv(rows: list[SummaryRow]) -> str:
    base = [name for name in SummaryRow.model_fields if name != "metrics"]
    metrics = sorted({key for row in rows for key in row.metrics})
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(base + [f"metric_{m}" for m in metrics])
    for row in rows:
        data = row.model_dump()
        writer.writerow(
            [_cell(data[name]) for name in base]
            + ["" if m not in row.metrics else row.metrics[m] for m in metrics]
        )
    return out.getvalue()


def _cell(value: object) -> object:
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return value
