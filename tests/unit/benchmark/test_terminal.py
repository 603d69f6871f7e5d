"""Text from files, models and users reaches the terminal displayed, never obeyed: control characters
(ESC, OSC 8 links, BEL, CR, bidirectional overrides) are shown escaped, rich markup is shown as text."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

from benchmark.terminal import no_answer_line, plain, shown

ESCAPES = "\x1b[2J\x1b]8;;http://evil.example/\x07click\x1b]8;;\x07\r\u202e\x9b"
RAW = ("\x1b", "\x07", "\r", "\u202e", "\x9b")


def _assert_no_raw_controls(text: str) -> None:
    found = [repr(c) for c in RAW if c in text]
    assert not found, f"raw control characters reached the terminal: {found}"


def test_plain_and_shown() -> None:
    assert plain("a\x1b[2Jb\n\tc") == "a\\x1b[2Jb\n\tc"
    assert plain("a\nb\r", lines=False) == "a\\x0ab\\x0d"
    assert plain("\u202eevil\x9b") == "\\u202eevil\\x9b"
    assert plain("Grüße, 世界 ✓") == "Grüße, 世界 ✓"
    assert shown("[/bold] \x1b") == "\\[/bold] \\x1b"


def test_tasks_show_escapes_a_files_control_characters(bench, tmp_path: Path) -> None:
    task = tmp_path / "evil.yaml"
    prompt = json.dumps(f"Question: {ESCAPES}?\nAnswer:")  # JSON escapes are YAML escapes too
    task.write_text(
        f"name: evil\nversion: {json.dumps('1' + chr(27) + '[31m')}\n"
        f"description: {json.dumps('desc ' + ESCAPES)}\nitems:\n"
        f'  - {{id: a, kind: choice, prompt: {prompt}, classes: [" Y", " N"], answer_index: 0}}\n',
        encoding="utf-8",
    )
    result = bench("tasks", "show", str(task))
    assert result.code == 0, result.err
    _assert_no_raw_controls(result.out + result.err)
    assert "\\x1b[2J" in result.out and "\\x1b]8;;http://evil.example/\\x07click" in result.out
    validated = bench("tasks", "validate", str(task))
    assert validated.code == 0 and "\\x1b[31m" in validated.out
    _assert_no_raw_controls(validated.out + validated.err)


def test_a_model_id_with_markup_and_escapes_runs_and_is_shown_as_text(bench, tmp_path: Path) -> None:
    out = tmp_path / "run"
    model = f"constant:[/bold] x{ESCAPES}"
    args = ["--task", "arithmetic", "--prompting", "plain", "--limit", "2", "--out", str(out)]
    result = bench("run", "--provider", "scripted", "--model", model, *args)
    assert result.code == 0 and "Traceback" not in result.err, result.err
    assert "[/bold] x\\x1b[2J" in result.out
    _assert_no_raw_controls(result.out + result.err)
    assert len((out / "samples.jsonl").read_text().splitlines()) == 2
    report = bench("report", str(out))
    assert report.code == 0 and "[/bold]" in report.out
    _assert_no_raw_controls(report.out + report.err)


def test_an_error_line_shows_a_paths_escapes(bench, tmp_path: Path) -> None:
    blocked = tmp_path / "blocked"
    blocked.write_text("a file")
    result = bench("run", "--provider", "scripted", "--out", str(blocked / f"run{ESCAPES}"))
    assert result.code == 2 and "cannot write to --out" in result.err
    _assert_no_raw_controls(result.err)
    assert len(result.err.strip().splitlines()) == 1


# -- the progress bar ----------------------------------------------------------------------------------
class _Recorded:
    """A Progress that writes down what the runner tells it."""

    def __init__(self) -> None:
        self.events: list[tuple[str, object]] = []

    def loading(self, model: str) -> None:
        self.events.append(("loading", model))

    def start_model(self, label: str, total: int) -> None:
        self.events.append(("start", (label, total)))

    def working_on(self, what: str) -> None:
        self.events.append(("on", what))

    def advance(self) -> None:
        self.events.append(("advance", None))

    def retrying(self, message: str) -> None: ...

    def end_model(self) -> None:
        self.events.append(("end", None))


def test_the_runner_says_which_model_and_what_it_is_working_on(tmp_path: Path) -> None:
    from benchmark.rundir import RunDir
    from benchmark.runner import Runner, plan_run
    from benchmark.settings import RunSettings

    settings = RunSettings(
        provider="scripted",
        models=["calculator@1B", "calculator@2B"],
        tasks=["arithmetic", "word_problems"],
        limit=2,
    )
    progress = _Recorded()
    run = RunDir.create(tmp_path / "run")
    Runner(plan_run(settings), run, progress).run()
    run.close()
    starts = [value for kind, value in progress.events if kind == "start"]
    assert starts == [("scripted:calculator@1B (1/2)", 8), ("scripted:calculator@2B (2/2)", 8)]
    first = progress.events[: progress.events.index(("end", None))]
    working = [value for kind, value in first if kind == "on"]
    assert working == [
        "arithmetic (digits=2, op=+, shots=4) · plain · generated answer",
        "arithmetic (digits=2, op=+, shots=4) · plain · generated answer",
        "word_problems (shots=4, steps=2-4) · plain · generated answer",
        "word_problems (shots=4, steps=2-4) · plain · generated answer",
        "word_problems (shots=4, steps=2-4) · cot · generated answer",
        "word_problems (shots=4, steps=2-4) · cot · generated answer",
        "word_problems (shots=4, steps=2-4) · cot_zeroshot · generated answer",
        "word_problems (shots=4, steps=2-4) · cot_zeroshot · generated answer",
    ]
    # each sample is announced before it is counted
    kinds = [kind for kind, _ in first if kind in ("on", "advance")]
    assert kinds == ["on", "advance"] * 8


def test_the_bar_shows_the_model_the_condition_and_the_time_left() -> None:
    import io

    from rich.console import Console

    from benchmark.terminal import RichProgress

    sink = io.StringIO()
    progress = RichProgress(Console(file=sink, force_terminal=True, width=220))
    progress.start_model("Gemma 3 270m (2/5)", 10)
    progress.working_on("hindsight_neglect (shots=10) · cot · generated answer\x1b[2J")
    for _ in range(3):
        progress.advance()
        time.sleep(0.05)
    assert progress.bar is not None
    progress.bar.refresh()
    progress.end_model()
    text = sink.getvalue()
    assert "Gemma 3 270m (2/5)" in text and "3/10" in text
    assert re.search(r"left \d+:\d\d:\d\d", re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", text))  # an estimate
    assert "hindsight_neglect (shots=10) · cot · generated answer\\x1b[2J" in text  # escaped, not obeyed


def test_the_no_answer_line_counts_each_kind_of_failure_as_it_was_asked() -> None:
    errors = ["transient: 500", "invalid_answer: not JSON", "rate_limit: 429", "invalid_answer: no text"]
    assert no_answer_line(errors, 5) == (
        "2 items got no answer after 5 attempts; 2 items got no answer: a malformed answer, asked once "
        "(not retried): recorded as errors (not counted as wrong); a new run asks for them again, the "
        "rest comes from the cache"
    )
    assert no_answer_line(["invalid_answer: not JSON"], 5).startswith(
        "1 item got no answer: a malformed answer, asked once (not retried): recorded as errors"
    )
