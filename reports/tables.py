"""Small helpers shared by the renderers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

from benchmark.schemas import PointCheck, Reproduction, SummaryRow
from benchmark.sizes import format_size
from benchmark.variants import VariantKey, condition_label, task_label, variant_key
from reports.aggregate import Summary
from reports.analyses.base import AXIS_NAMES, Axis, CurveResult, VerdictLine
from reports.keys import size_of

GroupKey = tuple[str, VariantKey, str, str]
"""Rows of one table: task, task variant, prompting, scoring mode."""


def group_rows(rows: list[SummaryRow]) -> dict[GroupKey, list[SummaryRow]]:
    """Rows by (task variant, prompting, scoring mode), keeping the order of `rows` (sorted by size)."""
    groups: dict[GroupKey, list[SummaryRow]] = {}
    for row in rows:
        key = (row.task, variant_key(row.task_params), row.prompting, row.scoring)
        groups.setdefault(key, []).append(row)
    return groups


def table_rows(group: list[SummaryRow]) -> list[SummaryRow]:
    """A table's rows curve by curve: each family, model variant and checkpoint together (by size within
    it), so that a step is read next to the size it is taken from, never across families."""
    return sorted(group, key=lambda r: (r.family or "", r.variant or "", r.revision or ""))


def family_text(row: SummaryRow) -> str:
    """`gpt2 base`: the row's family and model variant, or empty."""
    return " ".join(part for part in (row.family, row.variant) if part)


def group_title(row: SummaryRow) -> str:
    """`hindsight_neglect (shots=10, lang=zh-TW) · plain · log-prob`: the task, its variant, the
    prompting condition and the scoring mode."""
    return f"{task_label(row.task, row.task_params)} · {condition_label(row.prompting, row.scoring)}"


def pct(value: float | None) -> str:
    return "–" if value is None else f"{value:.1%}"


def points(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:+.0f}"


def size_text(row: SummaryRow) -> str:
    if row.params is not None:
        return format_size(row.params)
    return f"rank {row.size_rank}" if row.size_rank is not None else "?"


def failures_text(row: SummaryRow) -> str:
    """Extraction failures, with those cut off by the token limit before stating an answer."""
    if row.truncated:
        return f"{row.extraction_failures} ({row.truncated} cut off)"
    return str(row.extraction_failures)


class Column(NamedTuple):
    """A table column an analysis fills, a cell per model (`AnalysisResult.cells`)."""

    name: str
    axis: str
    title: str


def analysis_columns(curves: list[CurveResult]) -> list[Column]:
    """The columns of a table whose rows lie on `curves`: one per analysis and axis with any cell, in
    the order the analyses run."""
    found: dict[Column, None] = {}
    for c in curves:
        for name, record in c.results.items():
            if name in c.columns and record.cells():
                axis = size_axis(c.curve.id.axis)
                qualifier = f" (over {AXIS_NAMES[axis]})" if axis in ("tokens", "compute") else ""
                found[Column(name, axis, c.columns[name] + qualifier)] = None
    return list(found)


def size_axis(axis: Axis) -> Axis:
    """Curves over size -- parameters, rank, or a model alone -- share a column; tokens and compute
    have their own."""
    return axis if axis in ("tokens", "compute") else "params"


def analysis_cell(summary: Summary, column: Column, row: SummaryRow) -> str:
    """The cell of `row` in an analysis column: the result's figure for the row's model, else `–`."""
    for c in summary.curves_for(row):
        if size_axis(c.curve.id.axis) == column.axis and column.name in c.results:
            return c.results[column.name].cells().get(row.model, "–")
    return "–"


def verdict_lines(summary: Summary, group: list[SummaryRow]) -> list[VerdictLine]:
    """The sentences of every analysis on the curves of one table, curve by curve, each led by the
    analysis's title and the curve's name; then the verdicts on published curves."""
    lines: list[VerdictLine] = []
    for c in summary.curves_of(group):
        axis = c.curve.id.axis
        over = f" over {AXIS_NAMES[axis]}" if axis in ("tokens", "compute") else ""
        for name, record in c.results.items():
            label = c.curve.id.label()
            lead = f"{c.titles[name]}{over}{', ' + label if label else ''}: "
            lines += [VerdictLine(lead + line.before, line.verdict, line.after) for line in record.lines()]
    return lines + reproduction_lines(group)


def reproductions_of(group: list[SummaryRow]) -> list[Reproduction]:
    """The distinct reproduction verdicts of a group's rows (one per published curve), in row order."""
    found: dict[tuple[str, str], Reproduction] = {}
    for row in group:
        if row.reproduction is not None:
            found.setdefault((row.reproduction.reference, row.reproduction.curve), row.reproduction)
    return list(found.values())


def reproduction_lines(group: list[SummaryRow]) -> list[VerdictLine]:
    """One line per published curve that the group's models were held against."""
    lines = []
    for found in reproductions_of(group):
        lead = f"Against the published curve {found.curve} ({found.reference}): "
        if found.text.startswith(found.kind):  # the verdict's word in bold, the reasons after it
            lines.append(VerdictLine(lead, found.kind, found.text[len(found.kind) :]))
        else:
            lines.append(VerdictLine(lead + found.text))
    return lines


REPRODUCTION_COLUMNS = (
    "model",
    "params",
    "revision",
    "published (items)",
    "this run [95% CI]",
    "run − published [95% CI]",
    "differs",
)


def reproduction_cells(check: PointCheck) -> tuple[str, ...]:
    """A compared size as table cells, in REPRODUCTION_COLUMNS order."""
    items = f" ({check.published_n})" if check.published_n else ""
    return (
        check.model,
        format_size(int(check.params)),
        check.revision or "",
        f"{pct(check.published)}{items}",
        f"{pct(check.accuracy)} [{pct(check.ci_low)}, {pct(check.ci_high)}] (n={check.n})",
        f"{check.difference * 100:+.1f} [{check.low * 100:+.1f}, {check.high * 100:+.1f}] points",
        "yes" if check.differs else "no",
    )


def _rank(size: float) -> str:
    return f"rank {size:.0f}"


@dataclass(frozen=True)
class Grid:
    """One family's rows of one table laid out by size (rows) and training checkpoint (columns)."""

    name: str
    """The family and model variant, e.g. `pythia-checkpoints base`."""
    sizes: list[tuple[bool, float]]
    """(by rank, size) of each grid row, smallest first."""
    checkpoints: list[tuple[float, str]]
    """(training tokens, revision) of each column, fewest tokens first."""
    cells: dict[tuple[int, int], SummaryRow]
    """The row at (size index, checkpoint index), where the run has one."""

    def size_text(self, index: int) -> str:
        by_rank, size = self.sizes[index]
        return _rank(size) if by_rank else format_size(size)

    def checkpoint_text(self, index: int) -> str:
        tokens, revision = self.checkpoints[index]
        return f"{format_size(tokens)} tokens ({revision})"


def checkpoint_grids(group: list[SummaryRow]) -> list[Grid]:
    """The rows of `group` (one table) that have training tokens, as a size × tokens grid per family and
    model variant; none for rows without tokens."""
    families: dict[tuple[str, str], list[SummaryRow]] = {}
    for row in group:
        if row.tokens is not None and row.revision is not None and size_of(row) is not None:
            families.setdefault((row.family or "", row.variant or ""), []).append(row)
    grids = []
    for (family, variant), rows in families.items():
        sizes = sorted({_place(r) for r in rows})
        checkpoints = sorted({(r.tokens or 0.0, r.revision or "") for r in rows})
        cells = {
            (sizes.index(_place(r)), checkpoints.index((r.tokens or 0.0, r.revision or ""))): r for r in rows
        }
        name = " ".join(part for part in (family, variant) if part) or "models"
        grids.append(Grid(name, sizes, checkpoints, cells))
    return grids


def _place(row: SummaryRow) -> tuple[bool, float]:
    """A row's place on the size axis: (by rank, size)."""
    if row.params is not None:
        return False, float(row.params)
    return True, float(row.size_rank or 0)
