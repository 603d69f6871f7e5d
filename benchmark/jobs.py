"""What a run asks of each model: one job per instance and scoring mode, and the key of its sample."""

from __future__ import annotations

from benchmark.schemas import Instance, Sample, ScoringMode
from benchmark.variants import VariantKey, variant_key
from tasks.base import Task

SampleKey = tuple[str, str, VariantKey, str, str, str]
"""(model label, task, task variant, prompting, scoring mode, item id): one sample of a run."""

SCORING_CHOICES = ("both", "logprob", "generate")
"""--scoring: how the plain condition of choice items is scored where the provider gives log-probs."""


def sample_key(model: str, task: Task, instance: Instance, mode: ScoringMode) -> SampleKey:
    return (model, instance.task, variant_key(task.params()), instance.prompting, mode, instance.item_id)


def saved_key(sample: Sample) -> SampleKey:
    return (
        sample.model,
        sample.task,
        variant_key(sample.task_params),
        sample.prompting,
        sample.scoring,
        sample.item_id,
    )


def scoring_modes(instance: Instance, supports_logprobs: bool, scoring: str) -> tuple[ScoringMode, ...]:
    """How one instance is scored. A choice item that allows log-prob scoring (plain prompting), asked
    of a provider with log-probs, is scored by `scoring`: both ways (two samples, two rows), by class
    log-probs only, or by its generated answer only. Every other instance is scored by its generated
    answer (numbers, text, and chain of thought, whose answer follows the reasoning)."""
    if instance.answer_type == "choice" and instance.logprob_scoring and supports_logprobs:
        if scoring == "both":
            return ("logprob", "generate")
        if scoring == "logprob":
            return ("logprob",)
    return ("generate",)
