"""`bench tasks list|show|validate|export` and `bench run --task PATH`."""

from __future__ import annotations

import contextlib
import json
import os
import pty
import subprocess
from pathlib import Path

import pytest

from benchmark.schemas import Sample
from tasks import create
from tests.conftest import ROOT, bench_argv
from tests.helpers.summary import rows_with_results

EXAMPLE = "tasks/traps/gambles_example.yaml"


def test_list_shows_every_phenomenon_with_versions_and_chance(cli) -> None:
    result = cli("tasks", "list")
    assert result.code == 0, result.err
    for name, version, chance in [
        ("arithmetic", "3", "0.0%"),
        ("modified_arithmetic", "2", "0.0%"),
        ("word_problems", "3", "0.0%"),
        ("hindsight_neglect", "3", "50.0%"),
        (EXAMPLE, "1", "50.0%"),
    ]:
        [line] = [x for x in result.out.splitlines() if f" {name} " in x]
        assert f" {version} " in line and chance in line
    assert "cot_zeroshot" in result.out and "lang=en" in result.out


def test_show_prints_the_first_prompt_of_each_condition(cli) -> None:
    result = cli("tasks", "show", "hindsight_neglect:lang=zh-TW,shots=1")
    assert result.code == 0, result.err
    assert "賭局" in result.out and "plain: item 00000" in result.out and "cot: item 00000" in result.out


def test_validate_reports_ok_and_rejects_the_lecture_bet(cli, tmp_path: Path) -> None:
    ok = cli("tasks", "validate", EXAMPLE)
    assert ok.code == 0 and "OK, 6 items" in ok.out
    bad = tmp_path / "bets.yaml"
    bad.write_text(
        "items:\n  - id: lecture\n    kind: gamble\n    name: David\n    lose_percent: 95\n"
        "    lose_amount: 50\n    win_percent: 6\n    win_amount: 5\n    outcome: won\n"
    )
    result = cli("tasks", "validate", str(bad))
    assert result.code == 2 and "Traceback" not in result.err
    assert result.err.strip() == f"bench: error: {bad}:2: probabilities sum to 101%, not 100%"


def test_exported_prize_file_runs_like_the_builtin_task(cli, tmp_path: Path) -> None:
    exported = tmp_path / "hindsight.jsonl"
    assert cli("tasks", "export", "hindsight_neglect", "--limit", "12", "--out", str(exported)).code == 0
    lines = [json.loads(x) for x in exported.read_text().splitlines()]
    assert len(lines) == 12 and all(set(x) == {"prompt", "classes", "answer_index"} for x in lines)
    builtin = create("hindsight_neglect").instances(0, 12, "plain")
    assert [x["prompt"] for x in lines] == [i.prompt for i in builtin]

    runs = {}
    for name, spec in [("file", str(exported)), ("builtin", "hindsight_neglect")]:
        out = tmp_path / name
        args = ["run", "--provider", "scripted", "--task", spec, "--prompting", "plain", "--limit", "12"]
        assert cli(*args, "--scoring", "logprob", "--out", str(out)).code == 0
        runs[name] = [Sample.model_validate_json(x) for x in (out / "samples.jsonl").read_text().splitlines()]
    # Scored the prize's way (argmax over class log-probs) with the same outcome item by item.
    assert all(s.scoring == "logprob" for s in runs["file"])
    assert [(s.prompt, s.extracted, s.correct) for s in runs["file"]] == [
        (s.prompt, s.extracted, s.correct) for s in runs["builtin"]
    ]


def test_export_refuses_a_task_without_classes(cli) -> None:
    result = cli("tasks", "export", "arithmetic", "--limit", "2")
    assert result.code == 2 and "prize files hold only choice items" in result.err


def _on_a_terminal(*args: str) -> bytes:
    """What `bench ARGS` writes to stdout when stdout is a terminal (a pseudo-terminal here)."""
    leader, follower = pty.openpty()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with subprocess.Popen(bench_argv(*args), stdout=follower, env=env) as proc:
        os.close(follower)
        shown = b""
        with contextlib.suppress(OSError):  # EIO once the child has closed the terminal
            while chunk := os.read(leader, 65536):
                shown += chunk
        assert proc.wait(timeout=120) == 0
    os.close(leader)
    return shown.replace(b"\r\n", b"\n")  # the terminal's line discipline


def test_export_to_a_terminal_escapes_controls_and_a_file_keeps_the_bytes(cli, tmp_path: Path) -> None:
    prompt = "Is this safe?\u202e txt.exe \u2066\x1b]8;;http://x\x1b\\ ANSWER:"
    item = {"kind": "choice", "id": "a", "prompt": prompt, "classes": [" Y", " N"], "answer_index": 1}
    source = tmp_path / "bidi.jsonl"
    source.write_text(json.dumps(item) + "\n")
    shown = _on_a_terminal("tasks", "export", str(source)).decode()
    assert "\u202e" not in shown and "\x1b" not in shown and "\u2066" not in shown
    assert "\\u202e txt.exe \\u2066\\u001b]8" in shown  # escaped, as JSON writes it
    assert json.loads(shown)["prompt"] == prompt  # the same record, once read
    piped = cli("tasks", "export", str(source))  # not a terminal: the exact bytes
    assert piped.code == 0 and json.loads(piped.out)["prompt"] == prompt and "\u202e" in piped.out
    out = tmp_path / "out.jsonl"
    assert cli("tasks", "export", str(source), "--out", str(out)).code == 0
    assert out.read_text() == piped.out


def test_same_seed_gives_byte_identical_prompts_across_runs(cli, tmp_path: Path) -> None:
    def prompts(name: str, seed: str) -> bytes:
        out = tmp_path / name
        args = ["run", "--provider", "scripted", "--limit", "5", "--seed", seed, "--out", str(out)]
        assert cli(*args).code == 0
        lines = (out / "samples.jsonl").read_text().splitlines()
        return "\n".join(json.loads(x)["prompt"] for x in lines).encode()

    first, again, other = prompts("a", "11"), prompts("b", "11"), prompts("c", "12")
    assert first == again
    assert first != other


@pytest.mark.parametrize(
    ("path", "scoring"),
    [
        ("tests/data/prize.csv", "logprob"),
        ("tests/data/prize.jsonl", "logprob"),
        ("tests/data/bigbench_choice/task.json", "logprob"),
        ("tests/data/bigbench_gen/task.json", "generate"),
        ("tests/data/gpt3_arithmetic.jsonl", "generate"),
        (EXAMPLE, "logprob"),
    ],
)
def test_each_imported_format_runs_and_is_scored_like_its_source(
    cli, tmp_path: Path, path: str, scoring: str
):
    out = tmp_path / "run"
    result = cli("run", "--provider", "scripted", "--task", path, "--out", str(out))
    assert result.code == 0, result.err
    samples = [Sample.model_validate_json(x) for x in (out / "samples.jsonl").read_text().splitlines()]
    plain = [s for s in samples if s.prompting == "plain"]
    by_mode = {mode: [s for s in plain if s.scoring == mode] for mode in ("logprob", "generate")}
    assert by_mode[scoring] and all(s.scoring == "generate" for s in samples if s.prompting != "plain")
    if scoring == "logprob":  # the prize's rule: the predicted class is the argmax of the class log-probs
        for s in by_mode["logprob"]:
            assert s.class_logprobs is not None
            assert s.extracted == max(s.class_logprobs, key=s.class_logprobs.__getitem__)
        # and the same items once more by their generated answer (the baseline of chain of thought)
        assert [s.item_id for s in by_mode["generate"]] == [s.item_id for s in by_mode["logprob"]]
    else:
        assert not by_mode["logprob"]


def test_a_malformed_task_file_stops_before_anything_runs(cli, tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("prompt,classes,answer_index\n\"Q?\",\"[' Y', ' N']\",2\n")
    out = tmp_path / "run"
    result = cli("run", "--provider", "scripted", "--task", str(bad), "--out", str(out))
    assert result.code == 2 and "Traceback" not in result.err
    assert result.err.startswith(f"bench: error: {bad}:2: ") and "answer_index" in result.err
    assert not out.exists()


def test_prompting_cot_on_the_default_suite_leaves_out_tasks_without_it(cli, tmp_path: Path) -> None:
    out = tmp_path / "run"
    assert (
        cli("run", "--provider", "scripted", "--prompting", "cot", "--limit", "2", "--out", str(out)).code
        == 0
    )
    rows = rows_with_results(out)
    assert [(r["task"], r["prompting"]) for r in rows] == [
        ("word_problems", "cot"),
        ("word_problems", "cot_zeroshot"),
        ("hindsight_neglect", "cot"),
    ]
