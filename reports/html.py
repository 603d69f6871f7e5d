"""report.html: one self-contained page (inline CSS and SVG, no scripts, no network fetches).

Everything that comes from a model or a file (labels, task names) is escaped.
"""

from __future__ import annotations

from collections.abc import Iterable
from html import escape

from benchmark.schemas import Manifest, Sample, SummaryRow
from reports.references import Reference
from reports.samples import STYLE as SAMPLES_STYLE
from reports.samples import SampleBrowser, render_browser
from reports.svg import Point, Series, scaling_plot
from reports.tables import gain_text, group_rows, pct, size_text, step_text, verdict_lines

_STYLE = """
body{font-family:system-ui,sans-serif;margin:2em auto;max-width:60em;color:#222}
table{border-collapse:collapse;margin:.5em 0 1.5em;font-size:90%}
td,th{border:1px solid #ccc;padding:.25em .6em}
td.num{text-align:right}.scripted{background:#fff3cd;border:1px solid #e0c060;padding:.5em 1em}
.note{color:#666;font-size:90%}
"""


def render_html(
    manifest: Manifest,
    rows: list[SummaryRow],
    samples: Iterable[Sample] | SampleBrowser = (),
    reference: Reference | None = None,
) -> str:
    body = [
        f"<h1>bench report</h1><p>Seed {manifest.seed}, limit {manifest.limit}, "
        f"bench {escape(manifest.tool_version)}.</p>"
    ]
    if any(m.scripted for m in manifest.models):
        body.append(
            '<p class="scripted"><strong>Scripted models</strong> answer by a fixed rule for '
            "testing; they are not language models.</p>"
        )
    for model in (m for m in manifest.models if m.error):
        reason = escape(model.error or "")
        body.append(f'<p class="scripted"><strong>Not run: {escape(model.label)}</strong>: {reason}</p>')
    groups = group_rows(rows)
    for task in dict.fromkeys(task for task, _ in groups):
        task_groups = {p: g for (t, p), g in groups.items() if t == task}
        task_rows = [r for g in task_groups.values() for r in g]
        chance = task_rows[0].chance
        body.append(f"<h2>{escape(task)}</h2>")
        by_params = [r for r in task_rows if r.params is not None]
        by_rank = [r for r in task_rows if r.params is None and r.size_rank is not None]
        if by_params or not by_rank:
            series = _series(by_params, False) + _published(reference, manifest, task)
            body.append(scaling_plot(f"{task}: accuracy by model size", series, chance))
            metric = _metric_series(by_params, "digit_accuracy")
            if metric:
                body.append(
                    scaling_plot(
                        f"{task}: digit accuracy by model size", metric, None, y_label="digit accuracy"
                    )
                )
        if reference is not None and _published(reference, manifest, task):
            body.append(
                '<p class="note">Dashed curves with hollow squares are published results '
                f"({escape(reference.title)}), drawn for comparison; they are not part of this run or its "
                "statistics.</p>"
            )
        if by_rank:
            body.append(scaling_plot(f"{task}: accuracy by size rank", _series(by_rank, True), chance, True))
        unplaced = sorted({r.model for r in task_rows if r.params is None and r.size_rank is None})
        if unplaced:
            body.append(
                f'<p class="note">Not on the size axis (no parameter count or rank): '
                f"{escape(', '.join(unplaced))}.</p>"
            )
        for prompting, group in task_groups.items():
            body.append(f"<h3>{escape(task)} · {escape(prompting)}</h3>{_table(group)}")
            verdicts = "".join(f"<li>{_bold(escape(line))}</li>" for line in verdict_lines(group))
            if verdicts:
                body.append(f'<ul class="verdicts">{verdicts}</ul>')
    body.append(samples.render() if isinstance(samples, SampleBrowser) else render_browser(samples))
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        "<title>bench report</title>"
        f"<style>{_STYLE}{SAMPLES_STYLE}</style></head><body>{''.join(body)}</body></html>\n"
    )


def _published(reference: Reference | None, manifest: Manifest, task: str) -> list[Series]:
    if reference is None:
        return []
    info = next((t for t in manifest.tasks if t.name == task), None)
    if info is None:
        return []
    return [
        Series(curve.name, [Point(int(p), a, a, a, "") for p, a in curve.points], published=True)
        for curve in reference.curves_for(info)
        if curve.prompting in info.promptings
    ]


def _metric_series(rows: list[SummaryRow], metric: str) -> list[Series]:
    """A continuous measure on the same size axis, one curve per family, variant and prompting."""
    curves: dict[str, list[Point]] = {}
    for r in rows:
        value = r.metrics.get(metric)
        if value is None or r.params is None:
            continue
        name = " · ".join(part for part in (r.family, r.variant, r.prompting) if part)
        curves.setdefault(name, []).append(Point(r.params, value, value, value, r.model))
    return [Series(name, points) for name, points in curves.items()]


def _series(rows: list[SummaryRow], by_rank: bool) -> list[Series]:
    """One curve per family, variant and prompting condition (base and instruct apart)."""
    curves: dict[str, list[Point]] = {}
    for r in rows:
        if r.accuracy is None or r.ci_low is None or r.ci_high is None:
            continue
        x = r.size_rank if by_rank else r.params
        assert x is not None
        name = " · ".join(part for part in (r.family, r.variant, r.prompting) if part)
        curves.setdefault(name, []).append(Point(x, r.accuracy, r.ci_low, r.ci_high, r.model))
    return [Series(name, points) for name, points in curves.items()]


def _bold(text: str) -> str:
    """The markdown **shape** of a verdict line as <strong>; the text is already escaped."""
    parts = text.split("**")
    return "".join(f"<strong>{p}</strong>" if i % 2 else p for i, p in enumerate(parts))


def _table(group: list[SummaryRow]) -> str:
    head = (
        "<tr><th>model</th><th>size</th><th>n</th><th>accuracy</th><th>95% CI</th>"
        "<th>Δ vs next smaller</th><th>vs plain, McNemar p</th>"
        "<th>chance</th><th>extraction failures</th><th>errors</th><th>scoring</th></tr>"
    )
    cells = []
    for r in group:
        name = escape(r.model) + (" <em>(scripted)</em>" if r.scripted else "")
        cells.append(
            f"<tr><td>{name}</td><td class=num>{size_text(r)}</td><td class=num>{r.n}</td>"
            f"<td class=num>{pct(r.accuracy)}</td><td>[{pct(r.ci_low)}, {pct(r.ci_high)}]</td>"
            f"<td>{escape(step_text(r))}</td><td>{escape(gain_text(r))}</td>"
            f"<td class=num>{pct(r.chance)}</td><td class=num>{r.extraction_failures}</td>"
            f"<td class=num>{r.errors}</td><td>{escape(r.scoring)}</td></tr>"
        )
    return f"<table>{head}{''.join(cells)}</table>"
