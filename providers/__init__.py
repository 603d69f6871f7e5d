"""Provider adapters, registered as entry points of the group `bench.providers` (the shipped ones in
bench's pyproject.toml, others in their own package's): a provider's module, and so its backend's
package, is imported only when it is chosen."""

from __future__ import annotations

from benchmark.registry import Registry
from providers.base import (
    ContinuationScores,
    ErrorKind,
    Footprint,
    GenerateRequest,
    Generation,
    Provider,
    ProviderError,
    ProviderOptions,
)

GROUP = "bench.providers"
PROVIDERS: Registry[Provider] = Registry(GROUP, "provider", Provider)
"""The registered providers by name; a class is imported at its first lookup."""

__all__ = [
    "ContinuationScores",
    "ErrorKind",
    "GenerateRequest",
    "Generation",
    "Provider",
    "ProviderError",
    "ProviderOptions",
    "Footprint",
    "GROUP",
    "PROVIDERS",
    "create",
    "footprint",
    "names",
    "preflight",
]


def names() -> list[str]:
    return list(PROVIDERS)


def _provider_class(provider: str) -> type[Provider]:
    if provider not in PROVIDERS:
        raise PROVIDERS.unknown(provider)
    return PROVIDERS[provider]


def preflight(provider: str, models: list[str | None], options: ProviderOptions | None = None) -> None:
    """Fail before anything is written: unknown provider, missing package, model that cannot be found."""
    cls = _provider_class(provider)
    for model in models:
        cls.check_spec(model, options or ProviderOptions())


def footprint(
    provider: str, model: str | None, options: ProviderOptions, params: int | None
) -> Footprint | None:
    """What loading `model` will take (download, memory), for providers that load weights here."""
    return _provider_class(provider).footprint(model, options, params)


def create(provider: str, model: str | None, options: ProviderOptions | None = None) -> Provider:
    """Load `model` through the named provider; `model=None` means the provider's default model."""
    return _provider_class(provider).from_spec(model, options or ProviderOptions())
