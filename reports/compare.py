"""Merge run directories (other families, other dates) into one, to report them side by side."""

from __future__ import annotations

from pathlib import Path

from benchmark.errors import UsageError
from benchmark.rundir import RunDir
from benchmark.schemas import Manifest, ModelInfo, TaskInfo
from benchmark.variants import VariantKey, task_label, variant_key


def merge_runs(runs: list[RunDir], target: Path, command: list[str]) -> RunDir:
    """Write the samples of `runs` into a new run directory at `target` under one manifest.

    Refused, before anything is written, when the runs used different seeds or different `--limit`s
    (their items differ: a curve would join points measured on different items), or when a task
    variant (a task with its parameters) has a different version in two runs (its items or scoring
    differ). Variants only one run has are kept as they are. A model label used by two runs gets the
    run's folder name appended.
    """
    if len(runs) < 2:
        raise UsageError("bench compare needs at least two run directories")
    manifests = [run.read_manifest() for run in runs]
    first = manifests[0]
    tasks = _comparable_tasks(runs, manifests)
    models: list[ModelInfo] = []
    relabel: list[dict[str, str]] = []
    for run, manifest in zip(runs, manifests, strict=True):
        mapping = {}
        for model in manifest.models:
            label, taken = model.label, {m.label for m in models}
            if label in taken:
                label = f"{label} ({run.path.name})"
            while label in taken:  # two runs in folders of the same name
                label += "'"
            mapping[model.label] = label
            models.append(model.model_copy(update={"label": label}))
        relabel.append(mapping)
    merged = Manifest(
        tool_version=first.tool_version,
        command=command,
        seed=first.seed,
        limit=first.limit,
        tasks=tasks,
        models=models,
        started_at=min(m.started_at for m in manifests),
        finished_at=max((m.finished_at for m in manifests if m.finished_at), default=None),
    )
    out = RunDir.create(target)
    out.write_manifest(merged)
    for run, mapping in zip(runs, relabel, strict=True):
        for sample in run.iter_samples():
            out.append_sample(sample.model_copy(update={"model": mapping.get(sample.model, sample.model)}))
    out.close()
    return out


def _comparable_tasks(runs: list[RunDir], manifests: list[Manifest]) -> list[TaskInfo]:
    """The task variants of all runs, once each; a UsageError when the runs' items differ."""
    first = manifests[0]
    tasks: dict[tuple[str, VariantKey], tuple[TaskInfo, RunDir]] = {}
    for run, manifest in zip(runs, manifests, strict=True):
        if manifest.seed != first.seed:
            raise UsageError(
                f"cannot compare {runs[0].path} and {run.path}: they used seeds {first.seed} and "
                f"{manifest.seed}, so their items differ; rerun one with --seed {first.seed}"
            )
        if manifest.limit != first.limit:
            raise UsageError(
                f"cannot compare {runs[0].path} and {run.path}: they used --limit {first.limit} and "
                f"{manifest.limit}, so their items differ; rerun one with --limit {first.limit}"
            )
        for task in manifest.tasks:
            seen = tasks.get((task.name, variant_key(task.params)))
            if seen is None:
                tasks[(task.name, variant_key(task.params))] = (task, run)
            elif seen[0].version != task.version:
                raise UsageError(
                    f"cannot compare: task {task_label(task.name, task.params)} is version "
                    f"{seen[0].version} in {seen[1].path} but version {task.version} in {run.path}; "
                    "rerun one of them so both use the same task version"
                )
    return [task for task, _ in tasks.values()]
