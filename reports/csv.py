"""summary.csv: the summary rows for spreadsheets and pandas, continuous measures as metric_* columns."""

from __future__ import annotations

import csv
import io

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
            ["" if data[name] is None else data[name] for name in base]
            + ["" if m not in row.metrics else row.metrics[m] for m in metrics]
        )
    return out.getvalue()
