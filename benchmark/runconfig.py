"""A run's configuration resolved: its settings (`RunSettings`, built by benchmark/settings.py from the
command line, from `benchmark.run`'s keyword arguments, or read back from a manifest by --resume)
checked and turned into what they ask for (`plan_run`, a `RunPlan`): the task plans, the models, and
the provider's own options typed by its `Options` model, before anything is written. The runner is
given the plan, whose only options are its settings; the response cache a run uses (`CacheChoice`)."""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass
from pathlib import Path

import providers
import tasks as task_registry
from benchmark.cache import ResponseCache, default_cache_dir
from benchmark.errors import BenchError
from benchmark.families import hub_repo, load_family, select_members, split_list
from benchmark.prompting import PLAIN, reasons
from benchmark.settings import RunSettings, command_words
from benchmark.sizes import parse_size
from benchmark.terminal import plain
from benchmark.variants import task_label, variant_key
from providers.base import ProviderOptions
from providers.http_api import REDACTED, public_url, redact
from tasks.base import Task

DEFAULT_LIMIT: int = RunSettings.model_fields["limit"].default
MAX_CONCURRENCY = 1024
"""Requests in flight per model; more would only queue (the HTTP client keeps 256 connections)."""
MAX_ATTEMPTS = 100
"""Attempts per request, the first included: with up to 30 s of backoff between attempts, 100 may
already wait close to an hour for one answer."""
MAX_TIMEOUT = 86400
"""Seconds per request: a day. nan and inf are refused too (nan failed every request at once, inf let a
hanging server hang the run)."""


@dataclass(frozen=True)
class TaskPlan:
    task: Task
    promptings: tuple[str, ...]


@dataclass(frozen=True)
class ModelSpec:
    """One model to run: from --provider/--model, or a member of a --family file."""

    provider: str
    model: str | None
    """Model id for the provider; None is the provider's default model."""
    family: str | None = None
    variant: str | None = None
    params: int | None = None
    """Stated size, used when the provider cannot count parameters itself."""
    rank: int | None = None
    """Size rank, for families whose sizes are undisclosed."""
    base_url: str | None = None
    revision: str | None = None
    """Training checkpoint (Hub revision); for provider hf already part of `model` (org/name@rev)."""
    tokens: float | None = None
    """Training tokens seen at `revision`."""
    hub_id: str | None = None
    """The Hub model this is, for matching published results."""


@dataclass(frozen=True)
class RunPlan:
    """What a run's settings resolve to (`plan_run`): the models, the task variants with their prompting
    conditions, and the provider's options typed. It holds only what is derived: every option (limit,
    seed, concurrency, max_cost, scoring, max_attempts, ...) is read from `settings`, the one record
    of them."""

    settings: RunSettings
    """The options as the manifest keeps them (no secret in base_url, the provider's own options typed):
    what --resume reads back."""
    model_specs: list[ModelSpec]
    """One per size, run in this order (one loaded at a time)."""
    task_plans: list[TaskPlan]
    options: ProviderOptions
    """The provider's options, typed by its `Options` model, with --base-url as given (its password or
    token included: the one thing here the manifest does not keep)."""
    command: list[str]
    """The command line the manifest records for people (secrets as ***); never read back."""


@dataclass(frozen=True)
class CacheChoice:
    """A run's --cache-dir and --no-cache: the response cache it uses, kept by --resume."""

    directory: Path | None = None
    """--cache-dir; None: the default ($BENCH_CACHE_DIR, else ~/.cache/bench)."""
    off: bool = False
    """--no-cache."""

    def __post_init__(self) -> None:
        if self.directory is not None:  # where it was given, wherever a resume runs from
            object.__setattr__(self, "directory", self.directory.absolute())

    def open(self) -> ResponseCache | None:
        return None if self.off else ResponseCache(self.directory or default_cache_dir())

    def flags(self) -> list[str]:
        if self.off:
            return ["--no-cache"]
        return ["--cache-dir", str(self.directory)] if self.directory is not None else []


def plan_run(settings: RunSettings, command: list[str] | None = None) -> RunPlan:
    """The run that `settings` ask for, checked before anything is written (the provider's preflight
    included). `command`: the command line as typed, secrets as ***; None: the one that asks for
    `settings` (`command_words`)."""
    s = settings
    _check_numbers(s)
    plans = task_plans(s)
    specs = model_specs(s.provider, tuple(s.models), tuple(s.families), s.sizes, s.checkpoints)
    given = s.provider_options
    own = providers.typed_options(specs[0].provider, given) if given else {}
    options = ProviderOptions(base_url=s.base_url, timeout=s.timeout, chat_template=s.chat_template, **own)
    specs = _within(specs, s.max_params)
    _one_server_per_member(specs, options.base_url, tuple(s.families))
    for member in specs:
        member_options = options.model_copy(update={"base_url": member.base_url or options.base_url})
        providers.preflight(member.provider, [member.model], member_options)
    kept = {"base_url": redact(s.base_url) if s.base_url else None, "provider_options": own}
    return RunPlan(
        settings=s.model_copy(update=kept),  # as the manifest keeps it: no secret, options typed
        model_specs=specs,
        task_plans=plans,
        options=options,
        command=command if command is not None else [redact(word) for word in command_words(s)],
    )


def _check_numbers(s: RunSettings) -> None:
    """The numeric options within their bounds (a BenchError naming the flag)."""
    if s.limit < 1:
        raise BenchError(f"--limit must be at least 1, not {s.limit}")
    if not 1 <= s.concurrency <= MAX_CONCURRENCY:
        raise BenchError(f"--concurrency must be from 1 to {MAX_CONCURRENCY}, not {s.concurrency}")
    if not 1 <= s.max_attempts <= MAX_ATTEMPTS:
        raise BenchError(f"--max-attempts must be from 1 to {MAX_ATTEMPTS}, not {s.max_attempts}")
    if s.max_cost is not None and not (math.isfinite(s.max_cost) and s.max_cost >= 0):
        raise BenchError(f"--max-cost must be a number of dollars, 0 or more, not {s.max_cost}")
    if not (math.isfinite(s.timeout) and 0 < s.timeout <= MAX_TIMEOUT):
        raise BenchError(f"--timeout must be seconds above 0, at most {MAX_TIMEOUT}, not {s.timeout}")


def task_plans(settings: RunSettings) -> list[TaskPlan]:
    """The task variants to run, each with its prompting conditions (the default suite: the tasks that
    have the asked condition); a variant given twice is refused."""
    plans = []
    seen: set[tuple[str, object]] = set()
    for spec in settings.tasks or task_registry.DEFAULT_SUITE:
        for task in task_registry.create_all(spec):
            variant = (task.name, variant_key(task.params()))
            if variant in seen:
                raise BenchError(f"task {task_label(task.name, task.params())} is given twice; give it once")
            seen.add(variant)
            chosen = select_promptings(task.name, task.promptings, settings.prompting, strict=False)
            if not settings.tasks and not chosen:
                continue  # the default suite runs the tasks that have the asked condition
            plans.append(TaskPlan(task, select_promptings(task.name, task.promptings, settings.prompting)))
            note_small_item_space(task, settings.limit, settings.seed)
    return plans


def note_small_item_space(task: task_registry.Task, limit: int, seed: int) -> None:
    """One line when --limit asks for more items than the task variant has: it gives all it has."""
    count = task.item_count(seed)
    if count is not None and limit > count:
        line = f"{task_label(task.name, task.params())}: --limit {limit} is more than its {count} distinct "
        print(plain(f"{line}items; running all {count}"), file=sys.stderr)


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


def resumed_base_url(path: Path, recorded: str | None, given: str | None) -> str | None:
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


def model_specs(
    provider: str,
    models: tuple[str, ...],
    families: tuple[str, ...],
    sizes: str | None = None,
    checkpoints: str | None = None,
) -> list[ModelSpec]:
    """The models to run: --model ids for --provider, or the members of each --family (those of
    --sizes and --checkpoints, where given)."""
    if families and models:
        raise BenchError("give --model or --family, not both (add models to a family file instead)")
    chosen_sizes, chosen_checkpoints = split_list(sizes), split_list(checkpoints)
    for flag, given, chosen in (
        ("--sizes", sizes, chosen_sizes),
        ("--checkpoints", checkpoints, chosen_checkpoints),
    ):
        if given is not None and not chosen:
            raise BenchError(f"{flag} {given!r} names nothing; give comma-separated values, or leave it out")
    if not families:
        if chosen_sizes or chosen_checkpoints:
            raise BenchError("--sizes and --checkpoints choose members of a --family; give --family NAME")
        ids: list[str | None] = list(models) or [None]
        return [_plain_spec(provider, model) for model in ids]
    specs = []
    for name in families:
        family = load_family(name)
        for m in select_members(family, chosen_sizes, chosen_checkpoints):
            specs.append(
                ModelSpec(
                    m.provider,
                    m.model_id,
                    family.name,
                    m.variant,
                    m.params,
                    m.rank,
                    m.base_url,
                    revision=m.revision,
                    tokens=m.tokens,
                    hub_id=m.hub_id,
                )
            )
    if not specs:
        raise BenchError(
            f"--sizes {sizes} with --checkpoints {checkpoints} leaves out every member of "
            f"{', '.join(families)}"
        )
    return specs


def _plain_spec(provider: str, model: str | None) -> ModelSpec:
    """A --model: for hf, `org/name@revision` is that Hub model at that revision."""
    repo = hub_repo(provider, model)
    if repo is None or model is None:
        return ModelSpec(provider, model)
    revision = model.partition("@")[2] or None
    return ModelSpec(provider, model, revision=revision, hub_id=repo)


def select_promptings(
    task: str, available: tuple[str, ...], selector: str, strict: bool = True
) -> tuple[str, ...]:
    """The task's prompting conditions picked by --prompting (plain, cot or both); none is an error
    when `strict`."""
    if selector == "both":
        return available
    wanted = reasons if selector == "cot" else (lambda p: p == PLAIN.name)
    chosen = tuple(p for p in available if wanted(p))
    if not chosen and strict:
        raise BenchError(f"task {task!r} has no prompting {selector!r}; it has: {', '.join(available)}")
    return chosen
