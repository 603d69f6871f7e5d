"""What bench's own analyses say about Michaelov & Bergen 2023's published Pythia curves.

    python -m reports.published.through_analyses

prints a markdown table, one row per Inverse Scaling Prize task: the shape, crossing, turn and
predictability of the curve over size at the final checkpoint (step143000), the shape and
predictability of the largest size (12B) over training tokens, and beside them the authors' own
regression tests (`AUTHORS_TESTS`). docs/reproducing.md's "What the analyses say about Pythia on the prize
tasks" is its output.

The published numbers (reports/references.yaml, the `pythia-*` references: 8 sizes x 8 checkpoints x 10
tasks, each with its item count n) become summary rows of a family `pythia-checkpoints`, laid out as
curves by the same code as a run's rows (`reports.analyses.curves.build_curves`): over parameters at
each checkpoint, over training tokens at each size. A published point has an accuracy and an item
count but no per-item outcomes, so each point gets k = round(accuracy * n) correct of n items, and
its OWN item ids (`<model>@<revision>:<i>`): which items a model got right is not published, so the
statistics treat every size and every checkpoint as an independent sample of items (unpaired
differences, unpaired bootstrap) rather than pair them on items, which would be invented. Paired
outcomes of the same items would give narrower intervals, so these verdicts are if anything cautious.

Pure: no I/O beyond reading references.yaml through `reports.references.load_references`.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from benchmark.schemas import SummaryRow
from benchmark.sizes import format_size
from reports.analyses import analyses
from reports.analyses.base import AnalysisResult, Curve, CurveResult
from reports.analyses.curves import Answered, build_curves
from reports.analyses.fitted import CrossingResult, PredictabilityResult, TurnResult
from reports.analyses.shape import ShapeResult
from reports.keys import Outcome, row_key
from reports.references import PublishedPoint, Reference, load_references

PREFIX = "pythia-"
"""The references of the file that hold Michaelov & Bergen's curves (one per task)."""
FAMILY = "pythia-checkpoints"
FINAL = "step143000"
"""The last checkpoint: the released models."""
CHANCE = 0.5
"""Guessing accuracy: every item of the ten prize tasks has two classes (tasks/published/catalog.yaml
gives chance 0.5 for each isp_ task; tests/unit/reports/test_published_analyses.py checks that they agree)."""
SEED = 0
"""The seed of every bootstrap (curve seeds derive from it and the curve's identity)."""
SOURCE = "reports/references.yaml (published)"

AUTHORS = "jmichaelov/emergent-inabilities@eb36a6c85b852601f283c4a045221b44373fb987"
AUTHORS_FILE = f"{AUTHORS}:statistical_analysis/statistical_tests.tsv"
AUTHORS_TESTS: dict[str, tuple[str, str, str]] = {
    "isp_hindsight_neglect": ("t(60)=-4.22, p<0.001", "t(60)=-4.69, p<0.001", "t(60)=-2.88, p=0.012"),
    "isp_into_the_unknown": ("t(60)=-0.31, p=0.824", "t(60)=2.04, p=0.079", "t(60)=0.02, p=0.986"),
    "isp_memo_trap": ("t(60)=-10.05, p<0.001", "t(60)=-11.34, p<0.001", "t(60)=-9.71, p<0.001"),
    "isp_modus_tollens": ("t(60)=-0.16, p=0.927", "t(60)=-2.13, p=0.071", "t(60)=-1.5, p=0.208"),
    "isp_neqa": ("t(60)=0.79, p=0.559", "t(60)=-0.08, p=0.963", "t(60)=2.45, p=0.034"),
    "isp_pattern_matching_suppression": (
        "t(60)=-3.2, p=0.005", "t(60)=-9.58, p<0.001", "t(60)=-6.37, p<0.001"
    ),
    "isp_redefine": ("t(60)=0.6, p=0.645", "t(60)=-0.79, p=0.559", "t(60)=-1.53, p=0.205"),
    "isp_repetitive_algebra": ("t(60)=-0.49, p=0.706", "t(60)=-2.11, p=0.071", "t(60)=-1, p=0.443"),
    "isp_resisting_correction": ("t(60)=5.13, p<0.001", "t(60)=5.63, p<0.001", "t(60)=-1.89, p=0.104"),
    "isp_sig_figs": ("t(60)=-0.59, p=0.645", "t(60)=-0.74, p=0.574", "t(60)=-1.46, p=0.215"),
}  # fmt: skip
"""The authors' own tests, verbatim from `AUTHORS_FILE` (columns Parameters, Tokens, Interaction): per
task, a linear regression over its 64 points of standardised accuracy on standardised log10(size),
log10(tokens) and their product (`lm`, statistical_analysis/StatisticalAnalysis.Rmd), p adjusted by
Benjamini-Hochberg over all the tests of the file (its two TruthfulQA tasks included)."""


Keep = Callable[[PublishedPoint], bool]


def everything(point: PublishedPoint) -> bool:
    """Keep every published point."""
    return True


def items(accuracy: float, n: int) -> int:
    """How many of n items were right at a published accuracy: round(accuracy * n)."""
    return round(accuracy * n)


def published_rows(reference: Reference, keep: Keep = everything) -> tuple[list[SummaryRow], Answered]:
    """A summary row per published point of `reference` that `keep` keeps, and its items:
    k = round(accuracy * n) correct of n, each point with its own item ids (no pairing across sizes
    or checkpoints)."""
    rows: list[SummaryRow] = []
    answered: Answered = {}
    for curve in reference.curves:
        task = curve.task or reference.tasks[0]
        for point in filter(keep, curve.points):
            n = point.n or curve.n
            if n is None or point.model is None or point.revision is None:
                raise ValueError(f"{task}: a published point without its item count, model or revision")
            correct = items(point.accuracy, n)
            model = f"{point.model}@{point.revision}"
            row = SummaryRow(
                task=task, task_params=dict(curve.requires), task_version="published",
                prompting=curve.prompting, model=model, provider="published", params=int(point.params),
                scripted=False, family=FAMILY, variant=curve.variant, hub_id=point.model,
                revision=point.revision, tokens=point.tokens, n=n, correct=correct, accuracy=correct / n,
                ci_low=None, ci_high=None, chance=CHANCE, extraction_failures=0, errors=0,
                scoring=curve.scoring or "logprob",
            )  # fmt: skip
            rows.append(row)
            answered[row_key(row)] = [
                Outcome(item_id=f"{model}:{i}", correct=i < correct, confidence=None) for i in range(n)
            ]
    return rows, answered


def published_curves(reference: Reference, keep: Keep = everything) -> list[Curve]:
    """The reference's curves as the analyses read them: over parameters (one per checkpoint) and over
    training tokens (one per size), of the points `keep` keeps; the curves over compute are left out
    (at one checkpoint all sizes share their tokens, so compute is parameters shifted on a log axis).
    A curve's seed depends on its identity only, so leaving out other points changes none of it."""
    rows, answered = published_rows(reference, keep)
    return [c for c in build_curves(rows, answered, SEED) if c.id.axis in ("params", "tokens")]


def analyse(curve: Curve) -> CurveResult:
    """Every analysis (shipped, then other packages') that reads the curve's axis, on the curve."""
    found = CurveResult(curve)
    for analysis in analyses():
        if curve.id.axis in analysis.axes:
            record = analysis.analyse(curve)
            if record is not None:
                found.results[analysis.name] = record
                found.titles[analysis.name] = analysis.title
    return found


@dataclass(frozen=True)
class TaskFindings:
    """What the analyses say about one task's published curves."""

    task: str
    reference: str
    over_size: CurveResult
    """The curve over parameters at `FINAL`."""
    over_tokens: CurveResult
    """The curve over training tokens at the largest size."""


def pythia_references(references: Mapping[str, Reference] | None = None) -> dict[str, Reference]:
    """The `pythia-*` references, by name, sorted."""
    found = load_references() if references is None else references
    return {name: found[name] for name in sorted(found) if name.startswith(PREFIX)}


def task_findings(name: str, reference: Reference) -> TaskFindings:
    """The final checkpoint over size and the largest size over tokens, each through the analyses."""
    largest = max(p.params for c in reference.curves for p in c.points)
    curves = published_curves(reference, lambda p: p.revision == FINAL or p.params == largest)
    over_size = [c for c in curves if c.id.axis == "params" and c.id.revision == FINAL]
    tokens = [c for c in curves if c.id.axis == "tokens"]
    if len(over_size) != 1 or not tokens:
        raise ValueError(f"{name}: no curve over size at {FINAL}, or none over tokens")
    at_largest = max(tokens, key=lambda c: c.id.size or 0.0)
    return TaskFindings(over_size[0].id.task, name, analyse(over_size[0]), analyse(at_largest))


def findings(references: Mapping[str, Reference] | None = None) -> list[TaskFindings]:
    """`task_findings` of every Pythia reference, sorted by task."""
    found = [task_findings(n, r) for n, r in pythia_references(references).items()]
    return sorted(found, key=lambda f: f.task)


def kind(result: AnalysisResult | None) -> str:
    """A record's verdict word: a shape, a fit's kind (predictability: by accuracy), or `—` where the
    analysis said nothing about the curve."""
    if isinstance(result, ShapeResult):
        return result.verdict
    if isinstance(result, CrossingResult | TurnResult) and result.fit is not None:
        return result.fit.kind
    if isinstance(result, PredictabilityResult) and result.fits:
        return result.fits[0].kind
    return "—" if result is None else result.text


def detail(result: AnalysisResult | None) -> str:
    """What a verdict found, in brief: a shape's threshold or minimum, the size of a crossing or turn
    with its 95% interval, the measured minus predicted accuracy of the largest size with its interval."""
    if isinstance(result, ShapeResult):
        return result.where.strip().strip("()")
    if isinstance(result, CrossingResult) and result.fit is not None and result.fit.kind == "fitted":
        fit = result.fit
        return _size_interval(fit.midpoint, fit.midpoint_low, fit.midpoint_high, fit.axis)
    if isinstance(result, TurnResult) and result.fit.kind != "inconclusive" and result.fit.marks:
        mark = result.fit.marks[0]
        return _size_interval(mark.x, mark.low, mark.high, result.fit.axis)
    if isinstance(result, PredictabilityResult) and result.fits:
        f = result.fits[0]
        if f.difference is not None and f.difference_low is not None and f.difference_high is not None:
            low, high = f.difference_low * 100, f.difference_high * 100
            return f"{f.difference * 100:+.1f} [{low:+.1f}, {high:+.1f}] points"
    return ""


def _size_interval(x: float | None, low: float | None, high: float | None, axis: str) -> str:
    if x is None or low is None or high is None:
        return ""
    unit = " tokens" if axis == "tokens" else ""
    return f"{format_size(x)}{unit} [{format_size(low)}, {format_size(high)}]"


def _cell(result: AnalysisResult | None) -> str:
    found, more = kind(result), detail(result)
    return f"{found} ({more})" if more else found


def _accuracies(result: CurveResult) -> str:
    return " ".join(f"{p.accuracy * 100:.0f}" for p in result.curve.points)


HEADER = [
    "task",
    "authors: size",
    "authors: tokens",
    "authors: size × tokens",
    f"accuracy % at {FINAL}, 70M … 12B",
    "shape over size",
    "crossing halfway",
    "turn",
    "12B predicted from the smaller sizes (measured − predicted)",
    f"accuracy % of 12B, step2000 … {FINAL}",
    "shape over tokens (12B)",
    f"{FINAL} predicted from the earlier checkpoints (12B)",
]


def table_rows(found: Iterable[TaskFindings]) -> list[list[str]]:
    """The table's cells (`HEADER`): the task, the authors' three tests, then bench's analyses of the
    curve over size at `FINAL` and of the largest size over training tokens."""
    rows = []
    for f in found:
        size, tokens = f.over_size.results, f.over_tokens.results
        rows.append(
            [
                f.task,
                *AUTHORS_TESTS.get(f.task, ("?", "?", "?")),
                _accuracies(f.over_size),
                *(_cell(size.get(name)) for name in ("shape", "crossing", "turn", "predictability")),
                _accuracies(f.over_tokens),
                *(_cell(tokens.get(name)) for name in ("shape", "predictability")),
            ]
        )
    return rows


def markdown(found: Iterable[TaskFindings]) -> str:
    """The table as markdown (no cell holds a `|`)."""
    lines = ["| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    lines += ["| " + " | ".join(cells) + " |" for cells in table_rows(found)]
    return "\n".join(lines) + "\n"


def main() -> int:
    sys.stdout.write(markdown(findings()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
