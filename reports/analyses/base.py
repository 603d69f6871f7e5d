"""The analysis interface: a curve in, a typed record (or nothing) out.

A *curve* is the rows of one task variant, prompting condition, scoring mode, family and model variant
laid along one axis: parameters (one curve per training checkpoint), size rank (API families of
undisclosed size), training tokens (one curve per size), or training compute (≈ 6 · parameters · tokens,
where every point has tokens). An *analysis* turns one curve into one record, a subclass of
`AnalysisResult`; reports show any record through the hooks below, so a new analysis appears in
report.md, report.html, summary.json, summary.csv and the terminal without editing them.

Write one (docs/extending.md's "Write an analysis" runs this shape in a test):

    class Spread(Analysis):
        name = "spread"
        title = "Spread of accuracy"

        def analyse(self, curve: Curve) -> AnalysisResult | None:
            accuracies = [p.accuracy for p in curve.points]
            return AnalysisResult(text=f"{min(accuracies):.0%} to {max(accuracies):.0%}")

and register it: in `SHIPPED` (reports/analyses/__init__.py) for bench's own, or under the entry-point
group `bench.analyses` of another package (`spread = "mypackage.spread:Spread"`).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import ClassVar, Literal, NamedTuple

from pydantic import Field

from benchmark.records import Record
from benchmark.schemas import ScoringMode, SummaryRow, TaskInfo
from benchmark.sizes import format_size
from reports.keys import Outcome

Axis = Literal["params", "rank", "tokens", "compute", "none"]
"""Where a curve's points lie: parameters, size rank, training tokens, training compute (FLOPs), or
nowhere (a model without a size: a curve of one point that only per-model analyses read)."""

AXIS_NAMES: dict[Axis, str] = {
    "params": "model size",
    "rank": "size rank",
    "tokens": "training tokens",
    "compute": "training compute",
    "none": "no size",
}


class CurveId(Record):
    """What a curve is: typed fields, never a joined string."""

    task: str
    task_params: dict[str, str] = Field(default_factory=dict, description="The task variant's parameters.")
    prompting: str
    scoring: ScoringMode
    family: str | None = None
    variant: str | None = Field(default=None, description="Model variant (base, instruct), if any.")
    axis: Axis
    revision: str | None = Field(
        default=None, description="Over size: the training checkpoint all points share, if any."
    )
    size: float | None = Field(
        default=None, description="Over training tokens or compute: the size all points share."
    )
    model: str | None = Field(default=None, description="Axis none: the one model.")

    def label(self) -> str:
        """`gpt2 base`, `pythia-checkpoints base at step143000`, `… at 410M`, the model of a curve
        without an axis, or empty for models of no family (the report's section names the rest)."""
        name = " ".join(part for part in (self.family, self.variant) if part)
        if self.axis == "none":
            return self.model or name
        at = f"at {self.revision}" if self.revision else f"at {format_size(self.size)}" if self.size else ""
        return " ".join(part for part in (name, at) if part)


@dataclass(frozen=True)
class Point:
    """One model on a curve: its place on the axis, its summary row and its answered items (item order)."""

    x: float
    row: SummaryRow
    outcomes: Sequence[Outcome]

    @property
    def model(self) -> str:
        return self.row.model

    @property
    def accuracy(self) -> float:
        return self.row.accuracy or 0.0


@dataclass(frozen=True)
class Curve:
    """Points sorted by x, no two at one x. `plain`: for a chain-of-thought curve, the same models under
        plain prompting scored the same way; `base`: for an instruct curve, the base models of the same
        family, checkpoint and sizes. `seed`: this curve's seed for any random draw; `run_seed`: the run's
    (for draws per model, the same on every curve the model is on). `task`: the manifest's entry for the
    curve's task variant (its scorer's declared measures: `task.scorer`), None where the run has none."""

    id: CurveId
    chance: float
    points: tuple[Point, ...]
    seed: int
    run_seed: int
    plain: Curve | None = None
    base: Curve | None = None
    task: TaskInfo | None = None

    @property
    def xs(self) -> list[float]:
        return [p.x for p in self.points]

    def x_text(self, x: float) -> str:
        """A place on this curve's axis as reports print it."""
        if self.id.axis == "rank":
            return f"rank {x:.0f}"
        if self.id.axis == "tokens":
            return f"{format_size(x)} tokens"
        if self.id.axis == "compute":
            return f"{x:.2g} FLOPs"
        return format_size(x)


class VerdictLine(NamedTuple):
    """A sentence of a report: `before`, the verdict itself (shown in bold), `after`. Kept in parts so
    that each renderer marks the verdict its own way and escapes the rest (no markup in the text)."""

    before: str
    verdict: str = ""
    after: str = ""


@dataclass(frozen=True)
class PlotPoint:
    """A point of a drawn series: x, y and its interval, and a tooltip."""

    x: float
    y: float
    low: float
    high: float
    note: str = ""


@dataclass(frozen=True)
class Overlay:
    """What an analysis draws over a curve's own plot of `measure` ("accuracy" or a continuous measure's
    name): a fitted line with its band, points (a prediction beside the measured one), marked places on
    the axis. Every overlay is labelled as fitted in the legend."""

    name: str
    measure: str = "accuracy"
    line: tuple[PlotPoint, ...] = ()
    points: tuple[PlotPoint, ...] = ()
    marks: tuple[tuple[float, str], ...] = ()


@dataclass(frozen=True)
class Figure:
    """A plot of an analysis's own: figures of one `key` on one task are drawn together, a series per
    curve. `kind`: scaling (x on the curve's axis, log scale) or reliability (confidence against
    accuracy)."""

    key: str
    title: str
    series: tuple[tuple[str, tuple[PlotPoint, ...]], ...]
    kind: Literal["scaling", "reliability"] = "scaling"
    y_label: str = "accuracy"
    y_range: tuple[float, float] | None = None
    reference: float | None = None
    reference_label: str = "chance"


class AnalysisResult(Record):
    """The base of every analysis's record. `text`: the result in one line, as reports print it."""

    text: str = Field(description="The result in one line, as reports print it.")

    def lines(self) -> list[VerdictLine]:
        """The report's sentences for this result (default: `text`)."""
        return [VerdictLine(self.text)] if self.text else []

    def cells(self) -> dict[str, str]:
        """Table cells by model: a per-model figure of this result (default: none)."""
        return {}

    def overlays(self) -> list[Overlay]:
        """What to draw over the curve's own plot (default: nothing)."""
        return []

    def figures(self) -> list[Figure]:
        """Plots of this result's own (default: none)."""
        return []


class Analysis(ABC):
    """One analysis: `analyse` is the one method to write. `name` keys its results in summary.json;
    `title` leads its lines in reports; `column` heads its table column (where it has cells); `axes`
    are the curves it reads."""

    name: ClassVar[str]
    title: ClassVar[str]
    column: ClassVar[str] = ""
    axes: ClassVar[frozenset[Axis]] = frozenset({"params", "rank", "tokens", "compute"})

    @abstractmethod
    def analyse(self, curve: Curve) -> AnalysisResult | None:
        """The result on `curve`, or None where it has nothing to say (no line, no cell)."""


@dataclass
class CurveResult:
    """A curve and what each analysis found on it, by analysis name (in registry order)."""

    curve: Curve
    results: dict[str, AnalysisResult] = field(default_factory=dict)
    titles: dict[str, str] = field(default_factory=dict)
    columns: dict[str, str] = field(default_factory=dict)

    def dump(self) -> dict[str, object]:
        """As summary.json holds it: the curve's identity, its points (model and x) and the results."""
        return {
            "curve": self.curve.id.model_dump(mode="json"),
            "chance": self.curve.chance,
            "points": [{"model": p.model, "x": p.x} for p in self.curve.points],
            "results": {
                name: {"type": type(found).__name__, **found.model_dump(mode="json")}
                for name, found in self.results.items()
            },
        }
