"""report.html: one self-contained page (inline CSS and SVG, no scripts, no network fetches).

Everything that comes from a model or a file (labels, task names) is escaped.
"""

from __future__ import annotations

from collections.abc import Iterable
from html import escape

from benchmark.schemas import Manifest, Reproduction, Sample, SummaryRow
from benchmark.sizes import format_size
from benchmark.variants import condition_label, task_label, variant_label
from reports.aggregate import Summary
from reports.analyses.base import AXIS_NAMES, CurveId, CurveResult, Figure, PlotPoint, VerdictLine
from reports.heatmap import Cell, heatmap
from reports.keys import row_key, size_of
from reports.references import Curve, PublishedPoint, Reference
from reports.reproduction import drawn_curves
from reports.samples import STYLE as SAMPLES_STYLE
from reports.samples import SampleBrowser, render_browser
from reports.svg import Marker, Point, Series, reliability_plot, scaling_plot
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

_STYLE = """
body{font-family:system-ui,sans-serif;margin:2em auto;max-width:60em;color:#222}
table{border-collapse:collapse;margin:.5em 0 1.5em;font-size:90%}
td,th{border:1px solid #ccc;padding:.25em .6em}
td.num{text-align:right}.scripted{background:#fff3cd;border:1px solid #e0c060;padding:.5em 1em}
.note{color:#666;font-size:90%}
"""


def render_html(
    manifest: Manifest,
    summary: Summary,
    samples: Iterable[Sample] | SampleBrowser = (),
    references: dict[str, Reference] | None = None,
) -> str:
    """The page; `references` are the published results drawn where their task and prompting match a
    curve of this run (None or empty: none)."""
    body = [
        f"<h1>bench report</h1><p>Seed {manifest.seed}, limit {manifest.limit}, "
        f"bench {escape(manifest.tool_version)}.</p>"
    ]
    body.append(
        '<p class="note">Accuracy is drawn with its 95% Wilson interval. Where several curves share a '
        "size, their points stand side by side, a few pixels apart (each curve its own column); the "
        "axis gives the model's size.</p>"
    )
    if any(m.scripted for m in manifest.models):
        body.append(
            '<p class="scripted"><strong>Scripted models</strong> answer by a fixed rule for '
            "testing; they are not language models.</p>"
        )
    for model in (m for m in manifest.models if m.error):
        reason = escape(model.error or "")
        body.append(f'<p class="scripted"><strong>Not run: {escape(model.label)}</strong>: {reason}</p>')
    rows = summary.rows
    for task in dict.fromkeys(r.task for r in rows):
        body += _task_section(manifest, summary, [r for r in rows if r.task == task], references or {})
    body.append(samples.render() if isinstance(samples, SampleBrowser) else render_browser(samples))
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        "<title>bench report</title>"
        f"<style>{_STYLE}{SAMPLES_STYLE}</style></head><body>{''.join(body)}</body></html>\n"
    )


def _task_section(
    manifest: Manifest, summary: Summary, task_rows: list[SummaryRow], references: dict[str, Reference]
) -> list[str]:
    """One task's plots (every variant, condition and family a curve of its own) and tables."""
    task = task_rows[0].task
    common, varying = _split_params(task_rows)
    title = task_label(task, common)
    chance = task_rows[0].chance
    body = [f"<h2>{escape(title)}</h2>"]
    plotted = [r for r in task_rows if r.tokens is None]  # checkpoints: _checkpoint_plots
    by_params = [r for r in plotted if r.params is not None]
    by_rank = [r for r in plotted if r.params is None and r.size_rank is not None]
    checkpointed = len(plotted) < len(task_rows)
    curves, markers, titles = _published(references, manifest, task_rows)
    published = [_published_series(c) for c in curves]
    over_size = [c for c in summary.curves_of(by_params) if c.curve.id.axis == "params"]
    if by_params or not (by_rank or checkpointed):
        fitted, marked = _overlays(over_size, varying, "accuracy")
        series = _series(by_params, varying, False) + published + fitted
        body.append(
            scaling_plot(f"{title}: accuracy by model size", series, chance, markers=[*markers, *marked])
        )
        body += _metric_plots(by_params, over_size, varying, title)
    if published or markers:
        body.append(
            '<p class="note">Dashed curves with hollow squares (and dotted vertical lines) are published '
            f"results ({escape('; '.join(titles))}), drawn for comparison, each with its source in its "
            "tooltip and in reports/references.yaml; they are not part of this run or its statistics "
            "(<code>--reference none</code> leaves them out). A curve measured on other items than this "
            "task's is context, not a check: the verdicts below say which curves this run can be held "
            "against.</p>"
        )
    if by_rank:
        body.append(
            scaling_plot(f"{title}: accuracy by size rank", _series(by_rank, varying, True), chance, True)
        )
    unplaced = sorted({r.model for r in task_rows if r.params is None and r.size_rank is None})
    if unplaced:
        body.append(
            f'<p class="note">Not on the size axis (no parameter count or rank): '
            f"{escape(', '.join(unplaced))}.</p>"
        )
    for group in group_rows(task_rows).values():
        body.append(f"<h3>{escape(group_title(group[0]))}</h3>{_table(summary, group)}")
        body += _checkpoint_plots(group, curves, summary.curves_of(group), varying)
        body += _figures(summary.curves_of(group), varying, group_title(group[0]))
        verdicts = "".join(f"<li>{_line(line)}</li>" for line in verdict_lines(summary, group))
        if verdicts:
            body.append(f'<ul class="verdicts">{verdicts}</ul>')
        body += [_reproduction_table(found) for found in reproductions_of(group)]
    return body


def _checkpoint_plots(
    group: list[SummaryRow], curves: list[Curve], analysed: list[CurveResult], varying: list[str]
) -> list[str]:
    """For each checkpointed family of one table: accuracy over size with a line per checkpoint, over
    training tokens with a line per size, and a size × tokens heatmap; published curves measured at
    training checkpoints overlay the first two (those of this run's revisions and models)."""
    body = []
    for grid in checkpoint_grids(group):
        revisions = {revision for _, revision in grid.checkpoints}
        models = {r.hub_id for r in grid.cells.values() if r.hub_id}
        at_checkpoints = [c for c in curves if any(p.revision in revisions for p in c.points)]
        over_size = [_published_series(c) for c in at_checkpoints]
        over_tokens = _published_over_tokens(at_checkpoints, models)
        name = f"{group_title(group[0])} · {grid.name}"
        columns = range(len(grid.checkpoints))
        per_checkpoint = [
            Series(
                grid.checkpoint_text(c), [_point(r, size_of(r)) for (_, k), r in grid.cells.items() if k == c]
            )
            for c in columns
        ]
        per_size = [
            Series(grid.size_text(s), [_point(r, r.tokens) for (k, _), r in grid.cells.items() if k == s])
            for s in range(len(grid.sizes))
        ]
        chance = group[0].chance
        by_rank = grid.sizes[0][0]
        # What the analyses fitted, for one line of each plot (more would bury the lines): over size at
        # the last checkpoint, over tokens at the largest size.
        last, largest = grid.checkpoints[-1][1], max(s for _, s in grid.sizes)
        at_last = [c for c in analysed if c.curve.id.axis == "params" and c.curve.id.revision == last]
        at_largest = [c for c in analysed if c.curve.id.axis == "tokens" and c.curve.id.size == largest]
        size_fits, size_marks = _overlays([c for c in at_last if _in_grid(c, grid)], varying, "accuracy")
        fitted, marked = _overlays([c for c in at_largest if _in_grid(c, grid)], varying, "accuracy")
        body += [
            scaling_plot(
                f"{name}: accuracy by model size, a line per checkpoint",
                per_checkpoint + over_size + size_fits,
                chance,
                by_rank,
                markers=size_marks,
            ),
            scaling_plot(
                f"{name}: accuracy by training tokens, a line per size",
                per_size + over_tokens + fitted,
                chance,
                x_label="training tokens (log scale)",
                markers=marked,
            ),
            _heatmap(name, grid, chance),
        ]
    return body


def _published_over_tokens(at_checkpoints: list[Curve], models: set[str]) -> list[Series]:
    """Published curves measured at training checkpoints, redrawn over training tokens: a line per
    model of this run (`models`, Hub ids), each point with its source."""
    by_model: dict[str, list[tuple[PublishedPoint, Curve]]] = {}
    for c in at_checkpoints:
        for p in c.points:
            if p.model in models and p.tokens is not None:
                by_model.setdefault(p.model or "", []).append((p, c))
    return [
        Series(
            model.rsplit("/", 1)[-1],
            sorted(
                (
                    Point(int(p.tokens or 0), p.accuracy, p.accuracy, p.accuracy, c.source_of(p))
                    for p, c in found
                ),
                key=lambda q: q.params,
            ),
            published=True,
        )
        for model, found in by_model.items()
    ]


def _in_grid(found: CurveResult, grid: Grid) -> bool:
    """Whether a curve's points are rows of the grid (one family and model variant)."""
    keys = {row_key(r) for r in grid.cells.values()}
    return all(row_key(p.row) in keys for p in found.curve.points)


def _point(row: SummaryRow, x: float | None) -> Point:
    return Point(int(x or 0), row.accuracy or 0.0, row.ci_low or 0.0, row.ci_high or 0.0, row.model)


def _heatmap(name: str, grid: Grid, chance: float) -> str:
    cells = {
        where: Cell(r.accuracy, f"{r.model}: {pct(r.accuracy)} [{pct(r.ci_low)}, {pct(r.ci_high)}], n={r.n}")
        for where, r in grid.cells.items()
        if r.accuracy is not None
    }
    columns = [(format_size(tokens) + " tokens", revision) for tokens, revision in grid.checkpoints]
    rows = [grid.size_text(s) for s in range(len(grid.sizes))]
    desc = (
        f"Accuracy of each size (rows, smallest first) at each training checkpoint (columns, fewest "
        f"tokens first); darker is more accurate; chance is {pct(chance)}."
    )
    return heatmap(f"{name}: accuracy by size and training tokens", desc, rows, columns, cells)


def _split_params(rows: list[SummaryRow]) -> tuple[dict[str, str], list[str]]:
    """The parameters every variant of a task in `rows` shares, and the names of those that differ."""
    variants = [r.task_params for r in rows]
    names = list(dict.fromkeys(k for params in variants for k in params))
    varying = [k for k in names if len({params.get(k) for params in variants}) > 1]
    common = {k: v for k, v in variants[0].items() if k not in varying}
    return common, varying


def _curve_name(row: SummaryRow, varying: list[str]) -> str:
    """A curve's legend: the variant's own parameters, family, model variant, prompting and scoring."""
    own = variant_label({k: row.task_params[k] for k in varying if k in row.task_params})
    parts = (own, row.family, row.variant, condition_label(row.prompting, row.scoring))
    return " · ".join(part for part in parts if part)


def _legend(curve: CurveId, varying: list[str]) -> str:
    """A curve's name in a legend, as `_curve_name` names a row's curve."""
    own = variant_label({k: curve.task_params[k] for k in varying if k in curve.task_params})
    at = curve.label() if curve.axis in ("tokens", "compute", "none") or curve.revision else ""
    parts = (
        own,
        at or curve.family,
        "" if at else curve.variant,
        condition_label(curve.prompting, curve.scoring),
    )
    return " · ".join(part for part in parts if part)


def _plot_points(points: Iterable[PlotPoint]) -> list[Point]:
    return [Point(int(p.x), p.y, p.low, p.high, p.note) for p in points]


def _overlays(
    curves: list[CurveResult], varying: list[str], measure: str
) -> tuple[list[Series], list[Marker]]:
    """What the analyses draw over the plot of `measure`: fitted lines and predictions (as fitted
    series) and marked sizes (as fitted markers)."""
    series, marks = [], []
    for c in curves:
        for record in c.results.values():
            for overlay in record.overlays():
                if overlay.measure != measure:
                    continue
                name = f"{_legend(c.curve.id, varying)} · {overlay.name}"
                if overlay.line:
                    series.append(Series(name, _plot_points(overlay.line), fitted=True))
                if overlay.points:
                    series.append(Series(name, _plot_points(overlay.points), fitted=True))
                marks += [Marker(x, label, name, fitted=True) for x, label in overlay.marks]
    return series, marks


def _metric_plots(
    rows: list[SummaryRow], curves: list[CurveResult], varying: list[str], title: str
) -> list[str]:
    """Each continuous measure on the size axis, a curve per variant, family and condition, with what
    the analyses fitted to it."""
    plots = []
    for metric in sorted({m for r in rows for m in r.metrics}):
        found: dict[str, list[Point]] = {}
        for r in rows:
            value = r.metrics.get(metric)
            if value is not None and r.params is not None:
                found.setdefault(_curve_name(r, varying), []).append(
                    Point(r.params, value, value, value, r.model)
                )
        fitted, marked = _overlays(curves, varying, metric)
        series = [Series(name, points) for name, points in found.items()] + fitted
        values = [v for s in series for p in s.points for v in (p.low, p.high)]
        within = all(0.0 <= v <= 1.0 for v in values)
        y_range = (
            (0.0, 1.0) if within else (min(values) - 0.05 * abs(min(values)), max(values, default=0.0) + 0.05)
        )
        label = metric.replace("_", " ")
        plots.append(
            scaling_plot(f"{title}: {label} by model size", series, None, y_label=label, y_range=y_range,
                         markers=marked, percent=within)
        )  # fmt: skip
    return plots


def _figures(curves: list[CurveResult], varying: list[str], title: str) -> list[str]:
    """The analyses' own plots for one table: figures of one key and axis drawn together, a series per
    curve."""
    merged: dict[tuple[str, str], tuple[Figure, list[Series]]] = {}
    for c in curves:
        legend = _legend(c.curve.id, varying)
        for record in c.results.values():
            for figure in record.figures():
                key = (figure.key, c.curve.id.axis)
                _, series = merged.setdefault(key, (figure, []))
                series += [
                    Series(f"{legend} {name}".strip(), _plot_points(points)) for name, points in figure.series
                ]
    plots = []
    for (_, axis), (figure, series) in merged.items():
        if figure.kind == "reliability":
            plots.append(reliability_plot(f"{title}: {figure.title}", series))
            continue
        plots.append(
            scaling_plot(
                f"{title}: {figure.title} by {AXIS_NAMES[axis]}",  # type: ignore[index]
                series,
                figure.reference,
                axis == "rank",
                figure.y_label,
                figure.y_range or (0.0, 1.0),
                figure.reference_label,
                x_label=None if axis in ("params", "rank") else f"{AXIS_NAMES[axis]} (log scale)",  # type: ignore[index]
            )
        )
    return plots


def _published(
    references: dict[str, Reference], manifest: Manifest, task_rows: list[SummaryRow]
) -> tuple[list[Curve], list[Marker], list[str]]:
    """The published curves and marked sizes drawn for any variant and condition of the task in this
    run (`drawn_curves`), and the titles of the references they come from."""
    task = task_rows[0].task
    revisions = {r.revision for r in task_rows}
    curves: dict[tuple[str, str], Curve] = {}
    markers: dict[tuple[float, str], Marker] = {}
    titles: dict[str, None] = {}
    for name, reference in references.items():
        for info in (t for t in manifest.tasks if t.name == task):
            for curve in drawn_curves(reference, info, revisions):
                if curve.prompting in info.promptings:
                    curves[(name, curve.name)] = curve
                    titles[reference.title] = None
            for m in reference.markers_for(info):
                markers[(m.at, m.label)] = Marker(m.at, m.label, m.source)
                titles[reference.title] = None
    return list(curves.values()), list(markers.values()), list(titles)


def _published_series(curve: Curve) -> Series:
    """A published curve over size as a dashed series; a point read off a figure gets its uncertainty
    as a bar."""
    return Series(
        curve.name,
        [
            Point(
                int(p.params),
                p.accuracy,
                p.accuracy - (p.plus_minus or 0),
                p.accuracy + (p.plus_minus or 0),
                curve.source_of(p),
            )
            for p in curve.points
        ],
        published=True,
    )


def _series(rows: list[SummaryRow], varying: list[str], by_rank: bool) -> list[Series]:
    """One curve per task variant, family, model variant, prompting condition and scoring mode."""
    curves: dict[str, list[Point]] = {}
    for r in rows:
        if r.accuracy is None or r.ci_low is None or r.ci_high is None:
            continue
        x = r.size_rank if by_rank else r.params
        assert x is not None
        point = Point(x, r.accuracy, r.ci_low, r.ci_high, r.model)
        curves.setdefault(_curve_name(r, varying), []).append(point)
    return [Series(name, points) for name, points in curves.items()]


def _line(line: VerdictLine) -> str:
    """A verdict line: the verdict in <strong>, every part escaped."""
    verdict = f"<strong>{escape(line.verdict)}</strong>" if line.verdict else ""
    return escape(line.before) + verdict + escape(line.after)


def _table(summary: Summary, group: list[SummaryRow]) -> str:
    curves = summary.curves_of(group)
    columns = analysis_columns(curves)
    families = any(r.family for r in group)
    head = (
        "<tr><th>model</th>"
        + ("<th>family</th>" if families else "")
        + "<th>size</th><th>n</th><th>accuracy</th><th>95% CI (Wilson)</th>"
        + "".join(f"<th>{escape(c.title)}</th>" for c in columns)
        + "<th>chance</th><th>extraction failures (cut off by the token limit)</th><th>errors</th>"
        "<th>scoring</th></tr>"
    )
    cells = []
    for r in table_rows(group):
        name = escape(r.model) + (" <em>(scripted)</em>" if r.scripted else "")
        family = f"<td>{escape(family_text(r))}</td>" if families else ""
        cells.append(
            f"<tr><td>{name}</td>{family}<td class=num>{size_text(r)}</td><td class=num>{r.n}</td>"
            f"<td class=num>{pct(r.accuracy)}</td><td>[{pct(r.ci_low)}, {pct(r.ci_high)}]</td>"
            + "".join(f"<td>{escape(analysis_cell(summary, c, r))}</td>" for c in columns)
            + f"<td class=num>{pct(r.chance)}</td><td class=num>{failures_text(r)}</td>"
            f"<td class=num>{r.errors}</td><td>{escape(r.scoring)}</td></tr>"
        )
    return f"<table>{head}{''.join(cells)}</table>"


def _reproduction_table(found: Reproduction) -> str:
    """The sizes held against a published curve; each published number's source in its row's tooltip."""
    head = "<tr>" + "".join(f"<th>{escape(c)}</th>" for c in REPRODUCTION_COLUMNS) + "</tr>"
    rows = "".join(
        f'<tr title="{escape(p.source)}">'
        + "".join(f"<td>{escape(c)}</td>" for c in reproduction_cells(p))
        + "</tr>"
        for p in found.points
    )
    caption = escape(f"Published curve {found.curve} ({found.reference}), size by size")
    return f'<table class="reproduction"><caption>{caption}</caption>{head}{rows}</table>'
