"""Provider adapters: bench's own registered here by import path (`SHIPPED`), other packages' as entry
points of the group `bench.providers` in their own pyproject.toml. A provider's module, and so its
backend's package, is imported only when it is chosen."""

from __future__ import annotations

from collections.abc import Mapping

from pydantic.fields import FieldInfo

from benchmark.errors import BenchError, UsageError
from benchmark.registry import Registry
from benchmark.settings import OptionValue
from providers.base import (
    ContinuationScores,
    ErrorKind,
    Footprint,
    GenerateRequest,
    Generation,
    Provider,
    ProviderError,
    ProviderOptions,
    ScoreRequest,
    SharedOptions,
)

GROUP = "bench.providers"
SHIPPED = {
    "anthropic": "providers.anthropic:AnthropicProvider",
    "hf": "providers.hf:HFProvider",
    "hf-inference": "providers.hf_inference:HFInferenceProvider",
    "local": "providers.local:LocalProvider",
    "openai": "providers.openai:OpenAIProvider",
    "scripted": "providers.scripted:ScriptedProvider",
}
"""bench's own providers by name: `module:Class`, imported when chosen (a source checkout finds them
without reinstalling)."""
PROVIDERS: Registry[Provider] = Registry(GROUP, "provider", Provider, shipped=SHIPPED)
"""The registered providers by name; a class is imported at its first lookup."""

__all__ = [
    "ContinuationScores",
    "ErrorKind",
    "GenerateRequest",
    "Generation",
    "Provider",
    "ProviderError",
    "ProviderOptions",
    "ScoreRequest",
    "SharedOptions",
    "Footprint",
    "GROUP",
    "PROVIDERS",
    "SHIPPED",
    "create",
    "footprint",
    "names",
    "own_fields",
    "own_options",
    "preflight",
    "typed_options",
]


def names() -> list[str]:
    return list(PROVIDERS)


def _provider_class(provider: str) -> type[Provider]:
    if provider not in PROVIDERS:
        raise PROVIDERS.unknown(provider)
    return PROVIDERS[provider]


def own_fields(provider: str) -> dict[str, FieldInfo]:
    """The provider's own options (its `Options` model's fields beyond the shared ones), by name: what
    `-P KEY=VALUE` may set, each with its help (the field's docstring)."""
    fields = _provider_class(provider).Options.model_fields
    return {name: info for name, info in fields.items() if name not in ProviderOptions.model_fields}


def typed_options(provider: str, given: Mapping[str, object]) -> dict[str, OptionValue]:
    """`given` (`-P KEY=VALUE`, values as typed or as text) checked against the provider's own options
    and typed as its `Options` model reads them: what the manifest keeps. A UsageError names the valid
    keys, or what is wrong with a value."""
    for key in given.keys() & ProviderOptions.model_fields.keys():
        raise UsageError(f"-P {key}: give it as --{key.replace('_', '-')}, an option of every provider")
    own = own_options(provider, ProviderOptions.model_validate(dict(given)))
    return own.model_dump(mode="json", include=set(given))


def own_options(provider: str, options: ProviderOptions | None = None) -> SharedOptions:
    """The run's `options` as the provider's own `Options` model; a UsageError for an option it does
    not take ("-P weights=f32 applies to --provider local only")."""
    cls = _provider_class(provider)
    options = options or ProviderOptions()
    for field, value in options.model_dump(exclude_defaults=True).items():
        if field not in cls.Options.model_fields:
            takers = [name for name in names() if _takes(name, field)]
            valid = ", ".join(own_fields(provider)) or "none"
            where = f"--provider {provider}'s options: {valid} (bench providers show {provider})"
            if not takers:
                raise UsageError(f"-P {field}={value}: no provider has an option {field!r}; {where}")
            raise UsageError(f"-P {field}={value} applies to --provider {' or '.join(takers)} only; {where}")
    return cls.Options.of(options)


def _takes(provider: str, field: str) -> bool:
    try:
        return field in PROVIDERS[provider].Options.model_fields
    except BenchError:  # a broken third-party entry point takes nothing
        return False


def preflight(provider: str, models: list[str | None], options: ProviderOptions | None = None) -> None:
    """Fail before anything is written: unknown provider, missing package, model that cannot be found,
    an option the provider does not take."""
    cls = _provider_class(provider)
    own = own_options(provider, options)
    for model in models:
        cls.check_spec(model, own)


def footprint(
    provider: str, model: str | None, options: ProviderOptions, params: int | None
) -> Footprint | None:
    """What loading `model` will take (download, memory), for providers that load weights here."""
    return _provider_class(provider).footprint(model, own_options(provider, options), params)


def create(provider: str, model: str | None, options: ProviderOptions | None = None) -> Provider:
    """Load `model` through the named provider; `model=None` means the provider's default model."""
    return _provider_class(provider).from_spec(model, own_options(provider, options))
