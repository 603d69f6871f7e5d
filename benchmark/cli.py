"""The command line. The one place where our errors become one line on stderr and exit code 2."""

from __future__ import annotations

import faulthandler
import math
import shlex
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
from click.core import ParameterSource
from rich.console import Console
from rich.table import Table

import providers
import tasks as task_registry
from benchmark import __version__
from benchmark.cache import ResponseCache, default_cache_dir
from benchmark.errors import BenchError
from benchmark.families import load_family
from benchmark.families import shipped as shipped_families
from benchmark.jobs import SCORING_CHOICES
from benchmark.rundir import RunDir, default_run_path, write_atomic
from benchmark.runner import ModelSpec, RunConfig, Runner, TaskPlan
from benchmark.sizes import format_size, parse_size
from benchmark.terminal import RichProgress, plain, print_tables, shown, stdout_console
from benchmark.variants import task_label, variant_key
from providers.base import LOCAL_WEIGHTS, ProviderOptions
from providers.http_api import REDACTED, public_url, redact, url_secrets
from reports import build_reports
from reports.tables import pct

OWN_OPTIONS = {"api": "auto", "weights": "native", "dtype": "auto"}
"""Flags of one provider's own options (its `Options` model's fields) and their defaults: a value other
than the default goes to the provider, and one that the run's provider does not take is refused."""
DEFAULT_LIMIT = 20
MAX_CONCURRENCY = 1024
"""Requests in flight per model; more would only queue (the HTTP client keeps 256 connections)."""
MAX_TIMEOUT = 86400
"""Seconds per request: a day. nan and inf are refused too (nan failed every request at once, inf let a
hanging server hang the run)."""


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
    "task_specs",
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
    default=DEFAULT_LIMIT,
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
    "--api",
    type=click.Choice(["auto", "completions", "chat"]),
    default="auto",
    show_default=True,
    help="openai: completions (base models) or chat (chat models).",
)
@click.option(
    "--weights",
    type=click.Choice(LOCAL_WEIGHTS),
    default="native",
    show_default=True,
    help="local: native computes with the file's quantized kernels; f32 dequantizes the weights once "
    "to float32 (a copy under the cache folder, about 4 bytes a parameter) for the numbers "
    "transformers and lm-evaluation-harness get from the same file.",
)
@click.option(
    "--dtype",
    type=click.Choice(["auto", "float32", "bfloat16", "float16"]),
    default="auto",
    show_default=True,
    help="hf: what the weights compute in (auto: bfloat16 on a GPU, float32 on a CPU).",
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
    "--max-cost",
    type=float,
    default=None,
    help="Stop before the estimated cost in dollars would exceed this (providers/prices.yaml).",
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
    task_specs: tuple[str, ...],
    prompting: str,
    scoring: str,
    limit: int,
    seed: int,
    concurrency: int,
    base_url: str | None,
    timeout: float,
    api: str,
    weights: str,
    dtype: str,
    chat_template: str,
    max_params: str | None,
    max_cost: float | None,
    families: tuple[str, ...],
    out: Path | None,
    resume_dir: Path | None,
    cache_dir: Path | None,
    no_cache: bool,
) -> None:
    """Run tasks on every model and write a run directory with samples, summary and reports.

    Exit code 0: every item answered; 1: some items failed after the retries (recorded as errors);
    2: bad input; 130: interrupted (resume with --resume)."""
    if resume_dir is not None:
        _resume(resume_dir)
        return
    command = ["bench", *(redact(arg) for arg in sys.argv[1:])]  # no password or token is written down
    config = _config(click.get_current_context().params, command)
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
    _print_footprints(config)
    _execute(config, run_dir, cache, _resume_hint(run_dir, config, choice), resume=False)


@dataclass(frozen=True)
class CacheChoice:
    """A run's --cache-dir and --no-cache: the response cache it uses, kept by --resume."""

    directory: Path | None = None
    """--cache-dir; None: the default ($BENCH_CACHE_DIR, else ~/.cache/bench)."""
    off: bool = False
    """--no-cache."""

    def open(self) -> ResponseCache | None:
        return None if self.off else ResponseCache(self.directory or default_cache_dir())

    def flags(self) -> list[str]:
        if self.off:
            return ["--no-cache"]
        return ["--cache-dir", str(self.directory)] if self.directory is not None else []


def _resume_hint(run_dir: RunDir, config: RunConfig, choice: CacheChoice) -> str:
    """The command that finishes this run, to be copied: its cache choice, and a --base-url to give
    back when the run's own held a secret."""
    words = ["bench", "run", "--resume", str(run_dir.path), *choice.flags()]
    base_url = config.options.base_url
    if base_url and url_secrets(base_url):
        words += ["--base-url", public_url(base_url)]
    hint = " ".join(shlex.quote(word) for word in words)
    return hint + (f" (with the password or token in place of {REDACTED})" if REDACTED in hint else "")


def _config(params: dict[str, Any], command: list[str]) -> RunConfig:
    """The run that `bench run`'s options ask for, checked before anything is written."""
    limit, concurrency, max_cost, timeout = (
        params["limit"],
        params["concurrency"],
        params["max_cost"],
        params["timeout"],
    )
    if limit < 1:
        raise BenchError(f"--limit must be at least 1, not {limit}")
    if not 1 <= concurrency <= MAX_CONCURRENCY:
        raise BenchError(f"--concurrency must be from 1 to {MAX_CONCURRENCY}, not {concurrency}")
    if max_cost is not None and not (math.isfinite(max_cost) and max_cost >= 0):
        raise BenchError(f"--max-cost must be a number of dollars, 0 or more, not {max_cost}")
    if not (math.isfinite(timeout) and 0 < timeout <= MAX_TIMEOUT):
        raise BenchError(f"--timeout must be seconds above 0, at most {MAX_TIMEOUT}, not {timeout}")
    plans = []
    seen: set[tuple[str, object]] = set()
    for spec in params["task_specs"] or task_registry.DEFAULT_SUITE:
        for task in task_registry.create_all(spec):
            variant = (task.name, variant_key(task.params()))
            if variant in seen:
                raise BenchError(f"task {task_label(task.name, task.params())} is given twice; give it once")
            seen.add(variant)
            chosen = select_promptings(task.name, task.promptings, params["prompting"], strict=False)
            if not params["task_specs"] and not chosen:
                continue  # the default suite runs the tasks that have the asked condition
            plans.append(TaskPlan(task, select_promptings(task.name, task.promptings, params["prompting"])))
            _note_small_item_space(task, limit, params["seed"])
    own = {name: params[name] for name, default in OWN_OPTIONS.items() if params[name] != default}
    options = ProviderOptions(
        base_url=params["base_url"], timeout=timeout, chat_template=params["chat_template"], **own
    )
    specs = model_specs(params["provider"], params["models"], params["families"])
    specs = _within(specs, params["max_params"])
    _one_server_per_member(specs, options.base_url, params["families"])
    for member in specs:
        member_options = options.model_copy(update={"base_url": member.base_url or options.base_url})
        providers.preflight(member.provider, [member.model], member_options)
    return RunConfig(
        models=specs,
        tasks=plans,
        limit=limit,
        seed=params["seed"],
        concurrency=concurrency,
        max_cost=max_cost,
        command=command,
        options=options,
        scoring=params["scoring"],
    )


def _note_small_item_space(task: task_registry.Task, limit: int, seed: int) -> None:
    """One line when --limit asks for more items than the task variant has: it gives all it has."""
    count = task.item_count(seed)
    if count is not None and limit > count:
        click.echo(
            plain(
                f"{task_label(task.name, task.params())}: --limit {limit} is more than its {count} "
                f"distinct items; running all {count}"
            ),
            err=True,
        )


def _within(specs: list[ModelSpec], max_params: str | None) -> list[ModelSpec]:
    """The members no larger than --max-params (members of undisclosed size stay)."""
    if max_params is None:
        return specs
    limit = parse_size(max_params)
    kept = [s for s in specs if s.params is None or s.params <= limit]
    if not kept:
        raise BenchError(f"--max-params {max_params} leaves out every model")
    return kept


def _one_server_per_member(specs: list[ModelSpec], base_url: str | None, families: tuple[str, ...]) -> None:
    """A --base-url names one server, which serves one model: a family of several sizes needs a server
    per member."""
    shared = [s for s in specs if s.base_url is None]
    if base_url and families and len(shared) > 1:
        raise BenchError(
            f"--base-url would send all {len(shared)} members of {', '.join(families)} to one server, which "
            "serves one model; give each member its own server as base_url in a family file (copy "
            "`bench families show NAME`), or run one member with --model and --base-url"
        )


RESUME_OPTIONS = {"resume_dir", "cache_dir", "no_cache", "base_url"}


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
            "(only --cache-dir and --no-cache may change, and --base-url may give back its password)"
        )
    run_dir = RunDir.open(path)
    run_dir.lock()
    try:
        config, choice, cache = _resume_config(run_dir, ctx)
    except BaseException:
        run_dir.release()
        raise
    _execute(config, run_dir, cache, _resume_hint(run_dir, config, choice), resume=True)


def _resume_config(
    run_dir: RunDir, ctx: click.Context
) -> tuple[RunConfig, CacheChoice, ResponseCache | None]:
    """The configuration of the locked run in `run_dir`, read from its manifest, and its cache: the
    run's own --cache-dir or --no-cache, unless the resume gives one."""
    path = run_dir.path
    manifest = run_dir.read_manifest()
    args = manifest.command[1:]
    if not args or args[0] != "run":
        raise BenchError(f"{path / 'manifest.json'}: its command is not a bench run: {' '.join(args)}")
    original = run.make_context("run", list(args[1:]), parent=ctx.parent)
    if original.params["resume_dir"] is not None:
        raise BenchError(f"{path / 'manifest.json'}: its command is itself a --resume")
    original.params["base_url"] = _resumed_base_url(path, original.params["base_url"], ctx.params["base_url"])
    config = _config(original.params, manifest.command)
    given = any(
        ctx.get_parameter_source(name) is ParameterSource.COMMANDLINE for name in ("cache_dir", "no_cache")
    )
    chosen = ctx.params if given else original.params
    choice = CacheChoice(chosen["cache_dir"], chosen["no_cache"])
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
    return config, choice, cache


def _print_footprints(config: RunConfig) -> None:
    """Before a sweep of models loaded here: each size's download and the memory it needs."""
    found = []
    for spec in config.models:
        options = config.options.model_copy(update={"chat_template": "off"})
        footprint = providers.footprint(spec.provider, spec.model, options, spec.params)
        if footprint is not None:
            found.append((spec, footprint))
    if not found:
        return
    table = Table("model", "params", "to download", "memory needed", "free", title="models to load, in order")
    for spec, footprint in found:
        fits = "" if footprint.fits else " [bold]does not fit[/bold]"
        table.add_row(
            shown(spec.model or f"{spec.provider} default model"),
            format_size(spec.params),
            _bytes(footprint.download_bytes),
            _bytes(footprint.memory_bytes) + fits,
            f"{_bytes(footprint.available_bytes)} {footprint.where}",
        )
    Console(stderr=True).print(table)


def _bytes(count: int | None) -> str:
    if count is None:
        return "?"
    return f"{count / 1e9:.1f} GB" if count >= 1e8 else f"{count / 1e6:.0f} MB"


def _resumed_base_url(path: Path, recorded: str | None, given: str | None) -> str | None:
    """The --base-url of a resumed run: the one in its manifest, unless that had a password or token
    (written down as ***), which the resume must give again, the rest unchanged."""
    if given is None:
        if recorded is not None and REDACTED in recorded:
            raise BenchError(
                f"this run's --base-url {recorded} held a password or token, which bench never writes "
                f"down; give it again: bench run --resume {path} --base-url URL"
            )
        return recorded
    if recorded is None or public_url(given) != public_url(recorded):
        raise BenchError(
            f"--base-url with --resume may only give back the password or token of the run's own "
            f"--base-url ({recorded or 'none'}), not change it"
        )
    return given


def _execute(
    config: RunConfig, run_dir: RunDir, cache: ResponseCache | None, resume_hint: str, resume: bool
) -> None:
    """Run, report, and say how it went; Ctrl-C keeps every finished sample and prints `resume_hint`."""
    try:
        _run_and_report(config, run_dir, cache, resume_hint, resume)
    finally:
        run_dir.release()


def _run_and_report(
    config: RunConfig, run_dir: RunDir, cache: ResponseCache | None, resume_hint: str, resume: bool
) -> None:
    console = Console(stderr=True)
    progress = RichProgress(console)
    runner = Runner(config, run_dir, progress, cache=cache, resume=resume)
    try:
        runner.run()
    except KeyboardInterrupt:
        run_dir.close()
        kept = sum(1 for _ in run_dir.iter_samples())
        click.echo(  # not wrapped: the command is to be copied
            plain(
                f"interrupted: {kept} samples are saved in {run_dir.path}; finish the run with: {resume_hint}"
            ),
            err=True,
        )
        sys.exit(130)
    finally:
        run_dir.close()
        if cache is not None:
            cache.close()
    rows = build_reports(run_dir)
    print_tables(rows)
    if resume:
        console.print(f"resumed: {runner.kept} samples were already done")
    if progress.retries:
        console.print(f"retries: {progress.retries}")
    if cache is not None:
        console.print(
            f"model calls: {runner.requests}; answers from the cache: {cache.hits} ({shown(str(cache.path))})"
        )
    if runner.budget is not None:
        console.print(f"estimated cost: ${runner.budget.spent:.4f} of --max-cost ${runner.budget.limit:.4f}")
        if runner.budget.stopped:
            console.print(shown(runner.budget.stopped))
    console.print(f"run directory: {shown(str(run_dir.path))}")
    for model in (m for m in run_dir.read_manifest().models if m.error):
        console.print(f"not run: {shown(model.label)}: {shown(model.error or '')}")
    if runner.not_run:
        sys.exit(1)
    failed = sum(row.errors for row in rows)
    if failed:
        console.print(
            f"{failed} items got no answer after {config.max_attempts} attempts: recorded as errors "
            "(not counted as wrong); a new run asks for them again, the rest comes from the cache"
        )
        sys.exit(1)


def model_specs(provider: str, models: tuple[str, ...], families: tuple[str, ...]) -> list[ModelSpec]:
    """The models to run: --model ids for --provider, or every member of each --family."""
    if families and models:
        raise BenchError("give --model or --family, not both (add models to a family file instead)")
    if not families:
        ids: list[str | None] = list(models) or [None]
        return [ModelSpec(provider, model) for model in ids]
    specs = []
    for name in families:
        family = load_family(name)
        for m in family.members:
            specs.append(ModelSpec(m.provider, m.model, family.name, m.variant, m.params, m.rank, m.base_url))
    return specs


@cli.group(name="families")
def families_group() -> None:
    """Model families: the members of a family at several sizes."""


@families_group.command(name="list")
def families_list() -> None:
    """List the shipped families with their sizes and variants."""
    table = Table("family", "members", "sizes", "variants", "providers", "description")
    for path in shipped_families():
        family = load_family(path.stem)
        sizes = (
            "rank " + ", ".join(str(m.rank) for m in family.members)
            if family.by_rank
            else ", ".join(dict.fromkeys(format_size(m.params) for m in family.members))
        )
        table.add_row(
            *map(
                shown,
                (
                    family.name,
                    str(len(family.members)),
                    sizes,
                    ", ".join(dict.fromkeys(m.variant for m in family.members)),
                    ", ".join(dict.fromkeys(m.provider for m in family.members)),
                    family.description,
                ),
            )
        )
    stdout_console().print(table)


@families_group.command(name="show")
@click.argument("name")
def families_show(name: str) -> None:
    """Show the members of a family (a shipped name or a .yaml file)."""
    family = load_family(name)
    out = stdout_console()
    out.print(
        f"[bold]{shown(family.name)}[/bold] version {shown(family.version)}: {shown(family.description)}",
        highlight=False,
    )
    out.print(f"sizes from: {shown(family.source)}", highlight=False)
    size_column = "rank (undisclosed sizes)" if family.by_rank else "params"
    table = Table("provider", "model", size_column, "variant", "base_url")
    for m in family.members:
        size = str(m.rank) if family.by_rank else format_size(m.params)
        base_url = public_url(m.base_url) if m.base_url else ""
        table.add_row(*map(shown, (m.provider, m.model or "(default)", size, m.variant, base_url)))
    out.print(table)


@cli.command()
@click.argument("run_dir", type=click.Path(path_type=Path))
@click.option(
    "--reference",
    default=None,
    help="Overlay published curves on the plots (gsm8k-cot, gpt3-arithmetic); never in the statistics.",
)
def report(run_dir: Path, reference: str | None) -> None:
    """Rebuild summary.json, summary.csv, report.md and report.html from a run (no model is called)."""
    from reports.references import load_reference

    published = load_reference(reference) if reference else None
    run = RunDir.open(run_dir)
    run.lock()
    try:
        rows = build_reports(run, published)
    finally:
        run.release()
    print_tables(rows)


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
        rows = build_reports(merged)
    finally:
        merged.release()
    print_tables(rows)
    click.echo(plain(f"run directory: {merged.path}"), err=True)


@cli.group(name="tasks")
def tasks_group() -> None:
    """The task suite."""


@tasks_group.command(name="list")
def tasks_list() -> None:
    """List the tasks and shipped trap files with versions, prompting conditions and chance levels."""
    table = Table(
        "task", "version", "promptings", "chance", "variants (--task NAME:key=value)", "what it measures"
    )
    for name, cls in task_registry.TASKS.items():
        table.add_row(
            name,
            cls.version,
            ", ".join(cls.promptings),
            pct(cls.chance),
            task_registry.variants(cls),
            cls.description,
        )
    for path in task_registry.shipped_trap_files():
        task = task_registry.create(str(path))
        cells = (str(path), task.version, ", ".join(task.promptings), pct(task.chance), "", task.description)
        table.add_row(*map(shown, cells))
    stdout_console().print(table)


@tasks_group.command(name="show")
@click.argument("spec")
@click.option("--seed", type=int, default=0, show_default=True)
def tasks_show(spec: str, seed: int) -> None:
    """Show a task (NAME, NAME:key=value,... or a file): what it is, and its first prompt per condition;
    each variant of a sweep (arithmetic:digits=1-3) in turn."""
    out = stdout_console()
    for task in task_registry.create_all(spec):
        out.print(f"[bold]{shown(task.name)}[/bold] version {shown(task.version)}: {shown(task.description)}")
        out.print(
            plain(
                f"parameters: {task.params() or '-'}; chance {pct(task.chance)}; answers: {task.answer_type}"
            ),
            markup=False,
        )
        for prompting in task.promptings:
            [first] = task.instances(seed, 1, prompting)
            out.rule(shown(f"{prompting}: item {first.item_id}, target {first.target!r}"))
            out.print(plain(first.prompt), markup=False, highlight=False)


@tasks_group.command(name="validate")
@click.argument("path", type=click.Path(path_type=Path))
def tasks_validate(path: Path) -> None:
    """Check a task file (bench trap file, prize CSV/JSONL, BIG-bench task.json, GPT-3 JSONL)."""
    task = task_registry.load_file(path)
    count = len(task.instances(0, None, task.promptings[0]))
    click.echo(plain(f"{path}: OK, {count} items, {task.answer_type} answers, version {task.version}"))


@tasks_group.command(name="export")
@click.argument("spec")
@click.option("--format", "fmt", type=click.Choice(["prize-jsonl"]), default="prize-jsonl", show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--limit", type=int, default=None, help="Items to write (default: the task's full set).")
@click.option("--out", type=click.Path(path_type=Path), default=None, help="File to write (default: stdout).")
def tasks_export(spec: str, fmt: str, seed: int, limit: int | None, out: Path | None) -> None:
    """Write a choice task's plain items as Inverse Scaling Prize JSONL (prompt, classes, answer_index)."""
    from tasks.files import export_prize_jsonl

    if limit is not None and limit < 1:
        raise BenchError(f"--limit must be at least 1, not {limit}")
    task = task_registry.create(spec)
    text = export_prize_jsonl(task.instances(seed, limit, "plain"))
    if out is None:
        click.echo(text, nl=False)
        return
    try:
        write_atomic(out, text)
    except OSError as exc:
        raise BenchError(f"cannot write {out}: {exc.strerror or exc}") from None
    click.echo(plain(f"{out}: {text.count(chr(10))} items ({fmt})"), err=True)


def select_promptings(
    task: str, available: tuple[str, ...], selector: str, strict: bool = True
) -> tuple[str, ...]:
    """The task's prompting conditions picked by --prompting (plain, cot or both); none is an error
    when `strict`."""
    if selector == "both":
        return available
    chosen = tuple(p for p in available if p == selector or (selector == "cot" and p.startswith("cot")))
    if not chosen and strict:
        raise BenchError(f"task {task!r} has no prompting {selector!r}; it has: {', '.join(available)}")
    return chosen


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
        sys.exit(2)
    except click.ClickException as exc:
        click.echo(f"bench: error: {plain(exc.format_message(), lines=False)}", err=True)
        sys.exit(2)
    except click.exceptions.Abort:
        click.echo("bench: interrupted", err=True)
        sys.exit(130)
    except KeyboardInterrupt:
        click.echo("bench: interrupted; samples finished so far are in the run directory", err=True)
        sys.exit(130)
