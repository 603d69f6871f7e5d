"""report.md: per-task, per-prompting tables of accuracy by model size."""

from __future__ import annotations

import html
import re

from benchmark.schemas import Manifest, Reproduction
from benchmark.variants import SCORING_NAMES
from reports.aggregate import Summary
from reports.analyses.base import VerdictLine
from reports.tables import (
    REPRODUCTION_COLUMNS,
    Grid,
    analysis_cell,
    analysis_columns,
    checkpoint_grids,
    failures_text,
    family_text,
    group_rows,
    group_title,
    pct,
    reproduction_cells,
    reproductions_of,
    size_text,
    table_rows,
    verdict_lines,
)


def render_markdown(manifest: Manifest, summary: Summary) -> str:
    rows = summary.rows
    lines = ["# bench report", ""]
    lines.append(
        f"Seed {manifest.seed}, limit {manifest.limit}, bench {manifest.tool_version}, "
        f"started {manifest.started_at:%Y-%m-%d %H:%M:%S} UTC."
    )
    lines.append("")
    if any(m.scripted for m in manifest.models):
        lines += [
            "> **Scripted models** (marked *scripted*) answer by a fixed rule for testing; "
            "they are not language models and their numbers say nothing about scaling.",
            "",
        ]
    for model in (m for m in manifest.models if m.error):
        lines += [f"> **Not run: {_cell(model.label)}**: {_cell(model.error or '')}", ""]
    for group in group_rows(rows).values():
        first = group[0]
        lines += [
            f"## {_cell(group_title(first))}",
            "",
            f"Chance: {pct(first.chance)}. Scored by {SCORING_NAMES[first.scoring]}; 95% CI: Wilson.",
            "",
        ]
        curves = summary.curves_of(group)
        columns = analysis_columns(curves)
        families = any(r.family for r in group)
        lines.append(
            "| model | "
            + ("family | " if families else "")
            + "params | n | accuracy | 95% CI | "
            + "".join(f"{_cell(c.title)} | " for c in columns)
            + "extraction failures (cut off) | errors |"
        )
        lines.append(
            "|---|"
            + ("---|" if families else "")
            + "---:|---:|---:|---|"
            + "---|" * len(columns)
            + "---:|---:|"
        )
        for r in table_rows(group):
            name = f"{r.model} (scripted)" if r.scripted else r.model
            family = f"{_cell(family_text(r))} | " if families else ""
            lines.append(
                f"| {_cell(name)} | {family}{size_text(r)} | {r.n} | {pct(r.accuracy)} | "
                f"[{pct(r.ci_low)}, {pct(r.ci_high)}] | "
                + "".join(f"{_cell(analysis_cell(summary, c, r))} | " for c in columns)
                + f"{failures_text(r)} | {r.errors} |"
            )
        lines.append("")
        lines += [f"- {_line(line)}" for line in verdict_lines(summary, group)]
        lines.append("")
        for found in reproductions_of(group):
            lines += _reproduction_table(found)
        for grid in checkpoint_grids(group):
            lines += _grid(grid)
    return "\n".join(lines)


def _reproduction_table(found: Reproduction) -> list[str]:
    """The sizes held against a published curve, each with the published number's source."""
    lines = [
        f"Published curve {_cell(found.curve)} ({_cell(found.reference)}), size by size:",
        "",
        "| " + " | ".join(REPRODUCTION_COLUMNS) + " |",
        "|---|---:|---|---:|---|---|---|",
    ]
    lines += ["| " + " | ".join(_cell(c) for c in reproduction_cells(p)) + " |" for p in found.points]
    sources = sorted({p.source for p in found.points})
    lines += ["", "Source: " + "; ".join(_cell(s) for s in sources), ""]
    return lines


def _grid(grid: Grid) -> list[str]:
    """The size × training tokens table of accuracies of one checkpointed family."""
    columns = range(len(grid.checkpoints))
    lines = [
        f"Accuracy by size and training checkpoint, {_cell(grid.name)}:",
        "",
        "| size | " + " | ".join(_cell(grid.checkpoint_text(c)) for c in columns) + " |",
        "|---|" + "---:|" * len(grid.checkpoints),
    ]
    for s in range(len(grid.sizes)):
        found = [grid.cells.get((s, c)) for c in columns]
        cells = [pct(r.accuracy) if r is not None else "–" for r in found]
        lines.append(f"| {_cell(grid.size_text(s))} | " + " | ".join(cells) + " |")
    return [*lines, ""]


_PUNCTUATION = re.compile(r"([\\`*_\[\]|~])")


def _cell(text: str) -> str:
    """Text from a model or a file, written so that a markdown renderer shows it as it is: HTML escaped
    (renderers pass raw HTML through), markdown punctuation backslash-escaped, on one line."""
    return _PUNCTUATION.sub(r"\\\1", html.escape(text, quote=False)).replace("\n", " ")


def _line(line: VerdictLine) -> str:
    """A verdict line: the verdict in **bold**, every part as _cell."""
    verdict = f"**{_cell(line.verdict)}**" if line.verdict else ""
    return _cell(line.before) + verdict + _cell(line.after)
