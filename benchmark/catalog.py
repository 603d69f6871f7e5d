"""`bench families`, `bench tasks` and `bench providers`: what there is to run (listed, shown, validated,
exported), and each provider's own options."""

from __future__ import annotations

import sys
import typing
from pathlib import Path

import click
from pydantic.fields import FieldInfo
from rich.table import Table

import providers
import tasks as task_registry
from benchmark.errors import BenchError
from benchmark.families import load_family
from benchmark.families import shipped as shipped_families
from benchmark.prompting import PLAIN
from benchmark.rundir import write_atomic
from benchmark.sizes import format_size
from benchmark.terminal import json_plain, plain, shown, stdout_console
from providers.http_api import public_url
from reports.tables import pct
from tasks.published.hub import NotCached, hub_cache
from tasks.published.task import PublishedTask


@click.group(name="families")
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
    checkpoints = bool(family.checkpoints)
    extra = ("revision", "training tokens") if checkpoints else ()
    table = Table("provider", "model", size_column, *extra, "variant", "base_url")
    for m in family.members:
        size = str(m.rank) if family.by_rank else format_size(m.params)
        base_url = public_url(m.base_url) if m.base_url else ""
        trained = (m.revision or "", format_size(m.tokens) if m.tokens else "") if checkpoints else ()
        cells = (m.provider, m.model or "(default)", size, *trained, m.variant, base_url)
        table.add_row(*map(shown, cells))
    out.print(table)


@click.group(name="providers")
def providers_group() -> None:
    """Providers: the backends a run's models are loaded through, and their own options."""


@providers_group.command(name="list")
def providers_list() -> None:
    """List the providers (bench's and other packages') with their own options."""
    table = Table("provider", "options (-P KEY=VALUE)")
    for name in providers.names():
        try:
            own = ", ".join(providers.own_fields(name)) or "-"
        except BenchError as exc:  # a broken entry point of another package is listed, not fatal
            own = f"cannot be loaded: {exc}"
        table.add_row(shown(name), shown(own))
    stdout_console().print(table)


@providers_group.command(name="show")
@click.argument("name")
def providers_show(name: str) -> None:
    """Show a provider's own options (set with -P KEY=VALUE on bench run), with their help."""
    fields = providers.own_fields(name)
    out = stdout_console()
    if not fields:
        out.print(
            f"{shown(name)} has no options of its own (it takes --base-url, --timeout, --chat-template)"
        )
        return
    table = Table("option", "values", "default", "help")
    for key, info in fields.items():
        default = "none" if info.default is None else str(info.default)
        table.add_row(*map(shown, (key, _values(info), default, info.description or "")))
    out.print(table)


def _values(info: FieldInfo) -> str:
    """What an option takes, from its type: the choices of a Literal, else the type and its bounds."""
    if typing.get_origin(info.annotation) is typing.Literal:
        return " | ".join(str(choice) for choice in typing.get_args(info.annotation))
    kinds = typing.get_args(info.annotation) or (info.annotation,)
    text = " | ".join(
        "none" if kind is type(None) else getattr(kind, "__name__", str(kind)) for kind in kinds
    )
    for bound, sign in (("ge", ">="), ("gt", ">"), ("le", "<="), ("lt", "<")):
        for found in info.metadata:
            if getattr(found, bound, None) is not None:
                text += f", {sign} {getattr(found, bound)}"
    return text


@click.group(name="tasks")
def tasks_group() -> None:
    """The task suite."""


@tasks_group.command(name="list")
def tasks_list() -> None:
    """List the tasks and shipped trap files with versions, prompting conditions and chance levels."""
    table = Table(
        "task", "version", "promptings", "chance", "variants (--task NAME:key=value)", "what it measures"
    )
    published: list[type[PublishedTask]] = []
    for name, cls in task_registry.TASKS.items():
        if issubclass(cls, PublishedTask):
            published.append(cls)
            continue
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
    _published_table(published)


def _published_table(classes: list[type[PublishedTask]]) -> None:
    """The published tasks: their Hub dataset, license and size (read from the catalog, not the Hub)."""
    table = Table(
        "published task", "version", "source (Hugging Face Hub dataset)", "split", "items", "license",
        "promptings", "chance", "variants", title="Published tasks (tasks/published/catalog.yaml)",
    )  # fmt: skip
    sources = [c.entry.repo + (f" ({c.entry.config})" if c.entry.config else "") for c in classes]
    for column in (0, 2):  # a task name and a Hub id are copied whole: the other columns wrap first
        table.columns[column].no_wrap = True
    for cls, source in zip(classes, sources, strict=True):
        entry = cls.entry
        cells = (
            entry.name, entry.version, source, "+".join(s.name for s in entry.splits), str(entry.items),
            entry.license, ", ".join(entry.promptings), pct(entry.chance), task_registry.variants(cls),
        )  # fmt: skip
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
        scorer = task.answer_scorer()
        measures = f" ({', '.join(scorer.metrics)})" if scorer.metrics else ""
        facts = f"chance {pct(task.chance)}; answers: {task.answer_type}, scored by {scorer.name}{measures}"
        out.print(plain(f"parameters: {task.params() or '-'}; {facts}"), markup=False)
        if isinstance(task, PublishedTask) and not _show_source(task):
            continue
        for prompting in task.promptings:
            [first] = task.instances(seed, 1, prompting)
            out.rule(shown(f"{prompting}: item {first.item_id}, target {first.target!r}"))
            out.print(plain(first.prompt), markup=False, highlight=False)


def _show_source(task: PublishedTask) -> bool:
    """A published task's source; whether its items are in the Hub cache (nothing is downloaded)."""
    entry, out = task.entry, stdout_console()
    lines = [
        f"source: {entry.repo}" + (f" config {entry.config}" if entry.config else "")
        + f", split {'+'.join(s.name for s in entry.splits)}, {entry.items} items ({entry.items_source})",
        f"license: {entry.license}",
        f"cite: {entry.citation}",
    ]  # fmt: skip
    for line in lines:
        out.print(plain(line), markup=False, highlight=False)
    try:
        source = task.load(local_only=True).source
    except NotCached:
        wanted = "; ".join(f"{s.name}: {' or '.join(s.patterns)}" for s in entry.splits)
        out.print(
            plain(
                f"not in the Hub cache ({hub_cache()}): `bench run --task {entry.name}` downloads "
                f"{entry.repo} at {entry.revision or 'main'} ({wanted})"
            ),
            markup=False,
            highlight=False,
        )
        return False
    files = ", ".join(f"{path} sha256 {digest[:12]}…" for path, digest in source.files.items())
    out.print(plain(f"read at commit {source.revision}: {files}"), markup=False, highlight=False)
    return True


@tasks_group.command(name="unpin")
@click.argument("name")
def tasks_unpin(name: str) -> None:
    """Forget the commit and file sha256 a published task was pinned to on this machine: its next run
    reads the files it finds and pins them (use it when a dataset's new bytes are intended)."""
    from tasks.published import pins

    if name not in task_registry.TASKS or not issubclass(task_registry.TASKS[name], PublishedTask):
        raise BenchError(f"{name!r} is not a published task; `bench tasks list` shows them")
    removed = pins.unpin(name)
    where = ", ".join(str(path) for path in removed) or f"none in {pins.folder()}"
    click.echo(plain(f"{name}: removed {len(removed)} pin(s) ({where})"))


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
    text = export_prize_jsonl(task.instances(seed, limit, PLAIN.name))
    if out is None:  # a terminal shows a prompt's controls escaped; a pipe or --out gets the exact bytes
        click.echo(json_plain(text) if sys.stdout.isatty() else text, nl=False)
        return
    try:
        write_atomic(out, text)
    except OSError as exc:
        raise BenchError(f"cannot write {out}: {exc.strerror or exc}") from None
    click.echo(plain(f"{out}: {text.count(chr(10))} items ({fmt})"), err=True)
