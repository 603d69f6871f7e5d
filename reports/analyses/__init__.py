"""The analysis layer: a run's rows laid out as curves (`curves.build_curves`), and the analyses that turn
each curve into a typed record (`base.Analysis`). The shipped analyses are listed in `SHIPPED`, in the
order reports show them; other packages add theirs under the entry-point group `bench.analyses`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from benchmark.errors import BenchError, UsageError
from benchmark.registry import Registry
from benchmark.schemas import SummaryRow, TaskInfo
from benchmark.variants import VariantKey, variant_key
from reports.analyses.base import Analysis, AnalysisResult, Curve, CurveResult
from reports.analyses.calibrated import Calibration
from reports.analyses.curves import Answered, build_curves
from reports.analyses.fitted import Crossing, Predictable, Trend, Turn
from reports.analyses.gains import ChainOfThought, InstructionTuning
from reports.analyses.shape import ContinuousAnalysis, ShapeAnalysis, StepsAnalysis

GROUP = "bench.analyses"

SHIPPED: list[type[Analysis]] = [
    ShapeAnalysis,
    StepsAnalysis,
    ChainOfThought,
    InstructionTuning,
    ContinuousAnalysis,
    Crossing,
    Turn,
    Trend,
    Predictable,
    Calibration,
]
"""bench's own analyses, in the order reports show them."""


def _in_code() -> Mapping[str, type[Analysis]]:
    return {a.name: a for a in SHIPPED}


ANALYSES: Registry[Analysis] = Registry(GROUP, "analysis", Analysis, builtin=_in_code)


def analyses() -> list[Analysis]:
    """The shipped analyses in their order, then those of other packages by name."""
    shipped = [a() for a in SHIPPED]
    others = [ANALYSES[name]() for name in ANALYSES if name not in _in_code()]
    return shipped + others


def run_analyses(
    rows: list[SummaryRow],
    answered: Answered,
    seed: int,
    tasks: Mapping[tuple[str, VariantKey], TaskInfo] | None = None,
) -> list[CurveResult]:
    """Every analysis on every curve of `rows` whose axis it reads; `answered` holds each row's answered
    items in item order, `tasks` the manifest's entry of each task variant (by name and parameters).
    A curve with no result is left out."""
    chosen = analyses()
    found = []
    for built in build_curves(rows, answered, seed):
        own = (tasks or {}).get((built.id.task, variant_key(built.id.task_params)))
        curve = replace(built, task=own)
        result = CurveResult(curve)
        for analysis in chosen:
            if curve.id.axis not in analysis.axes:
                continue
            record = _analyse(analysis, curve)
            if record is not None:
                result.results[analysis.name] = record
                result.titles[analysis.name] = analysis.title
                if analysis.column:
                    result.columns[analysis.name] = analysis.column
        if result.results:
            found.append(result)
    return found


def _analyse(analysis: Analysis, curve: Curve) -> AnalysisResult | None:
    """One analysis on one curve; another package's analysis that fails is one line naming it."""
    if type(analysis) in SHIPPED:
        return analysis.analyse(curve)
    try:
        record = analysis.analyse(curve)
    except BenchError:
        raise
    except Exception as exc:  # noqa: BLE001 - another package's code, as one line
        reason = next(iter(str(exc).splitlines()), "")
        raise UsageError(
            f"analysis {analysis.name!r} ({type(analysis).__module__}) failed on the curve "
            f"{curve.id.task} · {curve.id.prompting} · {curve.id.label()}: {type(exc).__name__}: {reason}"
        ) from None
    if record is not None and not isinstance(record, AnalysisResult):
        raise UsageError(
            f"analysis {analysis.name!r} ({type(analysis).__module__}) returned a "
            f"{type(record).__name__}, not a reports.analyses.base.AnalysisResult"
        )
    return record


__all__ = ["ANALYSES", "SHIPPED", "Analysis", "AnalysisResult", "Curve", "CurveResult", "run_analyses"]
