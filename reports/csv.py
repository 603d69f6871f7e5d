"""summary.csv: the summary rows for spreadsheets and pandas (`SummaryRow.flat`): a nested result's
fields as `name.field` columns, continuous measures as metric_* columns; a mapping or a list (task
parameters, reliability bins) as JSON text."""

from __future__ import annotations

import csv
import io
import json

from benchmark.schemas import SummaryRow


def render_csv(rows: list[SummaryRow]) -> str:
    columns = SummaryRow.columns(rows)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        data = row.flat()
        writer.writerow([_cell(data.get(name)) for name in columns])
    return out.getvalue()


def _cell(value: object) -> object:
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return value
