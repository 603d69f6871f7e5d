"""The command line. The one place where our errors become one line on stderr and exit code 2.

`bench run` (a run and its resume), `bench report` and `bench compare` are here; the run's
settings record is built from the parsed options by benchmark/settings.py (as `benchmark.run` builds it
from keyword arguments) and resolved into the runner's plan, checked, by benchmark/runconfig.py; what a
run says before and after it (the models to load, how it went, its exit code) is benchmark/outcome.py;
the listing commands (`bench families`, `bench tasks`, `bench providers`) are benchmark/catalog.py.
Over 400 lines: `bench run`'s twenty-odd options are declared here, with their help, as click wants
them, and that alone takes 160 lines."""

from __future__ import annotations

import contextlib
import faulthandler
import shlex
import sys
from pathlib import Path
from typing import Any

import click
from click.core import ParameterSource
from rich.console import Console

import providers
from benchmark import __version__, catalog, outcome, settings
from benchmark.cache import ResponseCache
from benchmark.errors import BenchError, StorageError
from benchmark.interrupts import interrupts
from benchmark.jobs import SCORING_CHOICES
from benchmark.runconfig import MAX_ATTEMPTS, CacheChoice, RunPlan, plan_run, resumed_base_url
from benchmark.rundir import RunDir, default_run_path
from benchmark.runner import Runner
from benchmark.settings import RunSettings
from benchmark.terminal import RichProgress, plain
from providers.base import LOCAL_WEIGHTS, MAX_THREADS
from providers.http_api import REDACTED, public_url, redact, url_secrets
from reports import build_reports
from reports.terminal import print_tables


@click.group()
@click.version_option(__version__, prog_name="bench")
def cli() -> None:
    """Measure how language-model abilities change with model size."""


@cli.command()
@click.option(
    "--provider", default="local", show_default=True, help=f"One of: {', '.join(providers.names())}."
)
@click.option(
    "--model",
    "models",
    multiple=True,
    help="Model id, one per size (repeatable). local: a .gguf path or REPO:FILE; default Gemma-3-270M.",
)
@click.option(
    "--task",
    "tasks",
    multiple=True,
    help="NAME or NAME:key=value,... (repeatable); default: the whole suite.",
)
@click.option(
    "--prompting",
    type=click.Choice(["plain", "cot", "both"]),
    default="both",
    show_default=True,
    help="plain; cot (every chain-of-thought condition a task has: few-shot cot, zero-shot "
    "cot_zeroshot); both: all of them. With cot, the default suite leaves out tasks that have none.",
)
@click.option(
    "--scoring",
    type=click.Choice(SCORING_CHOICES),
    default="both",
    show_default=True,
    help="Choice items under plain prompting, on a model with log-probs: scored by class log-prob and "
    "by generated answer (both: two rows), or one of them. Chain of thought is always scored by its "
    "generated answer, and its gain is computed against plain prompting scored the same way.",
)
@click.option(
    "--limit",
    type=int,
    default=RunSettings.model_fields["limit"].default,
    show_default=True,
    help="Items per task and prompting condition.",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the items and intervals.")
@click.option("--concurrency", type=int, default=1, show_default=True, help="Requests in flight per model.")
@click.option(
    "--base-url", default=None, help="Server URL for API providers (vLLM, TGI, llama.cpp server, ...)."
)
@click.option("--timeout", type=float, default=60.0, show_default=True, help="Seconds per request.")
@click.option(
    "--max-attempts",
    type=int,
    default=RunSettings.model_fields["max_attempts"].default,
    show_default=True,
    help=f"Attempts per request, the first included (1 to {MAX_ATTEMPTS}): rate limits and transient "
    "errors are retried with backoff; a malformed answer is asked once.",
)
@click.option(
    "-P",
    "--provider-option",
    "provider_option",
    multiple=True,
    metavar="KEY=VALUE",
    help="One of the provider's own options (repeatable), checked against it: `bench providers show "
    "NAME` lists them. A provider from another package declares its own.",
)
@click.option(
    "--api",
    type=click.Choice(["auto", "completions", "chat"]),
    default=None,
    help="-P api=...: openai, hf-inference: completions (base models) or chat (chat models); default auto.",
)
@click.option(
    "--weights",
    type=click.Choice(LOCAL_WEIGHTS),
    default=None,
    help="-P weights=...: local: native (default) computes with the file's quantized kernels; f32 "
    "dequantizes the weights once to float32 (a copy under the cache folder, about 4 bytes a parameter) "
    "for the numbers transformers and lm-evaluation-harness get from the same file.",
)
@click.option(
    "--dtype",
    type=click.Choice(["auto", "float32", "bfloat16", "float16"]),
    default=None,
    help="-P dtype=...: hf: what the weights compute in (default auto: bfloat16 on a GPU, float32 on a CPU).",
)
@click.option(
    "--threads",
    type=click.IntRange(1, MAX_THREADS),
    default=None,
    help="-P threads=...: local, hf: threads the engine computes with (default: the CPUs this process may "
    "use, after its affinity and any container CPU quota). Does not change the numbers; may be changed "
    "on --resume.",
)
@click.option(
    "--chat-template",
    type=click.Choice(["auto", "on", "off"]),
    default="auto",
    show_default=True,
    help="local, hf: wrap each prompt in the model's chat template (auto: for a family's instruct "
    "members only; base models get the raw prompt).",
)
@click.option(
    "--max-params",
    default=None,
    help="Leave out the family members larger than this (e.g. 3B).",
)
@click.option(
    "--sizes",
    default=None,
    help="Run only the family members of these sizes, comma-separated (e.g. 70M,410M: within 5% of a "
    "member's parameter count); an unknown size is refused with the family's sizes.",
)
@click.option(
    "--checkpoints",
    default=None,
    help="Run only the family members at these training checkpoints (Hub revisions), comma-separated "
    "(e.g. step2000,step143000 of pythia-checkpoints); an unknown one is refused with the family's.",
)
@click.option(
    "--max-cost",
    type=float,
    default=None,
    help="Stop before the estimated cost in dollars of the whole run (its resumes included) would exceed "
    "this (providers/prices.yaml); exit code 3. A --resume may raise it.",
)
@click.option(
    "--family",
    "families",
    multiple=True,
    help="Run every member of a model family (a shipped name or a .yaml file; repeatable).",
)
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    default=None,
    help="Run directory to create (default: runs/<timestamp>).",
)
@click.option(
    "--resume",
    "resume_dir",
    type=click.Path(path_type=Path),
    default=None,
    help="Finish an interrupted run directory: with the options it began with, asking only for the "
    "samples it does not have yet.",
)
@click.option(
    "--cache-dir",
    type=click.Path(path_type=Path),
    default=None,
    help="Folder of the response cache (default: $BENCH_CACHE_DIR, else ~/.cache/bench).",
)
@click.option("--no-cache", is_flag=True, help="Neither read answers from the cache nor store them.")
def run(
    provider: str,
    models: tuple[str, ...],
    tasks: tuple[str, ...],
    prompting: str,
    scoring: str,
    limit: int,
    seed: int,
    concurrency: int,
    base_url: str | None,
    timeout: float,
    max_attempts: int,
    provider_option: tuple[str, ...],
    api: str | None,
    weights: str | None,
    dtype: str | None,
    threads: int | None,
    chat_template: str,
    max_params: str | None,
    sizes: str | None,
    checkpoints: str | None,
    max_cost: float | None,
    families: tuple[str, ...],
    out: Path | None,
    resume_dir: Path | None,
    cache_dir: Path | None,
    no_cache: bool,
) -> None:
    """Run tasks on every model and write a run directory with samples, summary and reports.

    Exit code 0: every item answered; 1: some items failed after the retries (recorded as errors), or
    a file could not be written (a full disk: resume with the command shown); 2: bad input; 3: stopped
    by --max-cost; 130: interrupted (resume with --resume)."""
    if resume_dir is not None:
        _resume(resume_dir)
        return
    command = ["bench", *(redact(arg) for arg in sys.argv[1:])]  # no password or token is written down
    plan = plan_run(settings.from_params(click.get_current_context().params), command)
    path = out or default_run_path()
    RunDir.check_new(path)  # a bad --out is refused before the cache is created
    choice = CacheChoice(cache_dir, no_cache)
    cache = choice.open()
    try:
        run_dir = RunDir.create(path)
    except BaseException:
        if cache is not None:
            cache.close()
        raise
    outcome.print_footprints(plan)
    _execute(plan, run_dir, cache, _resume_hint(run_dir, plan, choice), resume=False)


def _resume_hint(run_dir: RunDir, plan: RunPlan, choice: CacheChoice) -> str:
    """The command that finishes this run, to be copied: its cache choice, and a --base-url to give
    back when the run's own held a secret."""
    words = ["bench", "run", "--resume", str(run_dir.path), *choice.flags()]
    base_url = plan.options.base_url
    if base_url and url_secrets(base_url):
        words += ["--base-url", public_url(base_url)]
    hint = " ".join(shlex.quote(word) for word in words)
    return hint + (f" (with the password or token in place of {REDACTED})" if REDACTED in hint else "")


RESUME_OPTIONS = {"resume_dir", "cache_dir", "no_cache", "base_url", "threads", "max_cost"}


def _resume(path: Path) -> None:
    """Re-read the options of the run in `path` from its manifest and finish it."""
    ctx = click.get_current_context()
    given = [
        name
        for name in ctx.params
        if name not in RESUME_OPTIONS and ctx.get_parameter_source(name) is ParameterSource.COMMANDLINE
    ]
    if given:
        flags = ", ".join("--" + name.replace("_", "-") for name in given)
        raise BenchError(
            f"--resume finishes a run with the options it began with; leave out {flags} "
            "(only --cache-dir, --no-cache and --threads may change, --max-cost may be raised, and "
            "--base-url may give back its password)"
        )
    run_dir = RunDir.open(path)
    run_dir.lock()
    try:
        plan, choice, cache = _resume_plan(run_dir, ctx)
    except BaseException:
        run_dir.release()
        raise
    _execute(plan, run_dir, cache, _resume_hint(run_dir, plan, choice), resume=True)


def _resume_plan(run_dir: RunDir, ctx: click.Context) -> tuple[RunPlan, CacheChoice, ResponseCache | None]:
    """The plan of the locked run in `run_dir`, read from its manifest, and its cache: the
    run's own --cache-dir or --no-cache, unless the resume gives one."""
    path = run_dir.path
    manifest = run_dir.read_manifest()
    original = manifest.settings or _settings_from_command(path, manifest.command, ctx)  # before schema 4
    changes: dict[str, Any] = {"base_url": resumed_base_url(path, original.base_url, ctx.params["base_url"])}
    if ctx.get_parameter_source("threads") is ParameterSource.COMMANDLINE:  # the machine may be busier now
        changes["provider_options"] = {**original.provider_options, "threads": ctx.params["threads"]}
    if ctx.get_parameter_source("max_cost") is ParameterSource.COMMANDLINE:  # the run's cap, raised
        changes["max_cost"] = ctx.params["max_cost"]
    plan = plan_run(original.model_copy(update=changes), manifest.command)
    if any(
        ctx.get_parameter_source(name) is ParameterSource.COMMANDLINE for name in ("cache_dir", "no_cache")
    ):
        choice = CacheChoice(ctx.params["cache_dir"], ctx.params["no_cache"])
    else:
        kept = None if original.cache_dir is None else Path(original.cache_dir)
        choice = CacheChoice(kept, original.no_cache)
    cache = choice.open()
    try:
        dropped = run_dir.repair()
    except BaseException:
        if cache is not None:
            cache.close()
        raise
    if dropped:
        click.echo(
            f"dropped a torn last line of samples.jsonl ({dropped} bytes; that item is asked again)", err=True
        )
    return plan, choice, cache


def _settings_from_command(path: Path, command: list[str], ctx: click.Context) -> RunSettings:
    """The options of a run written before schema 4, read from the command line it kept."""
    args = command[1:]
    if not args or args[0] != "run":
        raise BenchError(f"{path / 'manifest.json'}: its command is not a bench run: {' '.join(args)}")
    original = run.make_context("run", list(args[1:]), parent=ctx.parent)
    if original.params["resume_dir"] is not None:
        raise BenchError(f"{path / 'manifest.json'}: its command is itself a --resume")
    return settings.from_params(original.params)


def _execute(
    plan: RunPlan, run_dir: RunDir, cache: ResponseCache | None, resume_hint: str, resume: bool
) -> None:
    """Run, report, and say how it went; Ctrl-C keeps every finished sample and prints `resume_hint`."""
    try:
        _run_and_report(plan, run_dir, cache, resume_hint, resume)
    finally:
        run_dir.release()


def _run_and_report(
    plan: RunPlan, run_dir: RunDir, cache: ResponseCache | None, resume_hint: str, resume: bool
) -> None:
    console = Console(stderr=True, soft_wrap=True)  # lines of paths and commands are never wrapped
    progress = RichProgress(console)
    runner = Runner(plan, run_dir, progress, cache=cache, resume=resume)
    try:
        with interrupts(runner, run_dir, progress, resume_hint):
            runner.run()
        run_dir.close()
        summary = build_reports(run_dir)
    except KeyboardInterrupt:
        with contextlib.suppress(StorageError):
            run_dir.close()
        kept = sum(1 for _ in run_dir.iter_samples())
        click.echo(  # not wrapped: the command is to be copied
            plain(
                f"interrupted: {kept} samples are saved in {run_dir.path}; finish the run with: {resume_hint}"
            ),
            err=True,
        )
        sys.exit(130)
    except BenchError as exc:
        raise outcome.failed(run_dir, exc, resume, resume_hint) from None
    finally:
        with contextlib.suppress(StorageError):
            run_dir.close()
        if cache is not None:
            cache.close()
    code = outcome.tell(console, runner, run_dir, summary, resume, resume_hint)
    if code:
        sys.exit(code)


@cli.command()
@click.argument("run_dir", type=click.Path(path_type=Path))
@click.option(
    "--reference",
    default="all",
    show_default=True,
    help="Published results to draw on the plots and hold the run against (reports/references.yaml): "
    "all (those whose task matches), none, or one reference's name; never in the run's statistics.",
)
def report(run_dir: Path, reference: str) -> None:
    """Rebuild summary.json, summary.csv, report.md and report.html from a run (no model is called)."""
    from reports.references import load_reference, load_references

    if reference == "all":
        published = load_references()
    elif reference == "none":
        published = {}
    else:
        published = {reference: load_reference(reference)}
    run = RunDir.open(run_dir)
    run.lock()
    try:
        summary = build_reports(run, published)
    except StorageError as exc:
        raise StorageError(
            f"{exc}; the run's samples are unchanged (each report file is whole, old or new): free some "
            f"space, then run: bench report {shlex.quote(str(run_dir))}"
        ) from None
    finally:
        run.release()
    print_tables(summary)


@cli.command()
@click.argument("run_dirs", nargs=-1, type=click.Path(path_type=Path))
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    default=None,
    help="Run directory to create with the merged runs (default: runs/compare-<timestamp>).",
)
def compare(run_dirs: tuple[Path, ...], out: Path | None) -> None:
    """Merge runs of different families or dates into one report (same seed and task versions)."""
    from reports.compare import merge_runs

    runs = [RunDir.open(path) for path in run_dirs]
    merged = merge_runs(runs, out or default_run_path(prefix="compare-"), ["bench", *sys.argv[1:]])
    try:
        summary = build_reports(merged)
    finally:
        merged.release()
    print_tables(summary)
    click.echo(plain(f"run directory: {merged.path}"), err=True)


cli.add_command(catalog.families_group)
cli.add_command(catalog.tasks_group)
cli.add_command(catalog.providers_group)


def main(argv: list[str] | None = None) -> None:
    """Entry point of the `bench` script: our errors and click's usage errors are one line, exit 2."""
    # A crash in a native engine (llama.cpp, torch) kills the process before Python can say anything;
    # the self-test of a new llama.cpp build catches the usual case first (providers/llama_engine.py),
    # and this names any other: "Fatal Python error: Illegal instruction" and where it happened.
    faulthandler.enable()
    try:
        cli.main(args=argv, prog_name="bench", standalone_mode=False)
    except BenchError as exc:
        click.echo(f"bench: error: {plain(str(exc), lines=False)}", err=True)
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        click.echo(f"bench: error: {plain(exc.format_message(), lines=False)}", err=True)
        sys.exit(2)
    except click.exceptions.Abort:
        click.echo("bench: interrupted", err=True)
        sys.exit(130)
    except KeyboardInterrupt:
        click.echo("bench: interrupted; samples finished so far are in the run directory", err=True)
        sys.exit(130)
