"""One run configuration, `RunSettings`: `bench run`'s options, one field each, typed, and how it is
built the same way from `bench run`'s parsed command line (`from_params`) and from `benchmark.run`'s
keyword arguments (`from_options`, no click involved): one name per option (`tasks` for --task,
`models` for --model, `families` for --family, `provider_options` for -P), the provider's own options
gathered from -P and its shorthands (`given_options`), and the command line that asks for a record
(`command_words`). The manifest keeps the record (benchmark/schemas.py); benchmark/runconfig.py
resolves it into what the runner runs."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError, model_validator

from benchmark.errors import UsageError
from benchmark.records import Record

OptionValue = str | int | float | bool | None
"""The value of one provider option, as the manifest keeps it."""
LEGACY_OPTIONS: dict[str, object] = {"api": "auto", "weights": "native", "dtype": "auto", "threads": None}
"""The provider options that settings before schema 11 kept as fields of their own, with the values
that meant "not given"."""


class RunSettings(Record):
    """A run's configuration: `bench run`'s options (less --out and --resume), one field each, typed,
    with the command's defaults. Built the same way from the command line and from `benchmark.run`'s
    keyword arguments (below), kept in the manifest, and what `bench run --resume`
    reads to finish the run. A password or token in base_url is written to the manifest as ***."""

    @model_validator(mode="before")
    @classmethod
    def _provider_options_of_old_runs(cls, data: object) -> object:
        """Settings written before schema 11: their api, weights, dtype and threads fields, where given,
        as provider options."""
        if not isinstance(data, dict) or not LEGACY_OPTIONS.keys() & data.keys():
            return data
        data = dict(data)
        given = {key: data.pop(key) for key in LEGACY_OPTIONS if key in data}
        own = {key: value for key, value in given.items() if value != LEGACY_OPTIONS[key]}
        newer = data.get("provider_options", {})
        return {**data, "provider_options": {**own, **newer} if isinstance(newer, dict) else newer}

    provider: str = Field(default="local", description="--provider.")
    models: list[str] = Field(default_factory=list, description="--model, in order.")
    families: list[str] = Field(default_factory=list, description="--family, in order.")
    tasks: list[str] = Field(default_factory=list, description="--task, in order (empty: the default suite).")
    prompting: Literal["plain", "cot", "both"] = Field(default="both", description="--prompting.")
    scoring: Literal["both", "logprob", "generate"] = Field(default="both", description="--scoring.")
    limit: int = Field(default=20, description="--limit: items per task and prompting condition.")
    seed: int = Field(default=0, description="--seed.")
    concurrency: int = Field(default=1, description="--concurrency: requests in flight per model.")
    base_url: str | None = Field(default=None, description="--base-url.")
    timeout: float = Field(default=60.0, description="--timeout: seconds per request.")
    max_attempts: int = Field(
        default=5,
        description="--max-attempts: attempts per request, the first included (rate limits and transient "
        "errors are retried; a malformed answer is asked once). 5 in runs before schema 12.",
    )
    provider_options: dict[str, OptionValue] = Field(
        default_factory=dict,
        description="-P KEY=VALUE (and its shorthands --api, --weights, --dtype, --threads): the provider's "
        "own options given, typed as its Options model reads them; the ones not given are not written.",
    )
    chat_template: Literal["auto", "on", "off"] = Field(default="auto", description="--chat-template.")
    max_params: str | None = Field(default=None, description="--max-params.")
    sizes: str | None = Field(
        default=None, description="--sizes: the family members of these sizes only (None: every size)."
    )
    checkpoints: str | None = Field(
        default=None,
        description="--checkpoints: the family members at these revisions only (None: every checkpoint).",
    )
    max_cost: float | None = Field(default=None, description="--max-cost, in dollars.")
    cache_dir: str | None = Field(default=None, description="--cache-dir, absolute (None: the default).")
    no_cache: bool = Field(default=False, description="--no-cache.")


SHORTHANDS = ("api", "weights", "dtype", "threads")
"""`bench run` flags (and `benchmark.run` keywords) that each set one provider's own option:
`--weights f32` is `-P weights=f32`. An option that the run's provider does not take is refused."""
FLAGS = {"tasks": "--task", "models": "--model", "families": "--family", "provider_options": "-P"}
"""The command-line flag of each field whose flag is not its name with dashes."""


def flag(field: str) -> str:
    """The `bench run` flag that sets `field`."""
    return FLAGS.get(field, "--" + field.replace("_", "-"))


def assigned(assignments: tuple[str, ...]) -> dict[str, object]:
    """Each `-P KEY=VALUE` as KEY: VALUE (the value as text, typed later by the provider's `Options`)."""
    given: dict[str, object] = {}
    for assignment in assignments:
        key, equals, value = assignment.partition("=")
        if not equals or not key.strip():
            raise UsageError(f"-P {assignment}: give a provider option as KEY=VALUE (e.g. -P threads=4)")
        given[key.strip()] = value
    return given


def given_options(assigned: Mapping[str, object], shorthands: Mapping[str, object]) -> dict[str, object]:
    """The provider options asked for: those of -P (`assigned`) and each shorthand given
    (`--weights f32`; None: not given), which must agree with -P's."""
    given = dict(assigned)
    for key, shorthand in shorthands.items():
        if shorthand is None:
            continue
        if key in given and str(given[key]) != str(shorthand):
            raise UsageError(f"--{key} {shorthand} and -P {key}={given[key]} disagree; give one of them")
        given[key] = shorthand
    return given


def from_params(params: Mapping[str, Any]) -> RunSettings:
    """The record of `bench run`'s parsed parameters (click's, already checked by their types)."""
    fields = {name: params[name] for name in RunSettings.model_fields if name in params}
    fields["provider_options"] = given_options(
        assigned(params.get("provider_option", ())), {key: params.get(key) for key in SHORTHANDS}
    )
    if params.get("cache_dir") is not None:
        fields["cache_dir"] = _absolute(params["cache_dir"])
    return _validated(fields)


def from_options(options: Mapping[str, Any]) -> RunSettings:
    """The record of `benchmark.run`'s keyword arguments (the fields' names, and the shorthands);
    a UsageError names an unknown option, or what is wrong with a value, with the flag's name."""
    fields: dict[str, Any] = {}
    shorthands: dict[str, object] = {}
    for key, value in options.items():
        if key in SHORTHANDS:
            shorthands[key] = value
            continue
        field = RunSettings.model_fields.get(key)
        if field is None:
            known = sorted({*RunSettings.model_fields, *SHORTHANDS, "out"})
            raise UsageError(f"run() has no option {key!r}; options: {', '.join(known)}")
        default = field.get_default(call_default_factory=True)
        if value is None and default is not None:
            shown = "" if isinstance(default, list | dict) else f", {default!r}"
            raise UsageError(f"{flag(key)}: None is not a value; leave {key} out for its default{shown}")
        if isinstance(default, list) and isinstance(value, str | Path):
            value = [value]  # one --task as a string
        fields[key] = value
    provider_options = fields.pop("provider_options", None) or {}
    if not isinstance(provider_options, Mapping):
        raise UsageError(f"-P: provider_options is a dict of names and values, not {provider_options!r}")
    fields["provider_options"] = given_options(provider_options, shorthands)
    if fields.get("cache_dir") is not None:
        fields["cache_dir"] = _absolute(fields["cache_dir"])
    return _validated(fields)


def _absolute(folder: str | Path) -> str:
    """--cache-dir as the manifest keeps it: where it was given, wherever a resume runs from."""
    return str(Path(folder).absolute())


def _validated(fields: Mapping[str, Any]) -> RunSettings:
    try:
        return RunSettings.model_validate(dict(fields))
    except ValidationError as exc:
        error = exc.errors(include_url=False)[0]
        where = flag(str(error["loc"][0])) if error["loc"] else "run()"
        raise UsageError(f"{where}: {error['msg']} (got {error.get('input')!r})") from None


def command_words(settings: RunSettings) -> list[str]:
    """The `bench run` command line that asks for `settings` (its options other than the defaults), as
    the manifest keeps it for people."""
    words = ["bench", "run"]
    defaults = RunSettings()
    for name in RunSettings.model_fields:
        value = getattr(settings, name)
        if value == getattr(defaults, name):
            continue
        if name == "provider_options":
            words += [word for key, item in value.items() for word in ("-P", f"{key}={item}")]
        elif isinstance(value, list):
            words += [word for item in value for word in (flag(name), str(item))]
        elif isinstance(value, bool):
            words += [flag(name)] if value else []
        else:
            words += [flag(name), str(value)]
    return words
