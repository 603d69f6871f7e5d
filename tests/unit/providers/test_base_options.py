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
    with pytest.raises(UsageError, match="-P weights=f32 applies to --provider local only"):
        providers.own_options("openai", given)
    api = providers.own_options("openai", ProviderOptions(api="chat"))
    assert isinstance(api, APIOptions) and api.api == "chat"
    assert providers.own_options("scripted", ProviderOptions()) == SharedOptions()
    with pytest.raises(UsageError, match="-P colour=red: no provider has an option 'colour'"):
        providers.own_options("scripted", ProviderOptions(colour="red"))


def test_a_providers_options_forbid_what_it_does_not_take() -> None:
    from providers.local import LocalOptions

    with pytest.raises(ValidationError, match="extra"):
        LocalOptions(dtype="float16")  # type: ignore[call-arg]
    with pytest.raises(ValidationError):
        LocalOptions(weights="f16")  # type: ignore[arg-type]
    with pytest.raises(UsageError, match="-P weights=f16: Input should be 'native' or 'f32'"):
        LocalOptions.of(ProviderOptions(weights="f16"))
    with pytest.raises(UsageError, match="-P api=chat"):
        LocalOptions.of(ProviderOptions(api="chat"))
    assert LocalOptions.of(APIOptions()) == LocalOptions()  # defaults are not a choice


def test_the_local_weights_are_the_command_lines() -> None:
    from typing import get_args

    from providers.base import LOCAL_WEIGHTS
    from providers.local import LocalOptions

    assert get_args(LocalOptions.model_fields["weights"].annotation) == LOCAL_WEIGHTS


def test_given_options_are_typed_by_the_providers_model() -> None:
    assert providers.typed_options("local", {"threads": "4", "weights": "f32"}) == {
        "threads": 4,
        "weights": "f32",
    }
    assert providers.typed_options("hf", {"dtype": "float16"}) == {"dtype": "float16"}
    with pytest.raises(UsageError, match=r"-P threads=0: Input should be greater than or equal to 1"):
        providers.typed_options("local", {"threads": "0"})
    with pytest.raises(UsageError, match=r"-P dtype=f8: Input should be 'auto', 'float32', 'bfloat16' or"):
        providers.typed_options("hf", {"dtype": "f8"})
    with pytest.raises(UsageError, match=r"-P timeout: give it as --timeout"):
        providers.typed_options("local", {"timeout": "5"})


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (
            ["--provider", "local", "-P", "colour=red"],
            "-P colour=red: no provider has an option 'colour'; --provider local's options: threads, weights "
            "(bench providers show local)",
        ),
        (
            ["--provider", "openai", "-P", "weights=f32"],
            "-P weights=f32 applies to --provider local only; --provider openai's options: api "
            "(bench providers show openai)",
        ),
        (["--provider", "local", "-P", "weights=f16"], "-P weights=f16: Input should be 'native' or 'f32'"),
        (
            ["--provider", "local", "-P", "threads"],
            "-P threads: give a provider option as KEY=VALUE (e.g. -P threads=4)",
        ),
        (
            ["--provider", "local", "--threads", "2", "-P", "threads=3"],
            "--threads 2 and -P threads=3 disagree; give one of them",
        ),
    ],
)
def test_a_bad_provider_option_is_one_line_naming_the_valid_ones(cli, tmp_path, args, line) -> None:
    out = tmp_path / "run"
    result = cli("run", *args, "--out", str(out))
    assert result.code == 2 and "Traceback" not in result.err
    assert result.err.strip().splitlines() == [f"bench: error: {line}"]
    assert not out.exists()


def test_providers_show_lists_a_providers_options_with_their_help(cli) -> None:
    local = cli("providers", "show", "local")
    assert local.code == 0, local.err
    assert "weights" in local.out and "native | f32" in local.out and "threads" in local.out
    assert ">= 1" in local.out and "threads the engine computes with" in local.out
    hf = cli("providers", "show", "hf")
    assert "auto | float32 | bfloat16 | float16" in hf.out
    none = cli("providers", "show", "scripted")
    assert none.code == 0 and "no options of its own" in none.out
    listed = cli("providers", "list")
    assert listed.code == 0 and "threads, weights" in listed.out
    unknown = cli("providers", "show", "nope")
    assert unknown.code == 2 and unknown.err.strip().splitlines() == [
        "bench: error: unknown provider 'nope'; choose one of: anthropic, hf, hf-inference, local, openai, "
        "scripted"
    ]
