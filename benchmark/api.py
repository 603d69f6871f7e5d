"""bench from Python, for notebooks: `run(...)` does what `bench run` does and returns the run directory;
`load_run(path)` reads a run back (its manifest, samples and summary), as pandas DataFrames (the
`pandas` extra: `pip install -e '.[pandas]'`) or, with `as_frames=False`, as lists of records.

    from benchmark import run, load_run

    path = run(provider="scripted", models=["calculator@1B"], tasks=["arithmetic:digits=1-3"], limit=20)
    result = load_run(path)
    result.summary[["task_params", "prompting", "accuracy", "ci_low", "ci_high"]]

`run` takes `bench run`'s options as keyword arguments (`tasks` for --task, `models` for --model,
`families` for --family; the rest by their option names, `max_cost=0.5`), checks them the same way, and
writes the same run directory, so `bench run --resume PATH` and `bench report PATH` work on it. Bad
options raise `benchmark.errors.BenchError` with the CLI's one-line message.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from benchmark.errors import BenchError, UsageError
from benchmark.schemas import Manifest, SummaryRow

if TYPE_CHECKING:
    from benchmark.runner import Progress, ProviderFactory

_RENAMED = {"tasks": "task_specs"}
"""Python names that differ from the click parameter they set."""
_NOT_HERE = {"resume_dir"}  # a resume is `bench run --resume PATH`


def run(*, progress: bool | Progress = False, factory: ProviderFactory | None = None, **options: Any) -> Path:
    """Run as `bench run` would with `options` (see the module's opening comment) and return the run
    directory. `progress=True` shows the progress bar and the per-model tables on the terminal; a
    `Progress` of one's own (benchmark/runner.py) is told what the runner does instead (perf/ times a
    run this way). `factory` loads each model (default `providers.create`); one that wraps the
    providers it makes observes every call a run makes through the provider interface."""
    import providers
    from benchmark import cli, runconfig
    from benchmark.rundir import RunDir, default_run_path
    from benchmark.runner import Runner
    from providers.http_api import redact
    from reports import build_reports
    from reports.terminal import print_tables

    params, argv = _params(cli.run, options)
    params["provider_options"] = runconfig.given_options(params)
    config = runconfig.config_from(params, ["bench", "run", *(redact(word) for word in argv)])
    path = params["out"] or default_run_path()
    RunDir.check_new(path)
    cache = runconfig.CacheChoice(params["cache_dir"], params["no_cache"]).open()
    try:
        run_dir = RunDir.create(path)
        try:
            shown = _progress(progress)
            Runner(config, run_dir, shown, cache=cache, factory=factory or providers.create).run()
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


def _params(command: click.Command, options: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """`options` as the click parameters of `bench run` (defaults filled in, each value converted and
    checked as click would), and as the command line that asks for the same run."""
    by_name = {param.name: param for param in command.params if isinstance(param, click.Option)}
    params: dict[str, Any] = dict(command.make_context("run", []).params)  # the defaults, as click gives them
    argv: list[str] = []
    for key, value in options.items():
        name = _RENAMED.get(key, key)
        param = by_name.get(name)
        if param is None or name in _NOT_HERE or key == "task_specs":
            known = sorted({*by_name, *_RENAMED} - {*_RENAMED.values(), *_NOT_HERE})
            raise UsageError(f"run() has no option {key!r}; options: {', '.join(known)}")
        params[name] = _converted(param, key, value, params.get(name))
        argv += _words(param, params[name])
    return params, argv


def _converted(param: click.Option, key: str, value: Any, default: Any) -> Any:
    """`value` checked and converted as click would; None only where the option's default is None
    (an option left out), never in place of a number such as `seed`."""
    if value is None and (default is not None or param.multiple or param.is_flag):
        shown = "" if param.multiple else f", {default!r}"
        raise UsageError(f"{param.opts[0]}: None is not a value; leave {key} out for its default{shown}")
    try:
        if param.multiple:
            values = [value] if isinstance(value, str | Path) else list(value)
            return tuple(param.type.convert(item, param, None) for item in values)
        if value is None:
            return None
        return param.type.convert(value, param, None)
    except click.BadParameter as exc:
        raise UsageError(f"{param.opts[0]}: {exc.message}") from None
    except TypeError:
        raise UsageError(f"{param.opts[0]}: cannot read {value!r}") from None


def _words(param: click.Option, value: Any) -> list[str]:
    """The command-line words that set `param` to `value`."""
    flag = param.opts[0]
    if param.is_flag:
        return [flag] if value else []
    if value is None:
        return []
    values = value if param.multiple else (value,)
    return [word for item in values for word in (flag, str(item))]


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
