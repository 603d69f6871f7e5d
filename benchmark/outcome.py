"""What `bench run` says around a run: before it, the models to be loaded here with the download and
memory each needs (`print_footprints`); after it, how it went and its exit code (`tell`), or what a
run that stopped on an error says (`failed`). The CLI (benchmark/cli.py) calls these and exits."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

import providers
from benchmark.errors import BenchError, RunStoppedError, StorageError
from benchmark.rundir import RunDir
from benchmark.runner import Runner, RunPlan
from benchmark.sizes import format_size
from benchmark.terminal import no_answer_line, shown
from reports import Summary
from reports.terminal import print_tables

COST_STOPPED = 3
"""`bench run`'s exit code when --max-cost stopped the run before its end (samples kept and reported)."""


def print_footprints(plan: RunPlan) -> None:
    """Before a sweep of models loaded here: each size's download and the memory it needs."""
    found = []
    for spec in plan.model_specs:
        options = plan.options.model_copy(update={"chat_template": "off"})
        footprint = providers.footprint(spec.provider, spec.model, options, spec.params)
        if footprint is not None:
            found.append((spec, footprint))
    if not found:
        return
    memory = "weights' memory (+20%)"  # an estimate; on a CPU the process peaks higher (torch, logits)
    table = Table("model", "params", "to download", memory, "free", title="models to load, in order")
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


def failed(run_dir: RunDir, error: BenchError, resume: bool, resume_hint: str) -> BenchError:
    """What a run that stopped on `error` says. A new run with no sample yet leaves nothing behind (so
    the same --out can be used again); a run that could not write (a full disk) says how many samples
    are safe and the command that finishes it (exit code 1)."""
    if not resume and run_dir.discard():
        if isinstance(error, StorageError):
            return StorageError(f"{error}; nothing was kept: free some space, then run again")
        return error
    if not isinstance(error, StorageError):
        return error
    kept = sum(1 for _ in run_dir.iter_samples())
    return RunStoppedError(
        f"{error}; {kept} samples are saved in {run_dir.path}: free some space, then finish the run "
        f"with: {resume_hint}"
    )


def with_words(hint: str, words: str) -> str:
    """The resume command `hint` with more words, before its note on a password to give back."""
    command, note, rest = hint.partition(" (with the password")
    return f"{command} {words}{note}{rest}"


def tell(
    console: Console, runner: Runner, run_dir: RunDir, summary: Summary, resume: bool, resume_hint: str
) -> int:
    """Say how the run went, and return its exit code: 1 when items failed or a size was left out, 3
    when --max-cost stopped it (0: every item answered)."""
    print_tables(summary)
    if resume:
        console.print(f"resumed: {runner.kept} samples were already done")
    if runner.retries:
        console.print(f"retries: {runner.retries}")
    if runner.cache is not None:
        cache = runner.cache
        console.print(
            f"model calls: {runner.requests}; answers from the cache: {cache.hits} ({shown(str(cache.path))})"
        )
    budget = runner.budget
    if budget is not None:
        console.print(f"estimated cost: ${budget.spent:.4f} of --max-cost ${budget.limit:.4f}")
    console.print(f"run directory: {shown(str(run_dir.path))}")
    console.print(
        f"report: {shown(str(run_dir.path / 'report.html'))} (open it in a browser; report.md beside it)"
    )
    for model in (m for m in run_dir.read_manifest().models if m.error):
        console.print(f"not run: {shown(model.label)}: {shown(model.error or '')}")
    unanswered = any(row.errors for row in summary.rows)
    if unanswered:
        errors = (sample.error for sample in run_dir.iter_samples() if sample.error is not None)
        console.print(no_answer_line(errors, runner.settings.max_attempts))
    if budget is not None and budget.stopped:
        console.print(  # not wrapped: the command is to be copied
            shown(
                f"{budget.stopped}; the run is not finished: to go on, give it a higher cap (for the "
                f"whole run, what is spent included): {with_words(resume_hint, '--max-cost DOLLARS')}"
            )
        )
        return COST_STOPPED
    return 1 if runner.not_run or unanswered else 0
