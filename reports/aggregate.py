"""Samples to summary rows: pure aggregation, no I/O."""

from __future__ import annotations

import math
from array import array
from collections.abc import Iterable
from dataclasses import dataclass, field

from benchmark.schemas import Manifest, Sample, SummaryRow
from benchmark.stats import accuracy_interval, class_probabilities
from reports.analysis import Outcome, annotate


@dataclass
class Tally:
    """Running totals of one (task, prompting, model): memory per item is one Outcome, not a Sample."""

    first: Sample
    answered: list[Outcome] = field(default_factory=list)
    errors: int = 0
    extraction_failures: int = 0
    scoring: set[str] = field(default_factory=set)
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
        confidence = (
            max(class_probabilities(list(sample.class_logprobs.values()))) if sample.class_logprobs else None
        )
        self.answered.append(Outcome(sample.item_id, sample.correct, confidence))
        self.extraction_failures += sample.extraction_failed
        self.scoring.add(sample.scoring)
        for key, value in sample.metrics.items():
            self.metric_values.setdefault(key, array("d")).append(value)


def summarize(samples: Iterable[Sample], manifest: Manifest) -> list[SummaryRow]:
    """One row per (task, prompting, model), ordered by task, prompting, then parameter count.

    Reads `samples` once, keeping per item only what the statistics need. Samples that ended in an
    error (no answer after the retry budget) are counted in `errors` and left out of `n` and accuracy:
    they were not answered wrongly, they were not answered.
    """
    chance = {t.name: t.chance for t in manifest.tasks}
    task_order = {t.name: i for i, t in enumerate(manifest.tasks)}
    prompting_order = {(t.name, p): i for t in manifest.tasks for i, p in enumerate(t.promptings)}
    tallies: dict[tuple[str, str, str], Tally] = {}
    for sample in samples:
        key = (sample.task, sample.prompting, sample.model)
        tally = tallies.get(key)
        if tally is None:
            tally = tallies[key] = Tally(sample)
        tally.add(sample)

    rows: list[SummaryRow] = []
    groups: dict[tuple[str, str, str], list[Outcome]] = {}
    for (task, prompting, model), tally in tallies.items():
        # Item order, not the order answers arrived (concurrency, resumed runs): same samples, same row.
        tally.answered.sort(key=lambda o: o.item_id)
        groups[(task, prompting, model)] = tally.answered
        outcomes = [o.correct for o in tally.answered]
        n = len(outcomes)
        low, high = accuracy_interval(outcomes) if n else (None, None)
        first = tally.first
        rows.append(
            SummaryRow(
                task=task,
                task_version=first.task_version,
                prompting=prompting,
                model=model,
                provider=first.provider,
                params=first.params,
                scripted=first.scripted,
                family=first.family,
                variant=first.variant,
                size_rank=first.size_rank,
                n=n,
                correct=sum(outcomes),
                accuracy=sum(outcomes) / n if n else None,
                ci_low=low,
                ci_high=high,
                chance=chance.get(task, 0.0),
                extraction_failures=tally.extraction_failures,
                errors=tally.errors,
                scoring="+".join(sorted(tally.scoring)) or "none",
                # fsum is exactly rounded: the same means whatever order the answers arrived in
                metrics={k: math.fsum(v) / len(v) for k, v in sorted(tally.metric_values.items())},
                prompt_tokens=tally.prompt_tokens,
                completion_tokens=tally.completion_tokens,
                cost_usd=round(math.fsum(tally.costs), 6) if tally.costs else None,
            )
        )
    rows.sort(
        key=lambda r: (
            task_order.get(r.task, len(task_order)),
            r.task,
            prompting_order.get((r.task, r.prompting), len(prompting_order)),
            r.prompting,
            r.params is None,
            r.params or 0,
            r.size_rank or 0,
            r.family or "",
            r.variant or "",
            r.model,
        )
    )
    return annotate(rows, groups, manifest.seed)
