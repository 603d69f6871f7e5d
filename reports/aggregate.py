"""Samples to summary rows: pure aggregation, no I/O."""

from __future__ import annotations

from collections.abc import Iterable

from benchmark.schemas import Manifest, Sample, SummaryRow
from benchmark.stats import bootstrap_accuracy_ci, stable_seed
from reports.analysis import annotate


def summarize(samples: Iterable[Sample], manifest: Manifest) -> list[SummaryRow]:
    """One row per (task, prompting, model), ordered by task, prompting, then parameter count.

    Samples that ended in an error (no answer after the retry budget) are counted in `errors` and
    left out of `n` and accuracy: they were not answered wrongly, they were not answered.
    """
    chance = {t.name: t.chance for t in manifest.tasks}
    task_order = {t.name: i for i, t in enumerate(manifest.tasks)}
    prompting_order = {(t.name, p): i for t in manifest.tasks for i, p in enumerate(t.promptings)}
    groups: dict[tuple[str, str, str], list[Sample]] = {}
    for sample in samples:
        groups.setdefault((sample.task, sample.prompting, sample.model), []).append(sample)

    rows: list[SummaryRow] = []
    for (task, prompting, model), group in groups.items():
        # Item order, not the order answers arrived (concurrency, resumed runs): same samples, same row.
        group.sort(key=lambda s: s.item_id)
        answered = [s for s in group if s.error is None]
        outcomes = [s.correct for s in answered]
        n = len(outcomes)
        low, high = (
            bootstrap_accuracy_ci(outcomes, stable_seed(manifest.seed, task, prompting, model))
            if n
            else (None, None)
        )
        first = group[0]
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
                extraction_failures=sum(s.extraction_failed for s in answered),
                errors=len(group) - n,
                scoring="+".join(sorted({s.scoring for s in answered})) or "none",
                metrics=_mean_metrics(answered),
                prompt_tokens=sum(s.prompt_tokens or 0 for s in group),
                completion_tokens=sum(s.completion_tokens or 0 for s in group),
                cost_usd=_total_cost(group),
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


def _mean_metrics(samples: list[Sample]) -> dict[str, float]:
    """Mean of each continuous measure over the samples that recorded it."""
    values: dict[str, list[float]] = {}
    for sample in samples:
        for key, value in sample.metrics.items():
            values.setdefault(key, []).append(value)
    return {key: sum(v) / len(v) for key, v in sorted(values.items())}


def _total_cost(samples: list[Sample]) -> float | None:
    costs = [s.cost_usd for s in samples if s.cost_usd is not None]
    return round(sum(costs), 6) if costs else None
