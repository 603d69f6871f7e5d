"""Loading llama.cpp (llama-cpp-python), in one place for the local engine, the tests and perf/: the
settings this build needs, a one-time self-test of a build in a child process, llama.cpp's own
messages captured, and the float32 copy of a GGUF.

Why the settings: a llama.cpp built with AMX kernels (GGML_NATIVE on an Intel Xeon of the Sapphire
Rapids generation or later, or a wheel built elsewhere) can die with SIGILL in those kernels: their
worker threads run tile instructions without the kernel's per-thread AMX permission (llama.cpp pull
request 26954). The AMX kernels are one of llama.cpp's "extra buffer types" (weight repacking is the
other), so on such a build bench loads every model with `use_extra_bufts = False`: AVX-512 stays, AMX
and repacking are off. Every other build keeps llama.cpp's defaults.

Why the self-test: a crash in native code kills the process before Python can say anything. So the
first time a build (its shared libraries), a CPU, these settings and a model file meet, a child process
loads the model and runs the engine's calls once; if it dies by a signal, the user gets one line saying
so and how to rebuild, and nothing is loaded in-process. A passed check is remembered in the cache
folder (`engine/`), so later runs pay nothing.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import hashlib
import json
import os
import platform
import re
import signal
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO, Any

from benchmark.engine_threads import usable_cpus
from benchmark.errors import BenchError, UsageError

SELF_TEST_TIMEOUT = 900.0
"""Seconds the child may take to load a model and run the check (a large model on a slow disk);
past that the check is abandoned, not failed, and the model is loaded in-process as before."""

CRASH_SIGNALS = {
    signal.SIGILL: "an illegal instruction",
    signal.SIGSEGV: "a segmentation fault",
    signal.SIGBUS: "a bus error",
    signal.SIGFPE: "an arithmetic fault",
    signal.SIGABRT: "an abort",
}
"""Signals that mean the engine itself crashed (an interrupt or a kill from outside is not a verdict)."""

NO_AMX_FLAGS = "-mno-amx-tile -mno-amx-int8 -mno-amx-bf16"
REBUILD = (
    f"CMAKE_ARGS=\"-DCMAKE_C_FLAGS='{NO_AMX_FLAGS}' -DCMAKE_CXX_FLAGS='{NO_AMX_FLAGS}'\" "
    "pip install --force-reinstall --no-cache-dir --no-deps llama-cpp-python=={version}"
)
"""A build for this machine (GGML_NATIVE, the default) without AMX instructions: every other native
feature, AVX-512 included, stays."""


class EngineCrashError(BenchError):
    """llama.cpp died by a signal in the self-test: this build cannot run on this CPU as it is."""


@dataclass(frozen=True)
class EngineSettings:
    """How bench asks llama.cpp to load a model on this build."""

    extra_buffers: bool = True
    """llama.cpp's `use_extra_bufts`: weights repacked for its faster kernels, and on builds that have
    them, the AMX kernels. Off on builds with AMX (see the module's docstring)."""
    reason: str = ""
    """Why the settings differ from llama.cpp's defaults (empty when they do not)."""


def build_features(info: str) -> dict[str, str]:
    """`llama_print_system_info()` as a mapping: 'CPU : AVX2 = 1 | AMX_INT8 = 1 |' → {'AVX2': '1', ...}."""
    return {name: value.strip() for name, value in re.findall(r"([A-Z][A-Z0-9_]*) = ([^|]*)", info)}


def choose_settings(info: str) -> EngineSettings:
    """The settings for a build whose `llama_print_system_info()` is `info`."""
    features = build_features(info)
    amx = sorted(name for name, value in features.items() if name.startswith("AMX") and value == "1")
    if amx:
        return EngineSettings(
            extra_buffers=False,
            reason=f"this llama.cpp build has AMX kernels ({', '.join(amx)}), which can crash with SIGILL "
            "(llama.cpp pull request 26954): extra buffer types (AMX, repacking) are off",
        )
    return EngineSettings()


def system_info() -> str:
    import llama_cpp

    info: bytes = llama_cpp.llama_print_system_info()
    return info.decode("utf-8", errors="replace")


OVERRIDE = "BENCH_LLAMA_EXTRA_BUFFERS"
"""Environment variable: `on` or `off` forces llama.cpp's extra buffer types either way (for a build
whose AMX kernels are known to work here, or to measure); unset, bench decides from the build."""


@functools.cache
def settings() -> EngineSettings:
    """The settings for the llama.cpp build installed here (or as BENCH_LLAMA_EXTRA_BUFFERS says)."""
    forced = os.environ.get(OVERRIDE, "").strip().lower()
    if forced in ("on", "off"):
        return EngineSettings(forced == "on", f"{OVERRIDE}={forced}" if forced == "off" else "")
    if forced:
        raise UsageError(f"{OVERRIDE} must be on or off (or unset, for bench to decide), not {forced!r}")
    return choose_settings(system_info())


def _internals() -> Any:
    """llama-cpp-python's private module that builds models and contexts (`Llama` looks its classes up
    there at each load, so replacing them there reaches every load)."""
    from llama_cpp import _internals as internals

    return internals


def _with_settings(original: Callable[..., Any], chosen: EngineSettings) -> Callable[..., Any]:
    def model(*, path_model: str, params: Any, verbose: bool = True) -> Any:
        params.use_extra_bufts = chosen.extra_buffers
        return original(path_model=path_model, params=params, verbose=verbose)

    return model


def _with_sequences(original: Callable[..., Any], count: int) -> Callable[..., Any]:
    def context(*, model: Any, params: Any, verbose: bool = True) -> Any:
        params.n_seq_max = count
        params.kv_unified = True
        return original(model=model, params=params, verbose=verbose)

    return context


class _TemplateNotRead:
    """Stands in for llama-cpp-python's chat formatter while `Llama(...)` loads a model, which would
    otherwise parse every chat template in the file's metadata (and fail to load a model whose template
    has an error). bench applies a template itself, only with --chat-template on (providers/local.py),
    and never through llama-cpp-python's chat API, whose handlers this leaves empty."""

    def __init__(self, **_: Any) -> None:
        pass

    def to_chat_handler(self) -> None:
        return None


@contextlib.contextmanager
def _patched(chosen: EngineSettings, sequences: int) -> Iterator[None]:
    """While `Llama(...)` builds its model and context: the model with `chosen`, the context holding
    `sequences` sequences in one unified KV cache (llama-cpp-python's constructor has parameters for
    neither and builds both itself), and the file's chat templates left unread."""
    from llama_cpp import llama_chat_format

    internals = _internals()
    model, context = internals.LlamaModel, internals.LlamaContext
    formatter = llama_chat_format.Jinja2ChatFormatter
    internals.LlamaModel = _with_settings(model, chosen)
    if sequences > 1:
        internals.LlamaContext = _with_sequences(context, sequences)
    llama_chat_format.Jinja2ChatFormatter = _TemplateNotRead  # type: ignore[misc,assignment]
    try:
        yield
    finally:
        internals.LlamaModel, internals.LlamaContext = model, context
        llama_chat_format.Jinja2ChatFormatter = formatter  # type: ignore[misc]


def open_model(path: Path, *, sequences: int = 1, chosen: EngineSettings | None = None, **kwargs: Any) -> Any:
    """`llama_cpp.Llama(path, **kwargs)` with this build's settings (or `chosen`), its context holding
    `sequences` sequences. Everything in bench that loads llama.cpp in-process comes through here."""
    from llama_cpp import Llama

    with _patched(chosen or settings(), sequences):
        return Llama(model_path=str(path), **kwargs)


def use_everywhere(chosen: EngineSettings | None = None) -> None:
    """Make every model this process loads use this build's settings (for llama.cpp's server, whose
    models are built by llama-cpp-python's own code)."""
    internals = _internals()
    internals.LlamaModel = _with_settings(internals.LlamaModel, chosen or settings())


# -- the self-test -----------------------------------------------------------------------------------
@functools.cache
def build_id() -> str:
    """The installed llama-cpp-python: its version and the sha256 of its shared libraries."""
    import llama_cpp

    digest = hashlib.sha256(llama_cpp.__version__.encode())
    for library in sorted((Path(llama_cpp.__file__).parent / "lib").glob("*")):
        if library.is_file() and not library.is_symlink():
            digest.update(library.name.encode())
            digest.update(library.read_bytes())
    return digest.hexdigest()


@functools.cache
def cpu_name() -> str:
    """The CPU's model name, and a digest of its feature flags (what decides which instructions run)."""
    try:
        lines = Path("/proc/cpuinfo").read_text(errors="replace").splitlines()
    except OSError:
        return platform.processor() or platform.machine()
    fields = dict(line.split(":", 1) for line in lines if ":" in line)  # the last processor's fields
    fields = {key.strip(): value.strip() for key, value in fields.items()}
    flags = fields.get("flags") or fields.get("Features") or ""
    name = fields.get("model name") or platform.processor() or platform.machine()
    return f"{name} (flags {hashlib.sha256(flags.encode()).hexdigest()[:12]})"


def _marker(folder: Path, model_digest: str, chosen: EngineSettings) -> Path:
    key = json.dumps([build_id(), cpu_name(), asdict(chosen), model_digest])
    return folder / f"{hashlib.sha256(key.encode()).hexdigest()[:32]}.json"


def check_build(
    engine_file: Path, model_digest: str, folder: Path, probe: list[str], chosen: EngineSettings | None = None
) -> None:
    """Run `probe` (a command that loads `engine_file` and runs the engine once) in a child process,
    unless a check of this build, CPU, settings and model (`model_digest`) already passed. A child killed
    by a crash signal raises EngineCrashError; a child that fails otherwise, or runs too long, leaves the
    verdict to the in-process load (nothing is remembered)."""
    chosen = chosen or settings()
    marker = _marker(folder, model_digest, chosen)
    if marker.is_file():
        return
    root = str(Path(__file__).resolve().parent.parent)  # where `providers` is, for the child's imports
    path = os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH")) if p)
    try:
        done = subprocess.run(
            probe,
            capture_output=True,
            text=True,
            timeout=SELF_TEST_TIMEOUT,
            # The child loads with exactly the settings this check is remembered for.
            env={**os.environ, "PYTHONPATH": path, OVERRIDE: "on" if chosen.extra_buffers else "off"},
        )
    except subprocess.TimeoutExpired:
        return
    if done.returncode < 0 and -done.returncode in CRASH_SIGNALS:
        raise EngineCrashError(crash_message(-done.returncode, engine_file))
    if done.returncode != 0:
        return
    with contextlib.suppress(OSError):  # an unwritable cache folder: the check runs again next time
        folder.mkdir(parents=True, exist_ok=True)
        record = {"cpu": cpu_name(), "settings": asdict(chosen), "model_sha256": model_digest}
        tmp = folder / f".{marker.name}.{os.getpid()}.tmp"
        tmp.write_text(json.dumps(record))
        os.replace(tmp, marker)


def crash_message(signum: int, engine_file: Path) -> str:
    import llama_cpp

    version = llama_cpp.__version__
    return (
        f"llama.cpp crashed ({signal.Signals(signum).name}: {CRASH_SIGNALS[signal.Signals(signum)]}) in a "
        f"self-test with {engine_file.name}: this build of llama-cpp-python {version} cannot run on this "
        f"CPU ({cpu_name()}) and nothing was run. Rebuild it on this machine without AMX instructions: "
        + REBUILD.format(version=version)
    )


# -- llama.cpp's own messages ------------------------------------------------------------------------
@contextlib.contextmanager
def native_stderr_captured() -> Iterator[IO[str]]:
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


def tail(captured: IO[str]) -> str:
    """The last 200 characters of what was captured so far, on one line."""
    captured.flush()
    captured.seek(0)  # the C library's writes moved the shared file offset to the end
    return " ".join(captured.read().split())[-200:]


# -- model files -------------------------------------------------------------------------------------
def dequantized(path: Path, digest: str, folder: Path) -> Path:
    """The GGUF at `path` with every tensor dequantized to float32 by llama.cpp: made once, kept in
    `folder` by the source's sha256 (written to a partial file, then renamed into place)."""
    target = folder / f"{digest[:32]}-f32.gguf"
    if target.is_file():
        return target
    import llama_cpp

    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"cannot create {folder} for the float32 weights: {exc.strerror}") from None
    partial = folder / f".{target.name}.{os.getpid()}.partial"
    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = llama_cpp.LLAMA_FTYPE_ALL_F32
    params.allow_requantize = True  # the input is quantized: dequantize it
    params.nthread = usable_cpus()
    try:
        with native_stderr_captured() as captured:
            status = llama_cpp.llama_model_quantize(
                str(path).encode(), str(partial).encode(), ctypes.byref(params)
            )
            detail = tail(captured)
        if status != 0:
            raise UsageError(f"llama.cpp cannot dequantize {path} to float32 into {folder}: {detail}")
        os.replace(partial, target)
    finally:  # a failure or Ctrl-C leaves no partial copy behind (after the rename there is none)
        partial.unlink(missing_ok=True)
    return target
