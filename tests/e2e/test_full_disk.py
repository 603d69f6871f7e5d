"""A full disk during `bench run`, `--resume` and `bench report`: one line, never a traceback, and a run
directory that resumes once there is space again (or, when nothing could be kept, no folder at all, so
the same --out can be used again).

Two ways to fill a disk: a child process with a file-size limit (RLIMIT_FSIZE, with SIGXFSZ ignored so
that a write past it fails with EFBIG instead of killing the process), which needs no privileges, and,
where this process may mount one, a real tmpfs of a few kilobytes (ENOSPC)."""

from __future__ import annotations

import contextlib
import os
import resource
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import ROOT, Result, bench_argv, bench_env, run_bench
from tests.helpers.runs import complete_samples

ITEMS = 12
ARGS = [
    "run",
    "--provider",
    "scripted",
    "--task",
    "arithmetic",
    "--prompting",
    "plain",
    "--limit",
    str(ITEMS),
]


def _limited(size: int) -> Callable[[], None]:
    """For a child's preexec_fn: no file it writes may grow past `size` bytes."""

    def apply() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # inherited through exec: a write fails with EFBIG
        resource.setrlimit(resource.RLIMIT_FSIZE, (size, size))

    return apply


def bench_limited(size: int, *args: str, cache: Path) -> Result:
    """`bench ARGS` as run_bench runs it, in a child that cannot write past `size` bytes in any file."""
    proc = subprocess.run(
        bench_argv(*args),
        cwd=ROOT,
        env=bench_env({"BENCH_CACHE_DIR": str(cache)}),
        capture_output=True,
        text=True,
        timeout=300,
        preexec_fn=_limited(size),
    )
    return Result(proc.returncode, proc.stdout, proc.stderr)


def error_line(result: Result) -> str:
    """The one line a failed command says: its last, the only `bench: error:` one, with no traceback."""
    assert "Traceback" not in result.err and "Exception ignored" not in result.err, result.err
    errors = [line for line in result.err.splitlines() if line.startswith("bench: error:")]
    assert len(errors) == 1 and result.err.rstrip().endswith(errors[0]), result.err
    return errors[0]


def test_a_full_disk_mid_run_is_one_line_with_the_command_that_finishes_the_run(tmp_path: Path) -> None:
    out, cache = tmp_path / "run", tmp_path / "cache"
    stopped = bench_limited(6000, *ARGS, "--no-cache", "--out", str(out), cache=cache)
    assert stopped.code == 1, stopped.err
    line = error_line(stopped)
    kept = len(complete_samples(out))
    assert 0 < kept < ITEMS
    assert f"{out / 'samples.jsonl'}: File too large; {kept} samples are saved in {out}" in line
    assert line.endswith(f"finish the run with: bench run --resume {out} --no-cache")
    resumed = run_bench("run", "--resume", str(out), "--no-cache")
    assert resumed.code == 0, resumed.err
    samples = complete_samples(out)
    assert len(samples) == ITEMS and len({s.item_id for s in samples}) == ITEMS


def test_a_full_disk_before_anything_is_kept_leaves_no_folder(tmp_path: Path) -> None:
    """The manifest cannot be written: before, a folder holding an empty samples.jsonl was left, which
    --resume called "not a run directory" and a new run "already holds a run"."""
    out, cache = tmp_path / "runs" / "first", tmp_path / "cache"
    failed = bench_limited(1000, *ARGS, "--no-cache", "--out", str(out), cache=cache)
    assert failed.code == 2, failed.err
    assert error_line(failed).endswith("File too large; nothing was kept: free some space, then run again")
    assert not (tmp_path / "runs").exists()  # the folders made for it are gone too
    again = run_bench(*ARGS, "--no-cache", "--out", str(out))
    assert again.code == 0, again.err


def test_bench_report_on_a_full_disk_is_one_line_and_changes_nothing(tmp_path: Path) -> None:
    out, cache = tmp_path / "run", tmp_path / "cache"
    assert run_bench(*ARGS, "--no-cache", "--out", str(out)).code == 0
    before = {name: (out / name).read_bytes() for name in ("samples.jsonl", "summary.json", "report.html")}
    (out / "summary.json").write_text("[]\n")  # so that a rewritten summary would show
    failed = bench_limited(0, "report", str(out), cache=cache)  # no file can grow
    assert failed.code == 2
    assert error_line(failed).endswith(f"free some space, then run: bench report {out}")
    assert (out / "summary.json").read_text() == "[]\n"
    assert (out / "samples.jsonl").read_bytes() == before["samples.jsonl"]
    assert run_bench("report", str(out)).code == 0
    assert (out / "summary.json").read_bytes() == before["summary.json"]


@settings(max_examples=5, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(size=st.integers(min_value=0, max_value=40_000), cached=st.booleans())
def test_any_file_size_limit_gives_one_line_and_a_run_that_resumes(size: int, cached: bool) -> None:
    """Wherever the disk fills (the cache, the manifest, a sample, the final manifest, a report): exit 0,
    or one line with exit 2 and no folder left, or one line with exit 1 and the command that finishes
    the run; afterwards the run finishes with every item once, and a report on the full disk is one
    line too."""
    with tempfile.TemporaryDirectory(prefix="bench-full-") as folder:
        root = Path(folder)
        out, cache = root / "run", root / "cache"
        flags = [] if cached else ["--no-cache"]
        env = {"BENCH_CACHE_DIR": str(cache)}
        first = bench_limited(size, *ARGS, *flags, "--out", str(out), cache=cache)
        assert first.code in (0, 1, 2), first.err
        if first.code == 2:
            error_line(first)
            assert not out.exists()
            finished = run_bench(*ARGS, *flags, "--out", str(out), env=env)
        elif first.code == 1:
            assert error_line(first).endswith(
                f"finish the run with: bench run --resume {out}{' --no-cache' * (not cached)}"
            )
            finished = run_bench("run", "--resume", str(out), env=env)
        else:
            finished = first
        assert finished.code == 0, finished.err
        samples = complete_samples(out)
        assert len(samples) == ITEMS and len({s.item_id for s in samples}) == ITEMS
        report = bench_limited(size, "report", str(out), cache=cache)
        assert report.code in (0, 2), report.err
        if report.code == 2:
            error_line(report)
        assert run_bench("report", str(out)).code == 0


@contextlib.contextmanager
def tmpfs(where: Path, size: str) -> Iterator[Path]:
    """A tmpfs of `size` mounted at `where` (skips the test where this process may not mount one)."""
    where.mkdir()
    mounted = (
        subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)],
            capture_output=True,
            text=True,
        )
        if os.geteuid() == 0 and shutil.which("mount")
        else None
    )
    if mounted is None or mounted.returncode != 0:
        pytest.skip("mounting a tmpfs needs root and CAP_SYS_ADMIN; the file-size limit tests cover this")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def test_a_real_full_disk_run_resume_and_report(tmp_path: Path) -> None:
    """On a tmpfs of 48 KB (ENOSPC): the run stops with one line, a report and a new run on the full disk
    are one line each and leave nothing behind, and once there is space the run resumes to its end."""
    env = {"BENCH_CACHE_DIR": str(tmp_path / "cache")}  # the cache on another disk
    with tmpfs(tmp_path / "disk", "48k") as disk:
        out = disk / "run"
        stopped = run_bench(*ARGS[:-1], "200", "--out", str(out), env=env)
        assert stopped.code == 1
        assert "No space left on device" in error_line(stopped)
        report = run_bench("report", str(out), env=env)
        assert report.code == 2 and "No space left on device" in error_line(report)
        other = run_bench(*ARGS, "--out", str(disk / "other"), env=env)
        assert other.code == 2 and "nothing was kept" in error_line(other)
        assert not (disk / "other").exists()
        subprocess.run(["mount", "-o", "remount,size=4m", str(disk)], check=True)
        resumed = run_bench("run", "--resume", str(out), env=env)
        assert resumed.code == 0, resumed.err
        assert len({s.item_id for s in complete_samples(out)}) == len(complete_samples(out)) == 200
        assert run_bench(*ARGS, "--out", str(disk / "other"), env=env).code == 0
