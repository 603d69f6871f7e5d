"""The summary in a terminal: a table per task variant (chance in its title, each cell accuracy % with
its interval and the extraction failures), then every analysis's lines (the verdicts report.md prints,
without its tables) and each verdict on a published curve. All text goes through `shown`."""

from __future__ import annotations

from rich.table import Table

from benchmark.schemas import SummaryRow
from benchmark.sizes import format_size
from benchmark.terminal import shown, stdout_console
from benchmark.variants import task_label, variant_key
from reports.aggregate import Summary
from reports.tables import group_rows, group_title, pct, verdict_lines

_SHORT_SCORING = {"logprob": "log-prob", "generate": "generated"}


def per_model_tables(rows: list[SummaryRow]) -> list[Table]:
    """One table per task variant: a line per model (by size), a column per prompting condition and
    scoring mode, each cell accuracy % [95% Wilson interval] and, where answers could not be read, how
    many. Narrow enough for 100 columns."""
    tables = []
    for variant in dict.fromkeys((r.task, variant_key(r.task_params)) for r in rows):
        chosen = [r for r in rows if (r.task, variant_key(r.task_params)) == variant]
        columns = list(dict.fromkeys((r.prompting, r.scoring) for r in chosen))
        first = chosen[0]
        title = (
            f"{task_label(first.task, first.task_params)}: accuracy % [95% CI], chance {pct(first.chance)}"
        )
        table = Table(title=shown(title))
        table.add_column("model", overflow="fold")  # a long label wraps whole, never cut short
        table.add_column("params", no_wrap=True)
        table.add_column("family", overflow="fold")
        for prompting, scoring in columns:
            table.add_column(shown(f"{prompting}\n{_SHORT_SCORING[scoring]}"), no_wrap=True)
        models = sorted({(r.params is None, r.params or 0, r.model) for r in chosen})
        for _, _, model in models:
            cells = {(r.prompting, r.scoring): r for r in chosen if r.model == model}
            first = next(iter(cells.values()))
            name = f"{model} (scripted)" if first.scripted else model
            family = " ".join(part for part in (first.family, first.variant) if part)
            table.add_row(
                shown(name), format_size(first.params), shown(family), *(_cell(cells.get(c)) for c in columns)
            )
        tables.append(table)
    return tables


def print_tables(summary: Summary) -> None:
    """The accuracy tables, then the analyses' lines of each table of report.md."""
    out = stdout_console()
    for table in per_model_tables(summary.rows):
        out.print(table)
    for group in group_rows(summary.rows).values():
        lines = verdict_lines(summary, group)
        if lines:
            out.print(shown(group_title(group[0])), style="bold", highlight=False)
        for line in lines:
            out.print("- " + shown(line.before + line.verdict + line.after), highlight=False, soft_wrap=True)


def _cell(row: SummaryRow | None) -> str:
    if row is None or row.accuracy is None or row.ci_low is None or row.ci_high is None:
        return "–"
    text = f"{row.accuracy * 100:.0f} [{row.ci_low * 100:.0f}–{row.ci_high * 100:.0f}]"
    return f"{text} ({row.extraction_failures} unread)" if row.extraction_failures else text
