"""`--provider hf`: Hugging Face models run in this process through transformers (the `hf` extra), as
`hf` means in lm-evaluation-harness, Inspect and lighteval. Weights come from the Hub, a folder or a GGUF
(providers/hf_models.py); with no `--model`, the packaged Gemma-3-270M, offline.

The engine keeps the contract of the llama.cpp one: an item's prompt is evaluated once and its answer
classes are scored as continuations of it; the few-shot prefix that items share is evaluated once and
its KV cache reused. On top of that it evaluates the fixed groups of items the runner hands it in one
padded batch (providers/hf_batch.py: masks by real position, so an item's numbers do not depend on its
neighbours beyond the rounding of another batch shape), and generates greedily for a whole group.
CUDA when present (bfloat16 by default, `device_map="auto"` across GPUs), else float32 on the CPU.
"""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TypeVar

from benchmark.engine_threads import described, thread_count
from benchmark.errors import DoesNotFitError, UsageError
from benchmark.schemas import ModelInfo
from providers.base import (
    ContinuationScores,
    EngineOptions,
    ErrorKind,
    Footprint,
    GenerateRequest,
    Generation,
    Provider,
    ProviderError,
    ProviderOptions,
    ScoreRequest,
    cut_at_stop,
)
from providers.hf_models import ModelRef, fetch, parse, require_transformers, source_name
from providers.hf_tokenizer import load_tokenizer
from providers.http_api import first_line

_T = TypeVar("_T")
_R = TypeVar("_R")

METHOD = "1: shared prefix cached; prompts, classes and generation batched with masks by position"
"""How this engine evaluates: part of the response cache's key, bumped when a change here changes the
numbers."""
DTYPES = ("auto", "float32", "bfloat16", "float16")
BATCH = {"cpu": 8, "cuda": 16}
"""Items per group (the runner's fixed groups; a group's classes and generations share one batch)."""
DEFAULT_PARAMS = 268_098_176
"""The packaged Gemma-3-270M's parameters (counted by transformers from its weights)."""
MEMORY_OVERHEAD = 1.2
"""Weights times this: room for activations, the KV cache and the allocator (an estimate)."""


@dataclass(frozen=True)
class _Prompt:
    """A prompt as the model sees it: the shared prefix's tokens and the rest."""

    text: str
    prefix: tuple[int, ...]
    rest: list[int]

    @property
    def tokens(self) -> list[int]:
        return [*self.prefix, *self.rest]


def device_and_dtype(requested: str) -> tuple[str, Any]:
    import torch

    if requested not in DTYPES:
        raise UsageError(f"--dtype must be one of {', '.join(DTYPES)}, not {requested!r}")
    device = "cuda" if torch.cuda.is_available() else "cpu"
    if requested == "auto":
        return device, torch.bfloat16 if device == "cuda" else torch.float32
    return device, getattr(torch, requested)


class HFOptions(EngineOptions):
    """The transformers engine's options."""

    dtype: Literal["auto", "float32", "bfloat16", "float16"] = "auto"
    """`--dtype`: what the weights compute in: auto (bfloat16 on a GPU, float32 on a CPU), float32,
    bfloat16 or float16; checked against the model and the device before it loads."""


class HFProvider(Provider):
    name = "hf"
    Options = HFOptions
    supports_logprobs = True
    max_concurrency = 1  # one in-process engine; it batches the runner's groups itself
    in_process = True

    def __init__(
        self, folder: Path, ref: ModelRef, weights: dict[str, str], options: ProviderOptions
    ) -> None:
        require_transformers()
        import torch
        import transformers
        from transformers import AutoModelForCausalLM

        from providers.hf_batch import Evaluator

        own = HFOptions.of(options)
        self.device, dtype = device_and_dtype(own.dtype)
        self.threads = thread_count(own.threads)
        if self.device == "cpu":  # before the weights load: the load computes too
            torch.set_num_threads(self.threads)
        try:
            self.tokenizer: Any
            self.tokenizer, tokenizer_read = load_tokenizer(folder)
            self.model: Any = AutoModelForCausalLM.from_pretrained(
                folder, dtype=dtype, device_map="auto" if self.device == "cuda" else None
            ).eval()
            self.evaluator = Evaluator(self.model)
        except (OSError, ValueError, KeyError) as exc:
            raise UsageError(f"transformers cannot load {ref.name}: {type(exc).__name__}: {exc}") from None
        self.templated = options.chat_template == "on"
        if self.templated and not getattr(self.tokenizer, "chat_template", None):
            raise UsageError(f"{ref.name} has no chat template; run it with --chat-template off")
        self.batch_size = BATCH[self.device]
        self._stops = _eos_ids(self.model, self.tokenizer)
        self._prefix: tuple[tuple[int, ...], Any] | None = None
        self._engine_thread = ThreadPoolExecutor(1, thread_name_prefix="transformers")
        versions = {"transformers": transformers.__version__, "torch": torch.__version__}
        details = {
            **weights,
            "dtype": str(dtype).removeprefix("torch."),
            "device": self.device,
            **versions,
            "batch_size": str(self.batch_size),
            "chat_template": "on" if self.templated else "off",
            "tokenizer": tokenizer_read,
        }
        self.info = ModelInfo(
            provider=self.name,
            model=ref.name,
            label=_label(ref, folder),
            params=sum(p.numel() for p in self.model.parameters()),
            hub_id=ref.repo if ref.kind == "hub" else None,
            revision=ref.revision if ref.kind == "hub" else None,
            scripted=False,
            supports_logprobs=True,
            # Threads and their wait do not change the numbers (tests/e2e/test_engine_threads.py): in the
            # manifest, not in the cache's key.
            details=details | {"threads": described(self.threads)},
        )
        self._identity = {"provider": self.name, "model": ref.name, **details, "method": METHOD}

    @property
    def identity(self) -> dict[str, str]:
        """The weights (revision or sha256), how they compute (dtype, device, versions, batch), the
        method and the template: not the folder they were read from."""
        return self._identity

    @classmethod
    def check_spec(cls, spec: str | None, options: ProviderOptions) -> None:
        require_transformers()
        from providers.hf_models import check

        device_and_dtype(HFOptions.of(options).dtype)
        check(parse(spec))

    @classmethod
    def from_spec(cls, spec: str | None, options: ProviderOptions) -> HFProvider:
        require_transformers()
        import torch

        from benchmark.cache import default_cache_dir

        ref = parse(spec)
        folder, weights = fetch(ref, default_cache_dir())
        try:
            return cls(folder, ref, weights, options)
        except (torch.OutOfMemoryError, MemoryError) as exc:
            raise DoesNotFitError(f"{ref.name} does not fit in memory: {first_line(str(exc))}") from None

    @classmethod
    def footprint(cls, spec: str | None, options: ProviderOptions, params: int | None) -> Footprint | None:
        require_transformers()
        from providers.hf_models import size

        ref = parse(spec)
        device, dtype = device_and_dtype(HFOptions.of(options).dtype)
        found = size(ref)
        params = params or found.params or (DEFAULT_PARAMS if ref.kind == "default" else None)
        memory = int(params * dtype.itemsize * MEMORY_OVERHEAD) if params else None
        return Footprint(found.download_bytes, memory, available_memory(device), device.upper())

    async def aclose(self) -> None:
        """Free the model, GPU memory included, before the next size is loaded."""
        self._engine_thread.shutdown(wait=True)
        self._prefix = None
        for name in ("model", "evaluator"):
            if hasattr(self, name):
                delattr(self, name)
        gc.collect()
        import torch

        if torch.cuda.is_available():
            torch.cuda.empty_cache()

    async def _on_engine_thread(self, call: Callable[[_T], _R], argument: _T) -> _R:
        return await asyncio.get_running_loop().run_in_executor(self._engine_thread, call, argument)

    # -- the Provider interface ---------------------------------------------------------------
    async def generate(self, request: GenerateRequest) -> Generation:
        return (await self.generate_many([request]))[0]

    async def generate_many(self, requests: Sequence[GenerateRequest]) -> list[Generation]:
        return await self._on_engine_thread(self._generate, list(requests))

    async def score(self, request: ScoreRequest) -> ContinuationScores:
        return (await self.score_many([request]))[0]

    async def score_many(self, requests: Sequence[ScoreRequest]) -> list[ContinuationScores]:
        return await self._on_engine_thread(self._score, list(requests))

    def sent(self, prompt: str) -> str | None:
        return self._render(prompt) if self.templated else None

    # -- prompts ------------------------------------------------------------------------------
    def _render(self, prompt: str) -> str:
        if not self.templated:
            return prompt
        text: str = self.tokenizer.apply_chat_template(
            [{"role": "user", "content": prompt}], tokenize=False, add_generation_prompt=True
        )
        return text

    def _ids(self, text: str) -> list[int]:
        # A chat template writes its own special tokens (BOS included); a raw prompt gets the tokenizer's.
        ids: list[int] = self.tokenizer(text, add_special_tokens=not self.templated).input_ids
        return ids

    def _prompt(self, prompt: str, shared_prefix: int) -> _Prompt:
        text = self._render(prompt)
        where = text.find(prompt) if shared_prefix else -1
        ids = self._ids(text)
        boundary = 0
        if where >= 0:
            prefix = self._ids(text[: where + shared_prefix])
            if len(prefix) < len(ids) and ids[: len(prefix)] == prefix:
                boundary = len(prefix)
        return _Prompt(text, tuple(ids[:boundary]), ids[boundary:])

    def _check_length(self, tokens: int) -> None:
        config = self.model.config
        limit = getattr(config, "max_position_embeddings", None) or getattr(config, "n_positions", None)
        if limit is not None and tokens > limit:
            raise ProviderError(ErrorKind.FATAL, f"{tokens} tokens exceed the model's context of {limit}")

    def _continuation(self, prompt: _Prompt, text: str) -> list[int]:
        """The continuation's tokens as lm-evaluation-harness splits them: those of prompt + continuation
        after the prompt's own tokens."""
        whole = self._ids(prompt.text + text)
        context = prompt.tokens
        tokens = whole[len(context) :] if whole[: len(context)] == context else None
        if not tokens:
            tokens = self.tokenizer(text, add_special_tokens=False).input_ids
        if not tokens:
            raise UsageError(f"continuation {text!r} has no tokens")
        return list(tokens)

    def _groups(self, prompts: Sequence[_Prompt]) -> list[list[int]]:
        """Indexes of the prompts by shared prefix, in order of first appearance."""
        groups: dict[tuple[int, ...], list[int]] = {}
        for n, prompt in enumerate(prompts):
            groups.setdefault(prompt.prefix, []).append(n)
        return list(groups.values())

    def _block(self, prefix: tuple[int, ...], rows: int) -> Any:
        """The prefix's KV cache (evaluated once, kept while the prefix stays the same), repeated."""
        if self._prefix is None or self._prefix[0] != prefix:
            self._prefix = (prefix, self.evaluator.prefix(prefix))
        return self.evaluator.expanded(self._prefix[1], rows)

    # -- scoring ------------------------------------------------------------------------------
    def _score(self, requests: list[ScoreRequest]) -> list[ContinuationScores]:
        import torch

        from providers.hf_batch import log_softmax

        prompts = [self._prompt(r.prompt, r.shared_prefix) for r in requests]
        for prompt in prompts:
            self._check_length(len(prompt.tokens))
        results: list[ContinuationScores | None] = [None] * len(requests)
        with torch.inference_mode():
            for members in self._groups(prompts):
                block = self._block(prompts[members[0]].prefix, len(members))
                last = log_softmax(self.evaluator.extend(block, [prompts[n].rest for n in members], "last"))
                pairs = [
                    (row, self._continuation(prompts[n], text))
                    for row, n in enumerate(members)
                    for text in requests[n].continuations
                ]
                for row, tokens in pairs:
                    self._check_length(len(prompts[members[row]].tokens) + len(tokens))
                totals = [float(last[row, tokens[0]]) for row, tokens in pairs]
                if any(len(tokens) > 1 for _, tokens in pairs):
                    block.select([row for row, _ in pairs])
                    rest = log_softmax(self.evaluator.extend(block, [t[:-1] for _, t in pairs], "all"))
                    for k, (_, tokens) in enumerate(pairs):
                        totals[k] += sum(float(rest[k, m - 1, tokens[m]]) for m in range(1, len(tokens)))
                k = 0
                for n in members:
                    count = len(requests[n].continuations)
                    lengths = sum(len(tokens) for _, tokens in pairs[k : k + count])
                    results[n] = ContinuationScores(
                        tuple(totals[k : k + count]), len(prompts[n].tokens), lengths
                    )
                    k += count
        return [r for r in results if r is not None]

    # -- generation ---------------------------------------------------------------------------
    def _generate(self, requests: list[GenerateRequest]) -> list[Generation]:
        import torch

        prompts = [self._prompt(r.prompt, r.shared_prefix) for r in requests]
        for prompt, request in zip(prompts, requests, strict=True):
            self._check_length(len(prompt.tokens) + request.max_tokens)
        results: list[Generation | None] = [None] * len(requests)
        with torch.inference_mode():
            for members in self._groups(prompts):
                block = self._block(prompts[members[0]].prefix, len(members))
                logits = self.evaluator.extend(block, [prompts[n].rest for n in members], "last")
                texts = self._greedy(block, logits, [requests[n] for n in members])
                for n, (text, count) in zip(members, texts, strict=True):
                    results[n] = Generation(text, len(prompts[n].tokens), count)
        return [r for r in results if r is not None]

    def _greedy(self, block: Any, logits: Any, requests: list[GenerateRequest]) -> list[tuple[str, int]]:
        """Greedy continuation of every row until its end-of-text token, a stop sequence or its token
        budget; finished rows leave the batch. Returns (text, generated tokens) per row."""
        generated: list[list[int]] = [[] for _ in requests]
        done: list[tuple[str, int] | None] = [None] * len(requests)
        active = list(range(len(requests)))
        while active:
            chosen = logits.argmax(dim=-1).tolist()
            still = []
            for slot, row in enumerate(active):
                token = int(chosen[slot])
                request = requests[row]
                if token not in self._stops:
                    generated[row].append(token)
                text = self.tokenizer.decode(generated[row], skip_special_tokens=True)
                stopped = token in self._stops or any(s and s in text for s in request.stop)
                if stopped or len(generated[row]) >= request.max_tokens:
                    done[row] = (cut_at_stop(text, request.stop), len(generated[row]))
                else:
                    still.append(slot)
            if not still:
                break
            if len(still) < len(active):
                block.select(still)
            active = [active[slot] for slot in still]
            logits = self.evaluator.extend(block, [[generated[row][-1]] for row in active], "last")
        return [d if d is not None else ("", 0) for d in done]


def available_memory(device: str) -> int | None:
    """Free bytes where the weights will be: all GPUs together, or the machine's available memory."""
    import torch

    if device == "cuda":
        return sum(torch.cuda.mem_get_info(i)[0] for i in range(torch.cuda.device_count()))
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def _eos_ids(model: Any, tokenizer: Any) -> set[int]:
    found: set[int] = set()
    for value in (getattr(model.generation_config, "eos_token_id", None), tokenizer.eos_token_id):
        if isinstance(value, int):
            found.add(value)
        elif isinstance(value, list):
            found.update(v for v in value if isinstance(v, int))
    return found


def _label(ref: ModelRef, folder: Path) -> str:
    """A short name: the GGUF's own name, or the repository's, or the folder's."""
    if ref.kind == "hub" and ref.repo:
        return ref.repo.rsplit("/", 1)[-1] + (f"@{ref.revision}" if ref.revision else "")
    return source_name(folder) or folder.name
