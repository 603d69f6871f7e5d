"""Provider adapters, registered lazily: a backend's package is imported only when it is chosen."""

from __future__ import annotations

import importlib

from benchmark.errors import UsageError
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

_REGISTRY: dict[str, tuple[str, str]] = {
    "anthropic": ("providers.anthropic", "AnthropicProvider"),
    "hf": ("providers.hf", "HFProvider"),
    "hf-inference": ("providers.hf_inference", "HFInferenceProvider"),
    "local": ("providers.local", "LocalProvider"),
    "openai": ("providers.openai", "OpenAIProvider"),
    "scripted": ("providers.scripted", "ScriptedProvider"),
}

__all__ = [
    "ContinuationScores",
    "ErrorKind",
    "GenerateRequest",
    "Generation",
    "Provider",
    "ProviderError",
    "ProviderOptions",
    "Footprint",
    "create",
    "footprint",
    "names",
    "preflight",
]


def names() -> list[str]:
    return sorted(_REGISTRY)


def _provider_class(provider: str) -> type[Provider]:
    if provider not in _REGISTRY:
        raise UsageError(f"unknown provider {provider!r}; choose one of: {', '.join(names())}")
    module_name, class_name = _REGISTRY[provider]
    cls: type[Provider] = getattr(importlib.import_module(module_name), class_name)
    return cls


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
