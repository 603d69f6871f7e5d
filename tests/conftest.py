from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Result:
    code: int
    out: str
    err: str


def run_bench(
    *args: str, cwd: Path | None = None, env: dict[str, str] | None = None, pre: str = ""
) -> Result:
    """Run `bench` as a user would, in a fresh interpreter. `pre` is Python run first (to hide a package)."""
    code = f"{pre}\nfrom benchmark.cli import main\nmain()"
    full_env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "200", **(env or {})}
    proc = subprocess.run(
        [sys.executable, "-c", code, *args],
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
