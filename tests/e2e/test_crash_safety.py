"""Nothing lost: the response cache, `--resume` after SIGKILL at random points, Ctrl-C, torn lines.

The runs are real `bench` processes. Each model call is logged where the process cannot take it back
(the scripted provider's call log; a counting proxy in front of llama.cpp's server), so the tests can
tell which answers were bought after an item had already been saved.
"""

from __future__ import annotations

import hashlib
import json
import random
import signal
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from benchmark.schemas import Sample
from tests.helpers.runs import Key, complete_samples, popen_bench, sample_key
from tests.helpers.summary import rows_with_results


def _hash(prompt: str) -> str:
    return hashlib.sha256(prompt.encode()).hexdigest()


@dataclass
class Kill:
    requests_before: int
    """Model calls logged when the process was killed."""
    durable: set[Key]
    """Items whose sample line was complete on disk at that moment."""


@dataclass
class Interrupted:
    out: Path
    kills: list[Kill] = field(default_factory=list)
    torn_lines: int = 0
    outputs: str = ""


def _run_with_kills(
    run_args: list[str],
    out: Path,
    env: dict[str, str],
    requests: Any,
    rng: random.Random,
    tmp: Path,
    patience: float,
) -> Interrupted:
    """Start the run, SIGKILL it at a random moment, resume, and again, until a resume finishes.

    Most kills come a random while after the process has saved a new sample (so each run makes
    progress); some come at a random moment from the start (possibly before anything is written)."""
    result = Interrupted(out)
    log = tmp / "bench-output.log"
    for _ in range(60):
        started = (out / "manifest.json").exists()
        args = ["run", "--resume", str(out)] if started else ["run", *run_args, "--out", str(out)]
        before = len(complete_samples(out))
        proc = popen_bench(args, env, log)
        early = rng.random() < 0.2
        deadline = time.monotonic() + (rng.uniform(0.0, 1.5) if early else patience)
        while proc.poll() is None and time.monotonic() < deadline:
            if not early and len(complete_samples(out)) > before:
                time.sleep(rng.uniform(0.0, 0.3))
                break
            time.sleep(0.01)
        if proc.poll() is not None:
            assert proc.returncode == 0, log.read_text()[-3000:]
            result.outputs = log.read_text()
            return result
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        result.kills.append(Kill(requests(), {sample_key(s) for s in complete_samples(out)}))
        samples = out / "samples.jsonl"
        # A crash in the middle of writing a line: after the first kill that finds samples (so every
        # run exercises it, however few kills its timing allows), then at random.
        if samples.exists() and (result.torn_lines == 0 or rng.random() < 0.3):
            with open(samples, "ab") as handle:
                handle.write(b'{"model": "scripted:calculator", "provider": "scr')
            result.torn_lines += 1
    raise AssertionError("the run did not finish after 60 starts")


def _check_resumed_run(
    result: Interrupted,
    reference: Path,
    logged: list[str],
    requests_of: Callable[[Sample], set[str]] = lambda s: {_hash(s.prompt)},
) -> None:
    """Every item exactly once, the same results as the uninterrupted `reference` run, and no item
    asked for again after its sample was saved (`requests_of`: a sample's entries in `logged`)."""
    samples = complete_samples(result.out)
    keys = [sample_key(s) for s in samples]
    assert len(keys) == len(set(keys)), "an item appears twice in samples.jsonl"
    expected = {sample_key(s): s for s in complete_samples(reference)}
    assert set(keys) == set(expected)
    assert (result.out / "samples.jsonl").read_bytes().endswith(b"\n")

    def outcome(s: Sample) -> tuple[Any, ...]:
        return (s.response, s.extracted, s.correct, s.error, s.class_logprobs, s.metrics)

    assert {sample_key(s): outcome(s) for s in samples} == {k: outcome(s) for k, s in expected.items()}
    summary = rows_with_results(result.out)
    assert summary == rows_with_results(reference)

    items_of_prompt: dict[str, set[Key]] = {}
    for s in samples:
        for request in requests_of(s):
            items_of_prompt.setdefault(request, set()).add(sample_key(s))
    for kill in result.kills:
        for prompt_hash in logged[kill.requests_before :]:
            again = items_of_prompt.get(prompt_hash, set()) & kill.durable
            assert not again, f"{sorted(again)} was saved, then asked for again after a kill"


# -- the scripted provider -------------------------------------------------------------------------------
SCRIPTED_RUN = [
    "--provider",
    "scripted",
    "--model",
    "calculator@1B",
    "--task",
    "arithmetic",
    "--task",
    "hindsight_neglect",
    "--prompting",
    "plain",
    "--limit",
    "40",
    "--concurrency",
    "2",
]


def test_sigkill_at_random_points_then_resume_scripted(bench, tmp_path: Path) -> None:
    reference = tmp_path / "reference"
    assert bench("run", *SCRIPTED_RUN, "--out", str(reference)).code == 0

    call_log = tmp_path / "calls.log"
    env = {
        "BENCH_CACHE_DIR": str(tmp_path / "cache"),
        "BENCH_SCRIPTED_CALL_LOG": str(call_log),
        "BENCH_SCRIPTED_DELAY": "0.03",
    }

    def logged() -> list[str]:
        if not call_log.exists():
            return []
        return call_log.read_text().splitlines()  # "kind<TAB>sha256 of the prompt"

    def requests_of(s: Sample) -> set[str]:
        """The calls a sample makes: a log-prob-scored one scores classes; a generated one generates,
        and scores the target where it records the target's log-prob."""
        kinds = {"score"} if s.scoring == "logprob" else {"generate"}
        if "target_logprob" in s.metrics:
            kinds.add("score")
        return {f"{kind}\t{_hash(s.prompt)}" for kind in kinds}

    rng = random.Random(6)
    result = _run_with_kills(
        SCRIPTED_RUN, tmp_path / "run", env, lambda: len(logged()), rng, tmp_path, patience=20
    )
    assert len(result.kills) >= 5, "too few kills to mean anything"
    assert result.torn_lines >= 1
    _check_resumed_run(result, reference, logged(), requests_of)
    # The cache keeps even the answers whose sample was not yet written: few calls are bought twice.
    # arithmetic: answer + log-prob of the target; hindsight: class log-probs + generated answer
    needed = 2 * 40 + 2 * 40
    assert needed <= len(logged()) <= needed + 2 * len(result.kills)
    assert "dropped a torn last line" in result.outputs

    # A rerun of the finished run, into a new folder, is answered from the cache alone.
    calls = len(logged())
    again = bench("run", *SCRIPTED_RUN, "--out", str(tmp_path / "again"), env=env)
    assert again.code == 0, again.err
    assert len(logged()) == calls
    assert "model calls: 0" in again.err
    assert all(s.cached for s in complete_samples(tmp_path / "again"))
    # --no-cache asks the model for everything again.
    fresh = bench("run", *SCRIPTED_RUN, "--no-cache", "--out", str(tmp_path / "fresh"), env=env)
    assert fresh.code == 0, fresh.err
    assert len(logged()) == calls + needed


def test_ctrl_c_keeps_what_is_done_and_says_how_to_resume(bench, tmp_path: Path) -> None:
    out = tmp_path / "run"
    env = {"BENCH_CACHE_DIR": str(tmp_path / "cache"), "BENCH_SCRIPTED_DELAY": "0.05"}
    log = tmp_path / "output.log"
    proc = popen_bench(["run", *SCRIPTED_RUN, "--out", str(out)], env, log)
    deadline = time.monotonic() + 60
    while len(complete_samples(out)) < 5 and time.monotonic() < deadline:
        time.sleep(0.02)
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=60) == 130
    text = log.read_text()
    assert "Traceback" not in text
    assert f"bench run --resume {out}" in text
    kept = complete_samples(out)
    assert 5 <= len(kept) < 120 and f"interrupted: {len(kept)} samples" in text
    resumed = bench("run", "--resume", str(out), env=env)
    assert resumed.code == 0, resumed.err
    assert f"resumed: {len(kept)} samples were already done" in resumed.err
    # arithmetic 40, hindsight 40 by log-prob and 40 by generated answer
    assert len({sample_key(s) for s in complete_samples(out)}) == len(complete_samples(out)) == 120


def test_resume_refuses_other_options_and_damaged_runs(bench, tmp_path: Path) -> None:
    out = tmp_path / "run"
    assert bench("run", "--provider", "scripted", "--limit", "2", "--out", str(out)).code == 0
    changed = bench("run", "--resume", str(out), "--limit", "5")
    assert changed.code == 2 and "leave out --limit" in changed.err and "Traceback" not in changed.err
    # A damaged line in the middle is not a torn last line: refused, and the file is left as it is.
    lines = (out / "samples.jsonl").read_bytes().splitlines(keepends=True)
    damaged = lines[0] + b"{not json\n" + b"".join(lines[1:])
    (out / "samples.jsonl").write_bytes(damaged)
    result = bench("run", "--resume", str(out))
    assert result.code == 2 and "samples.jsonl:2: not a bench sample" in result.err
    assert len(result.err.strip().splitlines()) == 1
    assert (out / "samples.jsonl").read_bytes() == damaged
    assert bench("run", "--resume", str(tmp_path / "nothing")).code == 2


def test_a_finished_run_resumes_as_a_no_op(bench, tmp_path: Path) -> None:
    out = tmp_path / "run"
    env = {"BENCH_CACHE_DIR": str(tmp_path / "cache"), "BENCH_SCRIPTED_CALL_LOG": str(tmp_path / "calls")}
    assert bench("run", "--provider", "scripted", "--limit", "3", "--out", str(out), env=env).code == 0
    before = (out / "samples.jsonl").read_bytes()
    calls = (tmp_path / "calls").read_text()
    result = bench("run", "--resume", str(out), "--no-cache", env=env)
    assert result.code == 0, result.err
    assert (out / "samples.jsonl").read_bytes() == before
    assert (tmp_path / "calls").read_text() == calls  # the scripted model was not even loaded
    manifest = json.loads((out / "manifest.json").read_text())
    assert len(manifest["resumed_at"]) == 1 and manifest["finished_at"]


def test_a_damaged_cache_is_refused_and_left_alone(bench, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    cache.mkdir()
    junk = b"this is not an SQLite database\n" * 100
    (cache / "responses.sqlite").write_bytes(junk)
    out = tmp_path / "run"
    args = ["run", "--provider", "scripted", "--limit", "2", "--out", str(out)]
    result = bench(*args, env={"BENCH_CACHE_DIR": str(cache)})
    assert result.code == 2 and "Traceback" not in result.err
    assert len(result.err.strip().splitlines()) == 1
    assert "responses.sqlite" in result.err and "--no-cache" in result.err
    assert (cache / "responses.sqlite").read_bytes() == junk
    assert not out.exists()
    # A cache from a newer bench is refused too, and not rewritten.
    import sqlite3

    newer = tmp_path / "newer"
    newer.mkdir()
    db = sqlite3.connect(newer / "responses.sqlite")
    db.execute("PRAGMA user_version = 99")
    db.execute("CREATE TABLE responses (key TEXT PRIMARY KEY)")
    db.commit()
    db.close()
    stamp = (newer / "responses.sqlite").read_bytes()
    result = bench(*args, env={"BENCH_CACHE_DIR": str(newer)})
    assert result.code == 2 and "newer bench" in result.err
    assert (newer / "responses.sqlite").read_bytes() == stamp
    # --no-cache runs without reading it.
    assert bench(*args, "--no-cache", env={"BENCH_CACHE_DIR": str(cache)}).code == 0


# -- 20% faults from an API server ---------------------------------------------------------------------
def test_twenty_percent_faults_every_item_scored_or_errored(bench, fake, tmp_path: Path) -> None:
    rng = random.Random(20)
    lock = threading.Lock()
    doomed = "What is 5"  # items whose question starts so fail every time: recorded as errors

    def fault(number: int, body: dict[str, Any]) -> str | None:
        if doomed in body.get("prompt", "").rsplit("Q:", 1)[-1]:
            return "500"
        with lock:
            if rng.random() < 0.2:
                return rng.choice(["429", "500", "hang", "drop"])
        return None

    fake.state.fault = fault
    fake.state.hang_s = 1.5
    out = tmp_path / "run"
    args = ["--provider", "openai", "--base-url", fake.url, "--model", "fake", "--task", "arithmetic"]
    result = bench(
        "run", *args, "--prompting", "plain", "--limit", "40", "--concurrency", "8", "--timeout", "0.5",
        "--out", str(out),
    )  # fmt: skip
    samples = complete_samples(out)
    assert len({sample_key(s) for s in samples}) == len(samples) == 40  # every item once, none dropped
    errored = [s for s in samples if s.error is not None]
    doomed_items = [s for s in samples if doomed in s.prompt.rsplit("Q:", 1)[-1]]
    assert doomed_items and {sample_key(s) for s in errored} >= {sample_key(s) for s in doomed_items}
    assert all("500" in (s.error or "") or "server" in (s.error or "") for s in doomed_items)
    assert all(s.correct for s in samples if s.error is None)  # faults are not wrong answers
    assert fake.state.injected >= 8
    assert result.code == 1  # the exit code says some items failed ...
    assert (
        f"{len(errored)} items got no answer after 5 attempts" in result.err and "Traceback" not in result.err
    )
    summary = rows_with_results(out)
    assert summary[0]["errors"] == len(errored) and summary[0]["n"] == 40 - len(errored)  # ... not wrong


# -- llama.cpp's real server behind a counting proxy ------------------------------------------------------
@pytest.fixture
def counting_proxy(llama_server: str) -> Iterator[tuple[str, list[str]]]:
    """A proxy in front of llama.cpp's server that logs the prompt of every request it forwards."""
    prompts: list[str] = []
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            prompt = json.loads(body).get("prompt")
            if isinstance(prompt, str):
                with lock:
                    prompts.append(_hash(prompt))
            base = llama_server.removesuffix("/v1")
            request = urllib.request.Request(
                base + self.path, data=body, headers={"Content-Type": "application/json"}, method="POST"
            )
            try:
                with urllib.request.urlopen(request, timeout=120) as response:
                    data, status = response.read(), response.status
            except urllib.error.HTTPError as exc:
                data, status = exc.read(), exc.code
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client was killed

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1", prompts
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.slow
def test_sigkill_at_random_points_then_resume_llama_server(
    bench, counting_proxy: tuple[str, list[str]], tmp_path: Path
) -> None:
    url, prompts = counting_proxy
    run = ["--provider", "openai", "--base-url", url, "--model", "gemma-raw", "--api", "completions"]
    run += ["--task", "arithmetic", "--prompting", "plain", "--limit", "16"]
    reference = tmp_path / "reference"
    first = bench("run", *run, "--out", str(reference))
    assert first.code == 0, first.err
    prompts.clear()
    env = {"BENCH_CACHE_DIR": str(tmp_path / "cache")}
    result = _run_with_kills(
        run, tmp_path / "run", env, lambda: len(prompts), random.Random(7), tmp_path, patience=60
    )
    assert len(result.kills) >= 3
    _check_resumed_run(result, reference, list(prompts))
    assert 16 <= len(prompts) <= 16 + len(result.kills)
