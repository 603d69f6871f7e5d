"""`--provider hf`: the transformers engine. Tiny random models of real architectures (written here with
save_pretrained, no download) check its batching and masks against plain forward passes, family sweeps,
chat templates and the Hub's failures (the real Gemma-3-270M against llama.cpp: test_hf_gemma.py)."""

from __future__ import annotations

import asyncio
import gc
import json
import time
import weakref
from pathlib import Path
from typing import Any

import pytest

torch = pytest.importorskip("torch", reason="needs the hf extra: pip install -e '.[hf]'")
pytest.importorskip("transformers", reason="needs the hf extra")

from benchmark.schemas import Manifest, Sample  # noqa: E402
from providers.base import GenerateRequest, ProviderOptions, ScoreRequest  # noqa: E402
from tests.helpers import tiny_models  # noqa: E402

ARCHITECTURES = ["gemma3", "llama", "qwen2", "gpt_neox", "gpt2"]
EXACT = 1e-4
"""Batched and cached against a plain forward pass, in float32 (measured: below 1e-5 nats)."""
SHARED = "The few-shot examples that every item shares come first. "
PROMPTS = [
    SHARED + text for text in ("Q: 12 + 30?\nA:", "Q: What is seven?\nA:", "Q: x\nA:", "Q: Pick one.\nA:")
]
CLASSES = (" 42", " yes", " a longer class")


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("tiny")
    return {arch: tiny_models.write(root / arch, arch) for arch in ARCHITECTURES}


def _load(folder: Path, **options: Any) -> Any:
    from providers.hf import HFProvider

    return HFProvider.from_spec(str(folder), ProviderOptions(**options))


def _plain_logprob(provider: Any, prompt: str, continuation: str) -> float:
    """prompt + continuation in one forward pass, no cache, no batch, no mask: the reference."""
    context = provider._ids(prompt)
    whole = provider._ids(prompt + continuation)
    with torch.inference_mode():
        logits = provider.model(torch.tensor([whole])).logits[0].double()
    rows = torch.log_softmax(logits, dim=-1)
    return sum(float(rows[p - 1, whole[p]]) for p in range(len(context), len(whole)))


def _plain_greedy(provider: Any, prompt: str, max_tokens: int, stop: tuple[str, ...]) -> str:
    ids = provider._ids(prompt)
    out: list[int] = []
    with torch.inference_mode():
        while len(out) < max_tokens:
            token = int(provider.model(torch.tensor([ids + out])).logits[0, -1].argmax())
            if token in provider._stops:
                break
            out.append(token)
            if any(s in provider.tokenizer.decode(out, skip_special_tokens=True) for s in stop):
                break
    from providers.base import cut_at_stop

    return cut_at_stop(provider.tokenizer.decode(out, skip_special_tokens=True), stop)


@pytest.mark.parametrize("architecture", ARCHITECTURES)
def test_batched_scores_and_answers_equal_plain_forward_passes(
    tiny: dict[str, Path], architecture: str
) -> None:
    """A group of prompts after a cached shared prefix (longer than gemma3's 8-token sliding window),
    padded into one batch, each class a continuation: the numbers of one plain pass per prompt + class."""
    provider = _load(tiny[architecture])
    try:
        requests = [ScoreRequest(p, CLASSES, len(SHARED)) for p in PROMPTS]
        scores = asyncio.run(provider.score_many(requests))
        for request, score in zip(requests, scores, strict=True):
            plain = [_plain_logprob(provider, request.prompt, c) for c in CLASSES]
            assert score.logprobs == pytest.approx(plain, abs=EXACT), (request.prompt, score.logprobs, plain)
            assert score.prompt_tokens == len(provider._ids(request.prompt))
        generate = [GenerateRequest(p, 6 + n, ("\n",), len(SHARED)) for n, p in enumerate(PROMPTS)]
        texts = [g.text for g in asyncio.run(provider.generate_many(generate))]
        assert texts == [_plain_greedy(provider, r.prompt, r.max_tokens, r.stop) for r in generate]
    finally:
        provider.close()


def test_an_items_numbers_do_not_depend_on_its_neighbours(tiny: dict[str, Path]) -> None:
    provider = _load(tiny["gemma3"])
    try:
        alone = [
            asyncio.run(provider.score_many([ScoreRequest(p, CLASSES, len(SHARED))]))[0] for p in PROMPTS
        ]
        for order in (PROMPTS, PROMPTS[::-1], PROMPTS[1:3]):
            together = asyncio.run(
                provider.score_many([ScoreRequest(p, CLASSES, len(SHARED)) for p in order])
            )
            for prompt, score in zip(order, together, strict=True):
                assert score.logprobs == pytest.approx(alone[PROMPTS.index(prompt)].logprobs, abs=1e-5)
    finally:
        provider.close()


# -- runs ----------------------------------------------------------------------------------------------
def _family(path: Path, members: list[dict[str, Any]]) -> Path:
    lines = [
        "name: tiny",
        'version: "1"',
        "description: two tiny random models",
        "source: this test",
        "members:",
    ]
    lines += [f"  - {json.dumps(m)}" for m in members]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_a_family_sweep_loads_one_size_at_a_time_and_templates_only_instruct(tmp_path: Path) -> None:
    import providers
    from benchmark.rundir import RunDir
    from benchmark.runner import Runner, plan_run
    from benchmark.settings import RunSettings

    small = tiny_models.write(tmp_path / "small", "llama", hidden=16)
    large = tiny_models.write(tmp_path / "large", "llama", hidden=64, chat=True)
    family = _family(
        tmp_path / "tiny.yaml",
        [
            {"provider": "hf", "model": str(large), "params": "60K", "variant": "instruct"},
            {"provider": "hf", "model": str(small), "params": "10K", "variant": "base"},
        ],
    )
    loaded: list[weakref.ref[Any]] = []
    alive_at_load: list[int] = []

    def factory(provider: str, model: str | None, options: ProviderOptions) -> Any:
        gc.collect()
        alive_at_load.append(sum(ref() is not None for ref in loaded))
        made = providers.create(provider, model, options)
        loaded.append(weakref.ref(made.model))
        return made

    settings = RunSettings(
        provider="hf",
        families=[str(family)],
        tasks=["arithmetic", "hindsight_neglect:shots=0"],
        prompting="plain",
        scoring="logprob",
        chat_template="auto",
        limit=3,
    )
    run_dir = RunDir.create(tmp_path / "run")
    Runner(plan_run(settings), run_dir, factory=factory).run()
    run_dir.close()
    assert alive_at_load == [0, 0]  # the first size's model was freed before the second was loaded
    samples = list(run_dir.iter_samples())
    instruct = [s for s in samples if s.variant == "instruct"]
    base = [s for s in samples if s.variant == "base"]
    assert len(instruct) == len(base) == 6
    assert all(
        s.chat_template and s.sent and s.sent.startswith("<bos><|user|>\n" + s.prompt) for s in instruct
    )
    assert not any(s.chat_template or s.sent for s in base)
    assert all(s.scoring == "logprob" for s in samples if s.task.startswith("hindsight"))
    models = run_dir.read_manifest().models
    assert [m.details["chat_template"] for m in models] == ["on", "off"]
    from reports import build_reports

    rows = build_reports(run_dir).rows
    by_size = sorted({(r.params, r.model) for r in rows})
    assert [m for _, m in by_size] == ["small", "large"]  # ordered by the parameters counted


def test_resume_computes_an_item_with_the_neighbours_it_had(tmp_path: Path) -> None:
    """Items run in fixed groups, so a resumed run gives the missing items bit-for-bit the numbers the
    first run gave them (the groups do not shift with what was done or cached)."""
    from benchmark.rundir import RunDir
    from benchmark.runner import Runner, plan_run
    from benchmark.settings import RunSettings

    folder = tiny_models.write(tmp_path / "m", "gemma3")
    settings = RunSettings(
        provider="hf",
        models=[str(folder)],
        tasks=["hindsight_neglect:shots=2", "arithmetic"],
        prompting="plain",
        limit=11,
    )
    plan = plan_run(settings)
    first = RunDir.create(tmp_path / "first")
    Runner(plan, first).run()
    first.close()
    lines = (first.path / "samples.jsonl").read_text().splitlines()
    dropped = {2, 5, 9, 13, 20}
    second = RunDir.create(tmp_path / "second")
    second.write_manifest(first.read_manifest())
    (second.path / "samples.jsonl").write_text(
        "".join(x + "\n" for n, x in enumerate(lines) if n not in dropped)
    )
    Runner(plan, second, resume=True).run()
    second.close()
    key = lambda s: (s.task, s.item_id, s.scoring)  # noqa: E731 (choice items: both scoring modes)
    before = {key(s): s for s in first.iter_samples()}
    again = {key(s): s for s in second.iter_samples()}
    assert before.keys() == again.keys()
    for k in before:
        assert (again[k].class_logprobs, again[k].response, again[k].metrics) == (
            before[k].class_logprobs,
            before[k].response,
            before[k].metrics,
        ), k


def test_a_size_that_cannot_fit_is_one_error_row_and_the_sweep_goes_on(bench, tmp_path: Path) -> None:
    small = tiny_models.write(tmp_path / "small", "llama", hidden=16)
    huge = tiny_models.write(tmp_path / "huge", "llama", hidden=16, seed=1)
    family = _family(
        tmp_path / "f.yaml",
        [
            {"provider": "hf", "model": str(small), "params": "10K", "variant": "base"},
            {"provider": "hf", "model": str(huge), "params": "90T", "variant": "base"},
        ],
    )
    out = tmp_path / "run"
    result = bench("run", "--family", str(family), "--task", "arithmetic", "--limit", "2", "--out", str(out))
    assert result.code == 1, result.err  # not every size ran
    assert "does not fit" in result.err and "Traceback" not in result.err
    manifest = Manifest.model_validate_json((out / "manifest.json").read_text())
    assert [m.error is None for m in manifest.models] == [True, False]
    assert "memory" in (manifest.models[1].error or "")
    samples = [Sample.model_validate_json(x) for x in (out / "samples.jsonl").read_text().splitlines()]
    assert {s.model for s in samples} == {manifest.models[0].label}
    assert "Not run" in (out / "report.md").read_text()
    assert "not run:" in result.err


def test_max_params_cuts_a_sweep(bench, tmp_path: Path) -> None:
    small = tiny_models.write(tmp_path / "small", "llama", hidden=16)
    family = _family(
        tmp_path / "f.yaml",
        [
            {"provider": "hf", "model": str(small), "params": "10K", "variant": "base"},
            {"provider": "hf", "model": "nobody/too-large", "params": "7B", "variant": "base"},
        ],
    )
    out = tmp_path / "run"
    args = ("--family", str(family), "--max-params", "1B", "--task", "arithmetic", "--limit", "1")
    result = bench("run", *args, "--out", str(out))
    assert result.code == 0, result.err
    assert len(Manifest.model_validate_json((out / "manifest.json").read_text()).models) == 1


def test_one_base_url_for_a_family_of_several_sizes_is_refused(bench, tmp_path: Path) -> None:
    args = ("--family", "pythia", "--base-url", "http://127.0.0.1:9/v1", "--out", str(tmp_path / "r"))
    result = bench("run", *args)
    assert result.code == 2 and len(result.err.strip().splitlines()) == 1, result.err
    assert "all 8 members of pythia to one server" in result.err and "base_url" in result.err
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize("offline", [False, True], ids=["no-network", "HF_HUB_OFFLINE"])
def test_an_absent_hub_model_is_one_line_within_seconds(bench, tmp_path: Path, offline: bool) -> None:
    env = {"HF_HOME": str(tmp_path / "hf"), "HF_ENDPOINT": "http://127.0.0.1:9"}  # nothing listens there
    if offline:
        env["HF_HUB_OFFLINE"] = "1"
    start = time.monotonic()
    out = tmp_path / "r"
    result = bench("run", "--provider", "hf", "--model", "nobody/no-such-model", "--out", str(out), env=env)
    took = time.monotonic() - start
    assert result.code == 2, result.err
    lines = [line for line in result.err.splitlines() if line.strip()]
    assert len(lines) == 1 and "nobody/no-such-model" in lines[0] and "Retrying" not in result.err, result.err
    assert ("HF_HUB_OFFLINE" if offline else "cannot reach") in lines[0]
    assert not out.exists()
    assert took < 60, took  # one 3-second connect, not huggingface_hub's retries (28 s before)


def test_bench_run_on_a_model_folder(bench, tmp_path: Path) -> None:
    folder = tiny_models.write(tmp_path / "m", "gpt2")
    out = tmp_path / "run"
    result = bench(
        "run",
        "--provider",
        "hf",
        "--model",
        str(folder),
        "--task",
        "hindsight_neglect",
        "--limit",
        "3",
        "--prompting",
        "plain",
        "--scoring",
        "logprob",
        "--out",
        str(out),
    )
    assert result.code == 0, result.err
    [model] = Manifest.model_validate_json((out / "manifest.json").read_text()).models
    assert (
        model.provider == "hf" and model.details["source"] == "folder" and model.details["dtype"] == "float32"
    )
    assert "models to load" in result.err  # the table before the sweep
    samples = [Sample.model_validate_json(x) for x in (out / "samples.jsonl").read_text().splitlines()]
    assert len(samples) == 3 and all(s.scoring == "logprob" and s.class_logprobs for s in samples)


def test_a_prompt_longer_than_the_models_context_is_one_line(bench, tmp_path: Path) -> None:
    folder = tiny_models.write(tmp_path / "m", "gpt2", positions=1024)  # shorter than the 10-shot prompts
    args = ("--task", "hindsight_neglect", "--limit", "1", "--prompting", "plain")
    result = bench("run", "--provider", "hf", "--model", str(folder), *args, "--out", str(tmp_path / "r"))
    assert result.code == 2 and "Traceback" not in result.err, result.err
    assert "exceed the model's context of 1024" in result.err


def test_the_gpu_script_runs(tmp_path: Path) -> None:
    """perf/gpu_engine.py is meant for a machine with a GPU; `--tiny` checks here that it still runs."""
    import os
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        [sys.executable, "-m", "perf.gpu_engine", "--tiny", "--items", "4"],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(root)},
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "scoring:" in done.stdout and "generation:" in done.stdout and "ratio" in done.stdout


def test_the_direct_tokenizer_read_is_marked_only_where_it_agrees_with_autotokenizer(tmp_path: Path) -> None:
    from providers import hf_tokenizer

    built = tiny_models.tokenizer(tiny_models.CHAT_TEMPLATE)
    built.save_pretrained(tmp_path / "same")
    assert hf_tokenizer.same_tokenizer(built, hf_tokenizer._direct(tmp_path / "same"))  # template included
    assert hf_tokenizer.check_direct_read(tmp_path / "same") == {
        "tokenizer": "tokenizer.json",
        "tokenizer_checked_with": hf_tokenizer.versions(),
    }
    assert not hf_tokenizer.same_tokenizer(built, tiny_models.tokenizer())  # no template: told apart
    other = tiny_models.tokenizer()
    other.backend_tokenizer.post_processor = None  # no BOS before every text
    assert not hf_tokenizer.same_tokenizer(tiny_models.tokenizer(), other)
    # A class that rebuilds the tokenizer from its own code (Gemma's) reads the same file otherwise:
    # AutoTokenizer splits "ab cd" at the space where the file alone keeps it. Not marked.
    tiny_models.tokenizer().save_pretrained(tmp_path / "rebuilt")
    config = json.loads((tmp_path / "rebuilt" / "tokenizer_config.json").read_text())
    (tmp_path / "rebuilt" / "tokenizer_config.json").write_text(
        json.dumps({**config, "tokenizer_class": "GemmaTokenizer"})
    )
    assert hf_tokenizer.check_direct_read(tmp_path / "rebuilt") == {}


def test_a_marked_copy_reads_its_tokenizer_file_and_any_other_folder_goes_through_autotokenizer(
    tiny: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import shutil

    import transformers

    from providers import hf_tokenizer

    calls: list[Path] = []
    sentinel = object()

    def auto(folder: Path, *args: Any, **kwargs: Any) -> Any:
        calls.append(folder)
        return sentinel

    monkeypatch.setattr(transformers.AutoTokenizer, "from_pretrained", auto)
    folder = shutil.copytree(tiny["llama"], tmp_path / "copy")
    assert hf_tokenizer.load_tokenizer(folder) == (sentinel, "AutoTokenizer")  # not bench's copy
    assert calls == [folder]
    mark = {"name": "x", "tokenizer": "tokenizer.json"}  # converted before the versions were recorded
    (folder / "bench-source.json").write_text(json.dumps(mark))
    assert hf_tokenizer.load_tokenizer(folder)[0] is sentinel and len(calls) == 2
    mark["tokenizer_checked_with"] = hf_tokenizer.versions()
    (folder / "bench-source.json").write_text(json.dumps(mark))
    direct, read = hf_tokenizer.load_tokenizer(folder)
    assert read == "tokenizer.json (checked)" and direct is not sentinel and len(calls) == 2
    assert direct("ab").input_ids == tiny_models.tokenizer()("ab").input_ids
    mark["tokenizer_checked_with"] = "transformers 4.0.0, tokenizers 0.20.0"  # checked under others
    (folder / "bench-source.json").write_text(json.dumps(mark))
    assert hf_tokenizer.load_tokenizer(folder)[0] is sentinel and len(calls) == 3
    mark["tokenizer_checked_with"] = hf_tokenizer.versions()
    (folder / "bench-source.json").write_text(json.dumps(mark))
    (folder / "tokenizer_config.json").write_text('{"pad_token": {"not": "a token"}}')  # changed since
    assert hf_tokenizer.load_tokenizer(folder) == (sentinel, "AutoTokenizer")  # which reads or names it
    assert len(calls) == 4
