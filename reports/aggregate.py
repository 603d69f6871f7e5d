"""Samples to summary rows: pure aggregation, no I/O."""

from __future__ import annotations

import math
from array import array
from collections.abc import Iterable
from dataclasses import dataclass, field

from benchmark.schemas import SCHEMA_VERSION, Manifest, Sample, SummaryRow, TaskInfo
from benchmark.variants import variant_key
from reports.analyses import AnalysisResult, CurveResult, run_analyses
from reports.analyses.base import Axis
from reports.analyses.intervals import accuracy_interval
from reports.analyses.reliability import class_probabilities
from reports.keys import Outcome, RowKey, row_key


@dataclass
class Summary:
    """A run summarised: a row per model, task variant, prompting and scoring mode, and the curves the
    rows lie on with what each analysis found on them."""

    rows: list[SummaryRow]
    curves: list[CurveResult]
    _by_row: dict[RowKey, list[CurveResult]] | None = field(default=None, repr=False, compare=False)

    def curves_for(self, row: SummaryRow) -> list[CurveResult]:
        """The curves `row` lies on, in order (found by the row's key, so a row copied after the
        analyses, as reproduction does, finds its curves too)."""
        if self._by_row is None:
            self._by_row = {}
            for found in self.curves:
                for key in dict.fromkeys(row_key(p.row) for p in found.curve.points):
                    self._by_row.setdefault(key, []).append(found)
        return self._by_row.get(row_key(row), [])

    def result(self, row: SummaryRow, name: str, axis: Axis | None = None) -> AnalysisResult | None:
        """The result of analysis `name` on a curve holding `row` (on `axis`, else the first such)."""
        for found in self.curves_for(row):
            if (axis is None or found.curve.id.axis == axis) and name in found.results:
                return found.results[name]
        return None

    def curves_of(self, rows: list[SummaryRow]) -> list[CurveResult]:
        """The curves with a point among `rows`, in order."""
        chosen = {id(c) for r in rows for c in self.curves_for(r)}
        return [c for c in self.curves if id(c) in chosen]

    def dump(self) -> dict[str, object]:
        """summary.json: the rows, then the curves with their results keyed by analysis name."""
        return {
            "schema_version": SCHEMA_VERSION,
            "rows": [row.model_dump(mode="json") for row in self.rows],
            "curves": [c.dump() for c in self.curves],
        }


@dataclass
class Tally:
    """Running totals of one (task, prompting, model): memory per item is one Outcome, not a Sample."""

    first: Sample
    params: dict[str, str]
    """The task variant's parameters."""
    answered: list[Outcome] = field(default_factory=list)
    errors: int = 0
    extraction_failures: int = 0
    truncated: int = 0
    metric_values: dict[str, array[float]] = field(default_factory=dict)
    """Packed doubles: 8 bytes per value and item."""
    prompt_tokens: int = 0
    completion_tokens: int = 0
    costs: array[float] = field(default_factory=lambda: array("d"))

    def add(self, sample: Sample) -> None:
        self.prompt_tokens += sample.prompt_tokens or 0
        self.completion_tokens += sample.completion_tokens or 0
        if sample.cost_usd is not None:
            self.costs.append(sample.cost_usd)
        if sample.error is not None:
            self.errors += 1
            return
        confidence = None
        metrics = sample.metrics
        if sample.class_logprobs:
            probabilities = class_probabilities(list(sample.class_logprobs.values()))
            confidence = max(probabilities)
            metrics = {**metrics, **class_measures(sample.class_logprobs, probabilities, sample.target)}
        self.answered.append(Outcome(sample.item_id, sample.correct, confidence, metrics))
        self.extraction_failures += sample.extraction_failed
        self.truncated += sample.truncated
        for key, value in metrics.items():
            self.metric_values.setdefault(key, array("d")).append(value)


def class_measures(
    logprobs: dict[str, float], probabilities: list[float], target: str | None
) -> dict[str, float]:
    """Continuous measures of an item scored by class log-probs (its correct class `target`):
    `target_logprob`, the log of the correct class's probability renormalised over the classes (the
    measure Schaeffer et al. 2023 read under a sudden accuracy curve), and `brier_score`, the multi-class
    Brier score sum over classes of (p − y)² (0 is certain and right, 2 certain and wrong). None where
    the target is not one of the classes or its probability is 0."""
    classes = list(logprobs)
    if target not in logprobs:
        return {}
    index = classes.index(target)
    top = max(logprobs.values())
    normaliser = top + math.log(math.fsum(math.exp(v - top) for v in logprobs.values()))
    log_target = logprobs[target] - normaliser
    if not math.isfinite(log_target):
        return {}
    brier = math.fsum((p - (1.0 if i == index else 0.0)) ** 2 for i, p in enumerate(probabilities))
    return {"target_logprob": log_target, "brier_score": brier}


def task_info(manifest: Manifest, name: str, params: dict[str, str]) -> TaskInfo | None:
    """The manifest's entry for a task variant; for samples written before variants were recorded
    (no task_params), the task's first entry."""
    same_name = [t for t in manifest.tasks if t.name == name]
    exact = [t for t in same_name if variant_key(t.params) == variant_key(params)]
    found = exact or (same_name if not params else [])
    return found[0] if found else None


def _only_params(manifest: Manifest, name: str) -> dict[str, str]:
    """The parameters of the task's one variant in the manifest; none when it has several or none."""
    same_name = [t for t in manifest.tasks if t.name == name]
    return dict(same_name[0].params) if len(same_name) == 1 else {}


def summarize(samples: Iterable[Sample], manifest: Manifest) -> Summary:
    """One row per (task variant, prompting, scoring mode, model), ordered by task variant, prompting,
    scoring mode, then parameter count.

    Reads `samples` once, keeping per item only what the statistics need. Samples that ended in an
    error (no answer after the retry budget) are counted in `errors` and left out of `n` and accuracy:
    they were not answered wrongly, they were not answered.
    """
    tallies: dict[RowKey, Tally] = {}
    for sample in samples:
        # Samples written before variants were recorded: the manifest's parameters, if it has one variant.
        params = sample.task_params or _only_params(manifest, sample.task)
        key = RowKey(sample.task, variant_key(params), sample.prompting, sample.scoring, sample.model)
        tally = tallies.get(key)
        if tally is None:
            tally = tallies[key] = Tally(sample, params)
        tally.add(sample)

    rows: list[SummaryRow] = []
    groups: dict[RowKey, list[Outcome]] = {}
    for key, tally in tallies.items():
        # Item order, not the order answers arrived (concurrency, resumed runs): same samples, same row.
        tally.answered.sort(key=lambda o: o.item_id)
        groups[key] = tally.answered
        rows.append(_row(tally, task_info(manifest, key.task, tally.params)))
    rows.sort(key=lambda r: _order(manifest, r))
    tasks = {(r.task, variant_key(r.task_params)): task_info(manifest, r.task, r.task_params) for r in rows}
    found = {key: info for key, info in tasks.items() if info is not None}
    return Summary(rows, run_analyses(rows, groups, manifest.seed, found))


def _row(tally: Tally, info: TaskInfo | None) -> SummaryRow:
    outcomes = [o.correct for o in tally.answered]
    n = len(outcomes)
    low, high = accuracy_interval(outcomes) if n else (None, None)
    first = tally.first
    return SummaryRow(
        task=first.task,
        task_params=tally.params,
        task_version=first.task_version,
        prompting=first.prompting,
        model=first.model,
        provider=first.provider,
        params=first.params,
        scripted=first.scripted,
        family=first.family,
        variant=first.variant,
        size_rank=first.size_rank,
        hub_id=first.hub_id,
        revision=first.revision,
        tokens=first.tokens,
        n=n,
        correct=sum(outcomes),
        accuracy=sum(outcomes) / n if n else None,
        ci_low=low,
        ci_high=high,
        chance=info.chance if info is not None else 0.0,
        extraction_failures=tally.extraction_failures,
        truncated=tally.truncated,
        errors=tally.errors,
        scoring=first.scoring,
        # fsum is exactly rounded: the same means whatever order the answers arrived in; summed at an
        # exact 2**-64 scale, no finite values overflow
        metrics={
            k: math.ldexp(math.fsum(math.ldexp(x, -64) for x in v) / len(v), 64)
            for k, v in sorted(tally.metric_values.items())
        },
        prompt_tokens=tally.prompt_tokens,
        completion_tokens=tally.completion_tokens,
        cost_usd=round(math.fsum(tally.costs), 6) if tally.costs else None,
    )


_SCORING_ORDER = {"logprob": 0, "generate": 1}


def _order(manifest: Manifest, row: SummaryRow) -> tuple[object, ...]:
    """Task variants in the manifest's order, then promptings in the task's order, log-prob before
    generated scoring, then by size, then by training tokens."""
    info = task_info(manifest, row.task, row.task_params)
    task_index = manifest.tasks.index(info) if info is not None else len(manifest.tasks)
    promptings = info.promptings if info is not None else []
    prompting_index = promptings.index(row.prompting) if row.prompting in promptings else len(promptings)
    key = row_key(row)
    return (
        task_index,
        key.task,
        key.variant,
        prompting_index,
        row.prompting,
        _SCORING_ORDER[row.scoring],
        row.params is None,
        row.params or 0,
        row.size_rank or 0,
        row.tokens is None,
        row.tokens or 0.0,
        row.family or "",
        row.variant or "",
        row.model,
    )
