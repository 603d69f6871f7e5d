"""`bench families` and `bench tasks`: what there is to run (listed, shown, validated, exported)."""

from __future__ import annotations

from pathlib import Path

import click
from rich.table import Table

import tasks as task_registry
from benchmark.errors import BenchError
from benchmark.families import load_family
from benchmark.families import shipped as shipped_families
from benchmark.prompting import PLAIN
from benchmark.rundir import write_atomic
from benchmark.sizes import format_size
from benchmark.terminal import plain, shown, stdout_console
from providers.http_api import public_url
from reports.tables import pct


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


@click.group(name="tasks")
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
    text = export_prize_jsonl(task.instances(seed, limit, PLAIN.name))
    if out is None:
        click.echo(text, nl=False)
        return
    try:
        write_atomic(out, text)
    except OSError as exc:
        raise BenchError(f"cannot write {out}: {exc.strerror or exc}") from None
    click.echo(plain(f"{out}: {text.count(chr(10))} items ({fmt})"), err=True)
