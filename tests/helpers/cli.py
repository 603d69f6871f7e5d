"""`bench` in this process: the `main(argv)` the `bench` script runs, with its stdout, stderr and exit code
captured (click's CliRunner isolation), for tests of what the CLI says and writes that need no process of
their own. What only a process shows (a kill, a signal, an import hidden before bench loads, a fresh
interpreter's environment) stays with `run_bench` in tests/conftest.py."""

from __future__ import annotations

import faulthandler
import os
import tempfile
from pathlib import Path
from unittest import mock

from click.testing import CliRunner

from benchmark.cli import main
from tests.conftest import ROOT, Result


def invoke(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None) -> Result:
    """`bench ARGS` as `run_bench` runs it (cwd the repository root unless given, COLUMNS=200, an empty
    response cache of its own unless env names one in BENCH_CACHE_DIR), in this process."""
    full_env = {"COLUMNS": "200", **(env or {})}
    with tempfile.TemporaryDirectory(prefix="bench-cache-") as own_cache:
        full_env.setdefault("BENCH_CACHE_DIR", own_cache)
        return _invoke(args, cwd or ROOT, full_env)


def _invoke(args: tuple[str, ...], cwd: Path, full_env: dict[str, str]) -> Result:
    before = Path.cwd()
    os.chdir(cwd)
    try:
        # main() enables faulthandler on sys.stderr, which here has no file descriptor: pytest's stays.
        with CliRunner().isolation(env=full_env) as (out, err, _), mock.patch.object(faulthandler, "enable"):
            try:
                main(list(args))
                code = 0
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
            return Result(code, out.getvalue().decode(), err.getvalue().decode())
    finally:
        os.chdir(before)


def assert_one_line_error(result: Result, *needles: str) -> None:
    """What bad input gets from bench: exit code 2 and one line on stderr holding every needle."""
    assert result.code == 2, (result.code, result.err)
    assert "Traceback" not in result.err
    lines = [line for line in result.err.splitlines() if line.strip()]
    assert len(lines) == 1, result.err
    for needle in needles:
        assert needle in lines[0], lines[0]
