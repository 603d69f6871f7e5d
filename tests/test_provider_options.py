"""Each provider's options: the shared ones (ProviderOptions) and its own, a pydantic model of its own
(`Provider.Options`, extra="forbid") that refuses another provider's option."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

import providers
from benchmark.errors import UsageError
from providers.base import ProviderOptions, SharedOptions
from providers.http_api import APIOptions


def test_each_provider_declares_its_own_options() -> None:
    from providers.hf import HFOptions
    from providers.local import LocalOptions

    own = {
        name: set(providers.PROVIDERS[name].Options.model_fields) - set(SharedOptions.model_fields)
        for name in providers.names()
    }
    assert own == {
        "anthropic": set(),
        "hf": {"dtype", "threads"},
        "hf-inference": {"api"},
        "local": {"threads", "weights"},
        "openai": {"api"},
        "scripted": set(),
    }
    assert providers.PROVIDERS["local"].Options is LocalOptions
    assert providers.PROVIDERS["hf"].Options is HFOptions
    assert providers.PROVIDERS["openai"].Options is APIOptions


def test_the_run_options_become_the_chosen_providers_own() -> None:
    given = ProviderOptions(base_url="http://127.0.0.1:9/v1", timeout=5, weights="f32")
    local = providers.own_options("local", given)
    assert type(local).__name__ == "LocalOptions"
    assert (local.base_url, local.timeout, local.weights) == ("http://127.0.0.1:9/v1", 5, "f32")
    with pytest.raises(UsageError, match="--weights f32 applies to --provider local only"):
        providers.own_options("openai", given)
    api = providers.own_options("openai", ProviderOptions(api="chat"))
    assert isinstance(api, APIOptions) and api.api == "chat"
    assert providers.own_options("scripted", ProviderOptions()) == SharedOptions()
    with pytest.raises(UsageError, match="no provider takes --colour"):
        providers.own_options("scripted", ProviderOptions(colour="red"))


def test_a_providers_options_forbid_what_it_does_not_take() -> None:
    from providers.local import LocalOptions

    with pytest.raises(ValidationError, match="extra"):
        LocalOptions(dtype="float16")  # type: ignore[call-arg]
    with pytest.raises(ValidationError):
        LocalOptions(weights="f16")  # type: ignore[arg-type]
    with pytest.raises(UsageError, match="--weights 'f16'"):
        LocalOptions.of(ProviderOptions(weights="f16"))
    with pytest.raises(UsageError, match="--api"):
        LocalOptions.of(ProviderOptions(api="chat"))
    assert LocalOptions.of(APIOptions()) == LocalOptions()  # defaults are not a choice


def test_the_local_weights_are_the_command_lines() -> None:
    from typing import get_args

    from providers.base import LOCAL_WEIGHTS
    from providers.local import LocalOptions

    assert get_args(LocalOptions.model_fields["weights"].annotation) == LOCAL_WEIGHTS
