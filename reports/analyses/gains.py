"""Does guidance pay off only above a size? Chain of thought against plain prompting (the same models,
items and scoring mode) and instruction tuning (instruct against the base model of the same family, size
and checkpoint): the paired gain at each size (`reports.analyses.guidance.paired_gain`) and a verdict
along the curve (`guidance_verdict`). A curve of models without a size gets the gains and no verdict."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from benchmark.records import Record
from reports.analyses.base import (
    Analysis,
    AnalysisResult,
    Axis,
    Curve,
    Figure,
    PlotPoint,
    VerdictLine,
)
from reports.analyses.guidance import GuidanceKind, SizeGain, guidance_verdict, paired_gain
from reports.analyses.shape import interval_text


class GainAt(Record):
    """Accuracy with guidance minus without, for one model, on the items both conditions answered."""

    model: str
    x: float
    estimate: float
    low: float
    high: float
    p: float = Field(description="Exact McNemar test of the paired outcomes.")
    n: int = Field(description="Items in the pair.")


class GuidanceVerdictRecord(Record):
    """A verdict on guidance along one curve's sizes."""

    kind: GuidanceKind = Field(
        description="helps (from some size on), hurts (below some size), hurts then helps, never helps, "
        "or inconclusive."
    )
    text: str = Field(description="The verdict as reports print it, e.g. 'helps from size 62B'.")
    helps_from: float | None = Field(
        default=None, description="Smallest size from which every larger size measured gains significantly."
    )
    hurts_below: float | None = Field(
        default=None, description="First size above an unbroken run of significant losses from the smallest."
    )
    reason: str = Field(description="The gain at each size with its interval, McNemar p and items.")
    sizes: list[float] = Field(default_factory=list, description="The sizes the verdict speaks for.")


class GuidanceResult(AnalysisResult):
    """The gains of one guided curve against its unguided twin, and the verdict along its sizes."""

    against: Literal["plain", "base"] = Field(description="What the guided curve is compared with.")
    gains: list[GainAt]
    verdict: GuidanceVerdictRecord | None = Field(
        default=None, description="None on a curve of models without a size."
    )

    def lines(self) -> list[VerdictLine]:
        if self.verdict is None:
            return []
        return [VerdictLine("", self.verdict.text, f". {self.verdict.reason}")]

    def cells(self) -> dict[str, str]:
        return {g.model: interval_text(g.estimate, g.low, g.high, g.p) for g in self.gains}

    def figures(self) -> list[Figure]:
        if self.verdict is None:
            return []
        points = tuple(PlotPoint(g.x, g.estimate, g.low, g.high, g.model) for g in self.gains)
        return [
            Figure(
                key="gain",
                title="gain from guidance",
                series=((f"− {self.against}", points),),
                y_label="gain (accuracy points)",
                y_range=(-1.0, 1.0),
                reference=0.0,
                reference_label="no gain",
            )
        ]


class _Guidance(Analysis):
    against: ClassVar[Literal["plain", "base"]]
    axes: ClassVar[frozenset[Axis]] = frozenset({"params", "rank", "none"})

    def analyse(self, curve: Curve) -> GuidanceResult | None:
        twin = curve.plain if self.against == "plain" else curve.base
        if twin is None:
            return None
        unguided = {p.model if self.against == "plain" else p.x: p for p in twin.points}
        gains: list[SizeGain] = []
        records: list[GainAt] = []
        for point in curve.points:
            other = unguided.get(point.model if self.against == "plain" else point.x)
            if other is None:
                continue
            base = {o.item_id: o.correct for o in other.outcomes}
            guided = {o.item_id: o.correct for o in point.outcomes}
            shared = sorted(base.keys() & guided.keys())
            if not shared:
                continue
            gain = paired_gain(point.x, [base[i] for i in shared], [guided[i] for i in shared])
            gains.append(gain)
            g = gain.gain
            records.append(GainAt(model=point.model, x=point.x, estimate=g.estimate, low=g.low, high=g.high,
                                  p=gain.p_value, n=gain.n))  # fmt: skip
        if not records:
            return None
        verdict = None
        if curve.id.axis != "none":
            found = guidance_verdict(gains, curve.x_text)
            verdict = GuidanceVerdictRecord(
                kind=found.kind,
                text=found.text(curve.x_text),
                helps_from=found.helps_from,
                hurts_below=found.hurts_below,
                reason=found.reason,
                sizes=list(found.sizes),
            )
        text = f"{verdict.text}. {verdict.reason}" if verdict else "; ".join(
            f"{r.model} {interval_text(r.estimate, r.low, r.high, r.p)}" for r in records
        )  # fmt: skip
        return GuidanceResult(text=text, against=self.against, gains=records, verdict=verdict)


class ChainOfThought(_Guidance):
    """Chain of thought against plain prompting, both scored the same way, on the same items."""

    name = "cot"
    title = "Chain of thought against plain prompting (same scoring)"
    column = "vs plain, same scoring [95% CI], McNemar p"
    against = "plain"


class InstructionTuning(_Guidance):
    """An instruct model against the base model of the same family, size and checkpoint."""

    name = "instruct"
    title = "Instruction tuning (instruct against base of the same size)"
    column = "instruct vs base, same size [95% CI], McNemar p"
    against = "base"
