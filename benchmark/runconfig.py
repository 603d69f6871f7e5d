"""A run's configuration from `bench run`'s options (the command line's, or `benchmark.run`'s keyword
arguments): checked before anything is written, the provider's own options (`-P KEY=VALUE` and its
shorthands, `given_options`) by the provider's `Options` model, kept in the manifest as a typed record
(`settings_of`) and read back from it by --resume (`params_of`)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

import providers
import tasks as task_registry
from benchmark.cache import ResponseCache, default_cache_dir
from benchmark.errors import BenchError
from benchmark.families import hub_repo, load_family, select_members, split_list
from benchmark.prompting import PLAIN, reasons
from benchmark.runner import ModelSpec, RunConfig, TaskPlan
from benchmark.schemas import RunSettings
from benchmark.sizes import parse_size
from benchmark.terminal import plain
from benchmark.variants import task_label, variant_key
from providers.base import ProviderOptions
from providers.http_api import REDACTED, public_url, redact

SHORTHANDS = ("api", "weights", "dtype", "threads")
"""`bench run` flags that each set one provider's own option: `--weights f32` is `-P weights=f32`. An
option that the run's provider does not take is refused."""
DEFAULT_LIMIT = 20
MAX_CONCURRENCY = 1024
"""Requests in flight per model; more would only queue (the HTTP client keeps 256 connections)."""
MAX_TIMEOUT = 86400
"""Seconds per request: a day. nan and inf are refused too (nan failed every request at once, inf let a
hanging server hang the run)."""


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


def config_from(params: dict[str, Any], command: list[str]) -> RunConfig:
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
            note_small_item_space(task, limit, params["seed"])
    specs = model_specs(
        params["provider"], params["models"], params["families"], params["sizes"], params["checkpoints"]
    )
    given = params["provider_options"]
    own = providers.typed_options(specs[0].provider, given) if given else {}
    options = ProviderOptions(
        base_url=params["base_url"], timeout=timeout, chat_template=params["chat_template"], **own
    )
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
        settings=settings_of({**params, "provider_options": own}),
    )


def given_options(params: dict[str, Any]) -> dict[str, object]:
    """The provider options `bench run`'s parameters give: each `-P KEY=VALUE` (as text, typed later by
    the provider's `Options`) and each shorthand flag given (`--weights f32`); the parameters of the
    flags are taken out of `params`."""
    given: dict[str, object] = {}
    for assignment in params.pop("provider_option", ()):
        key, equals, value = assignment.partition("=")
        if not equals or not key.strip():
            raise BenchError(f"-P {assignment}: give a provider option as KEY=VALUE (e.g. -P threads=4)")
        given[key.strip()] = value
    for key in SHORTHANDS:
        value = params.pop(key, None)
        if value is not None:
            if key in given and str(given[key]) != str(value):
                raise BenchError(f"--{key} {value} and -P {key}={given[key]} disagree; give one of them")
            given[key] = value
    return given


def settings_of(params: dict[str, Any]) -> RunSettings:
    """`bench run`'s options as the typed record the manifest keeps (a secret in --base-url as ***)."""
    cache_dir = params["cache_dir"]
    return RunSettings(
        provider=params["provider"],
        models=list(params["models"]),
        families=list(params["families"]),
        tasks=list(params["task_specs"]),
        prompting=params["prompting"],
        scoring=params["scoring"],
        limit=params["limit"],
        seed=params["seed"],
        concurrency=params["concurrency"],
        base_url=redact(params["base_url"]) if params["base_url"] else None,
        timeout=params["timeout"],
        provider_options=params["provider_options"],
        chat_template=params["chat_template"],
        max_params=params["max_params"],
        sizes=params["sizes"],
        checkpoints=params["checkpoints"],
        max_cost=params["max_cost"],
        cache_dir=None if cache_dir is None else str(Path(cache_dir).absolute()),  # as CacheChoice
        no_cache=params["no_cache"],
    )


def params_of(settings: RunSettings) -> dict[str, Any]:
    """The options `settings` records, as `bench run`'s parameters (the inverse of `settings_of`)."""
    params = settings.model_dump(exclude={"tasks"})
    params.update(
        models=tuple(settings.models),
        families=tuple(settings.families),
        task_specs=tuple(settings.tasks),
        cache_dir=None if settings.cache_dir is None else Path(settings.cache_dir),
        out=None,
        resume_dir=None,
    )
    return params


def note_small_item_space(task: task_registry.Task, limit: int, seed: int) -> None:
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
