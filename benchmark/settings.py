"""One run configuration, `RunSettings` (benchmark/schemas.py), built the same way from `bench run`'s
parsed command line (`from_params`) and from `benchmark.run`'s keyword arguments (`from_options`, no
click involved): one name per option (`tasks` for --task, `models` for --model, `families` for
--family, `provider_options` for -P), the provider's own options gathered from -P and its shorthands
(`given_options`), and the command line that asks for a record (`command_words`)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from benchmark.errors import UsageError
from benchmark.schemas import RunSettings

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
