"""In-process llama.cpp (llama-cpp-python): the `local` provider, its options, generation and log-probs
of given continuations on the engine's own thread, and the chat template it may apply. The GGUF file it
loads (resolved, downloaded, checked, its self-test) is in providers/local_model.py; the llama.cpp calls
that evaluate prompts and score several items in one call are in providers/local_batch.py; the build's
settings and its self-test harness are in providers/llama_engine.py."""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Literal, TypeVar

from benchmark.engine_threads import described, thread_count
from benchmark.errors import MissingExtraError, UsageError
from benchmark.schemas import ModelInfo
from providers import llama_engine
from providers.base import (
    ContinuationScores,
    EngineOptions,
    GenerateRequest,
    Generation,
    Provider,
    ProviderOptions,
    ScoreRequest,
)
from providers.local_batch import LlamaScoring
from providers.local_model import (
    MAX_SEQUENCES,
    N_CTX,
    engine_build,
    open_engine,
    prepare,
    resolve_model,
)

__all__ = [
    "LocalOptions",
    "LocalProvider",
    "apply_chat_template",
    "read_chat_template",
    "template_error",
]

_T = TypeVar("_T")
_R = TypeVar("_R")

METHOD = "3: prompt and all classes in one call, also after a long shared prefix"
"""How this engine evaluates: part of the response cache's key, bumped when a change here changes the
numbers, so answers cached by an older bench are not mixed with new ones."""


def _require_engine() -> None:
    try:
        import llama_cpp  # noqa: F401
    except ImportError:
        raise MissingExtraError("llama-cpp-python", "local", "--provider local") from None


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


class LocalOptions(EngineOptions):
    """The local engine's options."""

    weights: Literal["native", "f32"] = "native"
    """`--weights`: native (compute in the file's own quantized types) or f32 (weights dequantized to
    float32 once, KV cache float32)."""


class LocalProvider(LlamaScoring, Provider):
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
        engine_file, digest = prepare(path, weights, self_test)
        self.weights = weights
        self.settings = llama_engine.settings()
        self.threads = thread_count(threads)
        self.llm: Any = open_engine(path, engine_file, weights, self.threads)
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
                "engine": engine_build(),
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
        prepare(resolve_model(spec), LocalOptions.of(options).weights, self_test=True)

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

    # -- tokens ----------------------------------------------------------------------------------
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
