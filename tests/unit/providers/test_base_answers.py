"""Answers from a server are checked field by field (providers/base.py): a malformed one is an
InvalidAnswer, through the hf-inference adapter too."""

from __future__ import annotations

import json
from typing import Any

import pytest


def test_answers_are_checked_field_by_field() -> None:
    from providers.base import (
        ContinuationScores,
        ErrorKind,
        Generation,
        InvalidAnswer,
        generation_from,
        scores_from,
    )

    assert generation_from(Generation(" 5", 3, None)) == Generation(" 5", 3, None)
    assert generation_from({"text": "x", "prompt_tokens": 1}) == Generation("x", 1, None)
    assert scores_from({"logprobs": [-1, -0.5]}, 2) == ContinuationScores((-1.0, -0.5))
    bad: list[tuple[Any, int | None]] = [
        ({"text": None}, None),
        ({"text": "x", "prompt_tokens": True}, None),
        ({"text": "x", "prompt_tokens": 2**60}, None),
        ({"text": "x", "extra": 1}, None),
        ("text", None),
        ({"logprobs": [-1.0]}, 2),
        ({"logprobs": [float("nan"), -1.0]}, 2),
        ({"logprobs": [float("-inf"), -1.0]}, 2),
        ({"logprobs": ["-1", -1.0]}, 2),
        ({"logprobs": "ab"}, 2),
    ]
    for answer, count in bad:
        with pytest.raises(InvalidAnswer) as caught:
            generation_from(answer) if count is None else scores_from(answer, count)
        assert caught.value.kind is ErrorKind.INVALID


@pytest.mark.parametrize(
    ("api", "answer"),
    [
        ("completions", [{"generated_text": 123, "details": {"generated_tokens": 1, "prefill": []}}]),
        ("chat", {"choices": [{"message": {"content": 5}}]}),
        ("chat", {"choices": [{"message": {"content": "5"}}], "usage": {"prompt_tokens": "lots"}}),
    ],
)
def test_the_hf_inference_adapter_refuses_malformed_answers(fake, api: str, answer: Any) -> None:
    pytest.importorskip("huggingface_hub")
    import asyncio

    from providers.base import ErrorKind, GenerateRequest, ProviderError, ProviderOptions
    from providers.hf_inference import HFInferenceProvider

    fake.state.raw = lambda number, body: (200, json.dumps(answer).encode())
    provider = HFInferenceProvider.from_spec(
        "tgi", ProviderOptions(base_url=fake.url.removesuffix("/v1"), api=api)
    )
    with pytest.raises(ProviderError) as caught:
        asyncio.run(provider.generate(GenerateRequest("Q: What is 2 plus 3?\n\nA:", 5, ("\n",))))
    provider.close()
    assert caught.value.kind is ErrorKind.INVALID
