"""A size × training tokens heatmap of accuracy as inline SVG: one cell per (size, checkpoint)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from html import escape

CELL_W, CELL_H = 92, 26
HEADER_H, LEGEND_H = 40, 36
LOW, HIGH = (247, 251, 255), (8, 48, 107)
"""The colours of 0% and 100% accuracy (white to dark blue)."""


@dataclass(frozen=True)
class Cell:
    value: float
    """Accuracy, 0 to 1."""
    tip: str
    """The cell's tooltip (model, accuracy and interval)."""


def _color(value: float) -> str:
    v = min(1.0, max(0.0, value))
    return "#" + "".join(f"{round(a + (b - a) * v):02x}" for a, b in zip(LOW, HIGH, strict=True))


def heatmap(
    title: str,
    desc: str,
    rows: list[str],
    columns: list[tuple[str, str]],
    cells: dict[tuple[int, int], Cell],
) -> str:
    """Rows (sizes) × columns (checkpoints: two header lines each); a cell's colour and number are its
    accuracy, absent cells are left blank with a dash. `title` and `desc` are the SVG's accessible name
    and description. Every string that reaches the SVG is escaped."""
    left = 14 + 7 * max((len(r) for r in rows), default=4)
    width = left + CELL_W * len(columns) + 10
    height = HEADER_H + CELL_H * len(rows) + LEGEND_H
    ident = "heat-" + hashlib.sha256(f"{title}\n{desc}".encode()).hexdigest()[:12]
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-labelledby="{ident}-t {ident}-d" class="heatmap">'
        f'<title id="{ident}-t">{escape(title)}</title><desc id="{ident}-d">{escape(desc)}</desc>'
    ]
    for c, (first, second) in enumerate(columns):
        x = left + c * CELL_W + CELL_W / 2
        parts.append(
            f'<text x="{x:.1f}" y="16" font-size="10" text-anchor="middle">{escape(first)}</text>'
            f'<text x="{x:.1f}" y="30" font-size="10" text-anchor="middle" fill="#555">'
            f"{escape(second)}</text>"
        )
    for r, name in enumerate(rows):
        y = HEADER_H + r * CELL_H
        parts.append(
            f'<text x="{left - 6}" y="{y + CELL_H / 2 + 4:.1f}" font-size="11" text-anchor="end">'
            f"{escape(name)}</text>"
        )
        for c in range(len(columns)):
            parts.append(_cell(cells.get((r, c)), left + c * CELL_W, y))
    parts.append(_legend(left, HEADER_H + CELL_H * len(rows) + 10))
    parts.append("</svg>")
    return "".join(parts)


def _cell(cell: Cell | None, x: float, y: float) -> str:
    box = f'x="{x}" y="{y}" width="{CELL_W - 2}" height="{CELL_H - 2}"'
    middle = f'x="{x + CELL_W / 2 - 1:.1f}" y="{y + CELL_H / 2 + 3:.1f}"'
    if cell is None:
        return (
            f'<rect {box} fill="#fff" stroke="#ddd"/>'
            f'<text {middle} font-size="11" text-anchor="middle" fill="#999">–</text>'
        )
    ink = "#fff" if cell.value > 0.55 else "#222"
    return (
        f'<g class="cell"><title>{escape(cell.tip)}</title><rect {box} fill="{_color(cell.value)}"/>'
        f'<text {middle} font-size="11" text-anchor="middle" fill="{ink}">{cell.value:.0%}</text></g>'
    )


def _legend(x: float, y: float) -> str:
    """Five swatches from 0% to 100%."""
    swatches = "".join(
        f'<rect x="{x + 40 * i}" y="{y}" width="38" height="10" fill="{_color(i / 4)}" stroke="#ccc"/>'
        f'<text x="{x + 40 * i + 19}" y="{y + 22}" font-size="9" text-anchor="middle">{i / 4:.0%}</text>'
        for i in range(5)
    )
    return f'<g class="legend">{swatches}</g>'
