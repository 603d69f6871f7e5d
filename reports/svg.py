"""A scaling plot as inline SVG: accuracy against parameter count (log axis), chance line, 95% intervals."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from html import escape

from benchmark.sizes import format_size

WIDTH, HEIGHT = 660, 320
LEFT, RIGHT, TOP, BOTTOM = 56, 230, 20, 44
COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf"]
DODGE = 7.0
"""Pixels between the columns of two curves at the same size."""
REFERENCE_COLORS = ["#7f7f7f", "#bcbd22", "#8c564b", "#e377c2", "#aec7e8", "#98df8a"]


@dataclass(frozen=True)
class Point:
    params: int
    accuracy: float
    low: float
    high: float
    label: str


@dataclass(frozen=True)
class Marker:
    """A published size (e.g. where an ability emerges): a vertical line, its source in the tooltip."""

    at: float
    label: str
    source: str
    fitted: bool = False
    """A size an analysis estimated (a crossing, a turn): drawn in grey, its label saying it is fitted,
    `source` the curve and fit it comes from (in the tooltip)."""


@dataclass(frozen=True)
class Series:
    name: str
    points: list[Point]
    published: bool = False
    """A published reference curve: drawn dashed and hollow, labelled as published; a point's `label`
    is its source, and a number read off a figure has its uncertainty as low and high."""
    fitted: bool = False
    """A fitted trend (an analysis's, not a measurement): a dotted line inside its shaded band, or
    hollow diamonds with their intervals (a prediction), labelled as fitted."""


def _fmt(x: float) -> str:
    return f"{x:.1f}"


def _published_point(name: str, p: Point, px: float, y: Callable[[float], float], color: str) -> str:
    around = f" ±{(p.high - p.accuracy) * 100:.0f} points" if p.high > p.accuracy else ""
    tip = f"published: {name} · {format_size(p.params)}: {p.accuracy:.1%}{around} ({p.label})"
    bar = (
        f'<line x1="{_fmt(px)}" x2="{_fmt(px)}" y1="{_fmt(y(p.high))}" y2="{_fmt(y(p.low))}" '
        f'stroke="{color}" stroke-width="1"/>'
        if around
        else ""
    )
    return (
        f'{bar}<rect class="published" x="{_fmt(px - 3.5)}" y="{_fmt(y(p.accuracy) - 3.5)}" width="7" '
        f'height="7" fill="#fff" stroke="{color}" stroke-width="1.5"><title>{escape(tip)}</title></rect>'
    )


def _marker(marker: Marker, px: float, top: float, height: float) -> str:
    tip = (
        f"fitted: {marker.source}: {marker.label}"
        if marker.fitted
        else f"published: {marker.label} ({marker.source})"
    )
    color = FITTED_COLOR if marker.fitted else "#8c564b"
    label = marker.label
    return (
        f'<g class="marker"><title>{escape(tip)}</title><line x1="{_fmt(px)}" x2="{_fmt(px)}" '
        f'y1="{top}" y2="{top + height}" stroke="{color}" stroke-dasharray="2,3"/>'
        f'<text x="{_fmt(px + 3)}" y="{top + 12}" font-size="10" fill="{color}">'
        f"{escape(label)}</text></g>"
    )


@dataclass(frozen=True)
class _Axes:
    """Where values land in a scaling plot: x on a log axis (or size ranks), y over its range."""

    lo: float
    hi: float
    y_low: float
    y_high: float
    by_rank: bool
    plot_w: float = WIDTH - LEFT - RIGHT
    plot_h: float = HEIGHT - TOP - BOTTOM

    def x(self, value: float) -> float:
        scaled = value if self.by_rank else math.log10(value)
        return LEFT + (scaled - self.lo) / (self.hi - self.lo) * self.plot_w

    def y(self, value: float) -> float:
        return TOP + (self.y_high - value) / (self.y_high - self.y_low) * self.plot_h


def scaling_plot(
    title: str,
    series: list[Series],
    chance: float | None,
    by_rank: bool = False,
    y_label: str = "accuracy",
    y_range: tuple[float, float] = (0.0, 1.0),
    chance_text: str | None = None,
    markers: Sequence[Marker] = (),
    x_label: str | None = None,
    percent: bool = True,
) -> str:
    """One plot, x = parameters on a log axis, or (by_rank) the size rank of families whose sizes are
    undisclosed (Point.params then holds the rank); y over `y_range` (a gain: -1 to 1). `chance` draws
    a dashed level line labelled `chance_text` (default "chance N%"). `x_label` names another log axis
    (training tokens) held in Point.params; `percent`: y ticks as percentages (else plain numbers, for a
    measure such as a log-probability). Every string that reaches the SVG is escaped."""
    if not by_rank:  # a log axis has no place for a size of 0 or less (an old run may hold one)
        series = [replace(s, points=[p for p in s.points if p.params > 0]) for s in series]
        markers = [m for m in markers if m.at > 0]
    axes, ticks = _axes([p for s in series for p in s.points], by_rank, y_range)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{escape(title)}" class="plot">',
        f"<title>{escape(title)}</title>",
        *_frame(axes, ticks, y_label, x_label, percent),
    ]
    if chance is not None:
        parts.append(
            f'<line class="chance" x1="{LEFT}" x2="{LEFT + axes.plot_w}" y1="{_fmt(axes.y(chance))}" '
            f'y2="{_fmt(axes.y(chance))}" stroke="#555" stroke-dasharray="5,4"/>'
            f'<text x="{LEFT + axes.plot_w - 4}" y="{_fmt(axes.y(chance) - 4)}" font-size="10" '
            f'text-anchor="end" fill="#555">{escape(chance_text or f"chance {chance:.0%}")}</text>'
        )
    parts += [_marker(m, axes.x(m.at), TOP, axes.plot_h) for m in markers]
    ours = [s for s in series if not s.published and not s.fitted]
    for index, s in enumerate(series):
        if s.fitted:
            parts += _fitted(axes, s, index)
            continue
        if s.published:
            color, shift = REFERENCE_COLORS[(index - len(ours)) % len(REFERENCE_COLORS)], 0.0
        else:
            # Conditions at the same size side by side, not on top of one another: each curve of ours
            # is shifted a few pixels (its own column); the tooltips keep the true size.
            color = COLORS[ours.index(s) % len(COLORS)]
            shift = (ours.index(s) - (len(ours) - 1) / 2) * DODGE
        parts += _curve(axes, s, color, shift, index)
    parts.append("</svg>")
    return "".join(parts)


def _axes(
    points: list[Point], by_rank: bool, y_range: tuple[float, float]
) -> tuple[_Axes, list[tuple[float, str]]]:
    """The axes that hold `points`, and the x ticks (value, label)."""
    scale: Callable[[float], float] = (lambda v: v) if by_rank else math.log10
    if points:
        lo, hi = scale(min(p.params for p in points)), scale(max(p.params for p in points))
    else:
        lo = hi = 1.0 if by_rank else 9.0
    if by_rank:
        lo, hi = lo - 0.5, hi + 0.5
        ticks = [(float(r), f"rank {r}") for r in range(int(lo + 0.5), int(hi + 0.5) + 1)]
    else:
        lo, hi = math.floor(lo - 0.25), math.ceil(hi + 0.25)
        ticks = [(float(10**d), format_size(10**d)) for d in range(int(lo), int(hi) + 1)]
    return _Axes(lo, hi, y_range[0], y_range[1], by_rank), ticks


def _frame(
    axes: _Axes, ticks: list[tuple[float, str]], y_label: str, x_label: str | None, percent: bool = True
) -> list[str]:
    """The plot area, its grid and tick labels, and the axis titles."""
    plot_w, plot_h, y_low, y_high = axes.plot_w, axes.plot_h, axes.y_low, axes.y_high
    parts = [f'<rect x="{LEFT}" y="{TOP}" width="{plot_w}" height="{plot_h}" fill="#fff" stroke="#888"/>']
    for step in range(5):
        tick = y_low + (y_high - y_low) * step / 4
        text = (f"{tick:+.0%}" if y_low < 0 and tick else f"{tick:.0%}") if percent else f"{tick:.3g}"
        parts.append(
            f'<line x1="{LEFT}" x2="{LEFT + plot_w}" y1="{_fmt(axes.y(tick))}" '
            f'y2="{_fmt(axes.y(tick))}" stroke="#eee"/>'
            f'<text x="{LEFT - 6}" y="{_fmt(axes.y(tick) + 4)}" font-size="11" '
            f'text-anchor="end">{text}</text>'
        )
    for value, text in ticks:
        parts.append(
            f'<line x1="{_fmt(axes.x(value))}" x2="{_fmt(axes.x(value))}" y1="{TOP}" y2="{TOP + plot_h}" '
            f'stroke="#eee"/><text x="{_fmt(axes.x(value))}" y="{TOP + plot_h + 16}" font-size="11" '
            f'text-anchor="middle">{text}</text>'
        )
    parts.append(
        f'<text x="{LEFT + plot_w / 2}" y="{HEIGHT - 8}" font-size="12" text-anchor="middle">'
        f"{escape(x_label or _default_x(axes.by_rank))}</text>"
        f'<text x="14" y="{TOP + plot_h / 2}" font-size="12" text-anchor="middle" '
        f'transform="rotate(-90 14 {TOP + plot_h / 2})">{escape(y_label)}</text>'
    )
    return parts


def _default_x(by_rank: bool) -> str:
    return "size rank (sizes undisclosed)" if by_rank else "parameters (log scale)"


def _curve(axes: _Axes, s: Series, color: str, shift: float, index: int) -> list[str]:
    """One series: its line, each point with its interval (or a published point), its legend entry."""
    x, y = axes.x, axes.y
    dash = ' stroke-dasharray="6,3"' if s.published else ""
    parts = []
    points = sorted(s.points, key=lambda p: p.params)
    if len(points) > 1:
        path = " ".join(f"{_fmt(x(p.params) + shift)},{_fmt(y(p.accuracy))}" for p in points)
        parts.append(f'<polyline points="{path}" fill="none" stroke="{color}" stroke-width="2"{dash}/>')
    for p in points:
        px, py = _fmt(x(p.params) + shift), _fmt(y(p.accuracy))
        if s.published:
            parts.append(_published_point(s.name, p, x(p.params), y, color))
            continue
        tip = f"{s.name} · {p.label}: {p.accuracy:.1%} [{p.low:.1%}, {p.high:.1%}]"
        parts.append(
            f'<line x1="{px}" x2="{px}" y1="{_fmt(y(p.high))}" y2="{_fmt(y(p.low))}" '
            f'stroke="{color}" stroke-width="1.5"/>'
            f'<circle class="point" cx="{px}" cy="{py}" r="4" fill="{color}">'
            f"<title>{escape(tip)}</title></circle>"
        )
    legend_y = TOP + 14 + index * 18
    name = f"published: {s.name}" if s.published else s.name
    parts.append(
        f'<line x1="{LEFT + axes.plot_w + 10}" x2="{LEFT + axes.plot_w + 26}" y1="{legend_y - 3}" '
        f'y2="{legend_y - 3}" stroke="{color}" stroke-width="3"{dash}/>'
        f'<text x="{LEFT + axes.plot_w + 30}" y="{legend_y + 1}" font-size="11">{escape(name)}</text>'
    )
    return parts


FITTED_COLOR = "#555"


def _fitted(axes: _Axes, s: Series, index: int) -> list[str]:
    """A fitted series: a line of two or more points is a dotted trend in its shaded band; single
    points are predictions, hollow diamonds with their interval bars. Legend: `fitted: name`."""
    x, y = axes.x, axes.y
    points = sorted(s.points, key=lambda p: p.params)
    parts = []
    if len(points) > 1:
        upper = " ".join(f"{_fmt(x(p.params))},{_fmt(y(min(axes.y_high, p.high)))}" for p in points)
        lower = " ".join(f"{_fmt(x(p.params))},{_fmt(y(max(axes.y_low, p.low)))}" for p in reversed(points))
        line = " ".join(
            f"{_fmt(x(p.params))},{_fmt(y(min(axes.y_high, max(axes.y_low, p.accuracy))))}" for p in points
        )  # a straight line in log size can leave the plot: drawn to its edge
        parts.append(
            f'<g class="fitted"><title>{escape("fitted: " + s.name)}</title>'
            f'<polygon points="{upper} {lower}" fill="{FITTED_COLOR}" fill-opacity="0.12" stroke="none"/>'
            f'<polyline points="{line}" fill="none" stroke="{FITTED_COLOR}" stroke-width="1.5" '
            'stroke-dasharray="1,3"/></g>'
        )
    else:
        for p in points:
            px, py = x(p.params), y(p.accuracy)
            tip = f"fitted: {s.name} · {p.label}: {p.accuracy:.3g} [{p.low:.3g}, {p.high:.3g}]"
            parts.append(
                f'<g class="fitted"><line x1="{_fmt(px)}" x2="{_fmt(px)}" y1="{_fmt(y(p.high))}" '
                f'y2="{_fmt(y(p.low))}" stroke="{FITTED_COLOR}" stroke-width="1" stroke-dasharray="2,2"/>'
                f'<polygon points="{_fmt(px)},{_fmt(py - 5)} {_fmt(px + 5)},{_fmt(py)} {_fmt(px)},'
                f'{_fmt(py + 5)} {_fmt(px - 5)},{_fmt(py)}" fill="#fff" stroke="{FITTED_COLOR}" '
                f'stroke-width="1.5"><title>{escape(tip)}</title></polygon></g>'
            )
    legend_y = TOP + 14 + index * 18
    parts.append(
        f'<line x1="{LEFT + axes.plot_w + 10}" x2="{LEFT + axes.plot_w + 26}" y1="{legend_y - 3}" '
        f'y2="{legend_y - 3}" stroke="{FITTED_COLOR}" stroke-width="2" stroke-dasharray="1,3"/>'
        f'<text x="{LEFT + axes.plot_w + 30}" y="{legend_y + 1}" font-size="11">'
        f"{escape('fitted: ' + s.name)}</text>"
    )
    return parts


RELIABILITY_SIZE, RELIABILITY_LEGEND = 300, 380


def reliability_plot(title: str, series: list[Series]) -> str:
    """A reliability diagram: mean probability of the predicted class (x) against the share of those
    predictions that were right (y), one point per non-empty bin (Point.params holds the bin's count),
    with the diagonal of perfect calibration. Every string that reaches the SVG is escaped."""
    side, pad = RELIABILITY_SIZE, 44
    inner = side - pad - 16
    width = side + RELIABILITY_LEGEND

    def at(value: float, vertical: bool) -> str:
        return _fmt(16 + (1 - value) * inner) if vertical else _fmt(pad + value * inner)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{side}" viewBox="0 0 {width} '
        f'{side}" role="img" aria-label="{escape(title)}" class="reliability"><title>{escape(title)}</title>',
        f'<rect x="{pad}" y="16" width="{inner}" height="{inner}" fill="#fff" stroke="#888"/>',
        f'<line class="diagonal" x1="{at(0, False)}" y1="{at(0, True)}" x2="{at(1, False)}" '
        f'y2="{at(1, True)}" stroke="#555" stroke-dasharray="5,4"/>',
        f'<text x="{pad + inner / 2}" y="{side - 8}" font-size="11" text-anchor="middle">'
        "probability of the predicted class</text>"
        f'<text x="12" y="{16 + inner / 2}" font-size="11" text-anchor="middle" '
        f'transform="rotate(-90 12 {16 + inner / 2})">share right</text>',
    ]
    for tick in (0.0, 0.5, 1.0):
        parts.append(
            f'<text x="{at(tick, False)}" y="{16 + inner + 14}" font-size="10" text-anchor="middle">'
            f'{tick:.0%}</text><text x="{pad - 4}" y="{_fmt(float(at(tick, True)) + 4)}" font-size="10" '
            f'text-anchor="end">{tick:.0%}</text>'
        )
    for index, s in enumerate(series):
        color = COLORS[index % len(COLORS)]
        points = sorted(s.points, key=lambda p: p.low)
        path = " ".join(f"{at(p.low, False)},{at(p.accuracy, True)}" for p in points)
        parts.append(f'<polyline points="{path}" fill="none" stroke="{color}" stroke-width="1.5"/>')
        for p in points:
            tip = f"{s.name}: {p.params} predictions at {p.low:.0%} on average, {p.accuracy:.0%} right"
            parts.append(
                f'<circle class="bin" cx="{at(p.low, False)}" cy="{at(p.accuracy, True)}" r="3.5" '
                f'fill="{color}"><title>{escape(tip)}</title></circle>'
            )
        legend_y = 30 + index * 18
        parts.append(
            f'<line x1="{side + 4}" x2="{side + 20}" y1="{legend_y - 3}" y2="{legend_y - 3}" '
            f'stroke="{color}" stroke-width="3"/><text x="{side + 24}" y="{legend_y + 1}" '
            f'font-size="11">{escape(s.name)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)
