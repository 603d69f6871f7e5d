"""bench from Python, for notebooks: `run(...)` does what `bench run` does and returns the run directory;
`load_run(path)` reads a run back (its manifest, samples and summary), as pandas DataFrames (the
`pandas` extra: `pip install -e '.[pandas]'`) or, with `as_frames=False`, as lists of records.

    from benchmark import run, load_run

    path = run(provider="scripted", models=["calculator@1B"], tasks=["arithmetic:digits=1-3"], limit=20)
    result = load_run(path)
    result.summary[["task_params", "prompting", "accuracy", "ci_low", "ci_high"]]

`run` takes `bench run`'s options as keyword arguments, the fields of the one run configuration
`benchmark.settings.RunSettings` (`tasks` for --task, `models` for --model, `families` for --family,
`provider_options={"threads": 2}` for -P, the shorthands `threads=2`, ...; the rest by their option
names, `max_cost=0.5`) and `out`; builds that record as the command line does (benchmark/settings.py,
no click), checks it the same way, and writes the same run directory, so `bench run --resume PATH` and
`bench report PATH` work on it. Bad options raise `benchmark.errors.BenchError` with the CLI's one-line
message.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from benchmark.errors import BenchError
from benchmark.schemas import Manifest, SummaryRow

if TYPE_CHECKING:
    from benchmark.runner import Progress, ProviderFactory


def run(
    *,
    progress: bool | Progress = False,
    factory: ProviderFactory | None = None,
    out: str | Path | None = None,
    **options: Any,
) -> Path:
    """Run as `bench run` would with `options` (see the module's opening comment) and write the run
    directory at `out` (default runs/<timestamp>); return its path. `progress=True` shows the progress
    bar and the per-model tables on the terminal; a `Progress` of one's own (benchmark/progress.py) is
    told what the runner does instead (perf/ times a run this way). `factory` loads each model (default
    `providers.create`); one that wraps the providers it makes observes every call a run makes through
    the provider interface."""
    import providers
    from benchmark import runconfig, settings
    from benchmark.rundir import RunDir, default_run_path
    from benchmark.runner import Runner
    from reports import build_reports
    from reports.terminal import print_tables

    chosen = settings.from_options(options)
    plan = runconfig.plan_run(chosen)  # the command line the manifest keeps: the one asking for `chosen`
    path = Path(out) if out is not None else default_run_path()
    RunDir.check_new(path)
    kept = None if chosen.cache_dir is None else Path(chosen.cache_dir)
    cache = runconfig.CacheChoice(kept, chosen.no_cache).open()
    try:
        run_dir = RunDir.create(path)
        try:
            shown = _progress(progress)
            Runner(plan, run_dir, shown, cache=cache, factory=factory or providers.create).run()
            run_dir.close()
            summary = build_reports(run_dir)
        except BenchError:
            run_dir.discard()  # a run that failed before its first sample leaves nothing behind
            raise
        finally:
            run_dir.close()
            run_dir.release()
    finally:
        if cache is not None:
            cache.close()
    if progress is True:
        print_tables(summary)
    return run_dir.path


def _progress(progress: bool | Progress) -> Progress:
    from rich.console import Console

    from benchmark.runner import SilentProgress
    from benchmark.terminal import RichProgress

    if isinstance(progress, bool):
        return RichProgress(Console(stderr=True)) if progress else SilentProgress()
    return progress


@dataclass(frozen=True)
class LoadedRun:
    """A run directory read back: what was run (`manifest`), every sample, and the summary rows (one
    per model, task variant, prompting condition and scoring mode, with intervals and verdicts)."""

    path: Path
    manifest: Manifest
    samples: Any
    """A pandas DataFrame, one row per sample, or a list of dicts (`as_frames=False`)."""
    summary: Any
    """A pandas DataFrame, one row per summary row (continuous measures as `metric_*` columns, a
    published-curve check as `reproduction.*`), or a list of dicts as in summary.json's `rows`."""
    analyses: Any
    """A pandas DataFrame, one row per curve and analysis: the curve's fields (task, prompting, scoring,
    family, variant, axis, ...), `analysis` (its name), `text` (its one-line result) and the record's
    other fields (nested ones as JSON-like objects); or a list of dicts as in summary.json's `curves`."""


def load_run(path: str | Path, as_frames: bool = True) -> LoadedRun:
    """Read the run directory at `path`. The summary is computed from the samples, as `bench report`
    does (nothing in the folder is written). `as_frames`: DataFrames (pandas needed: without it a
    BenchError says how to install it), or lists of records (False)."""
    from benchmark.rundir import RunDir
    from reports import summarize

    pandas = _pandas() if as_frames else None  # before the run is read: a missing pandas is said at once
    folder = RunDir.open(Path(path))
    manifest = folder.read_manifest()
    read = list(folder.iter_samples())  # samples.jsonl read once, for the samples and the summary
    samples = [sample.model_dump(mode="json") for sample in read]
    summary = summarize(read, manifest)
    rows = summary.rows
    curves = [c.dump() for c in summary.curves]
    if pandas is None:
        return LoadedRun(
            folder.path, manifest, samples, [row.model_dump(mode="json") for row in rows], curves
        )
    table = pandas.DataFrame([row.flat() for row in rows], columns=SummaryRow.columns(rows))
    analyses = [
        {**curve["curve"], "analysis": name, **found}  # type: ignore[dict-item]
        for curve in curves
        for name, found in curve["results"].items()  # type: ignore[attr-defined]
    ]
    return LoadedRun(folder.path, manifest, pandas.DataFrame(samples), table, pandas.DataFrame(analyses))


def _pandas() -> Any:
    """pandas, or a BenchError saying how to install it (never lists where DataFrames were expected)."""
    try:
        import pandas
    except ImportError:
        raise BenchError(
            "load_run gives pandas DataFrames, and pandas is not installed: pip install -e '.[pandas]' "
            "(or load_run(path, as_frames=False) for lists of records)"
        ) from None
    return pandas
