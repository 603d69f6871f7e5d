"""The manifest keeps a run's options as a typed record (`settings`); `--resume` reads that record, not
the command line (which is kept for people, with secrets as ***)."""

from __future__ import annotations

import json
from pathlib import Path

from benchmark.rundir import RunDir
from benchmark.settings import RunSettings

OPTIONS = ["--provider", "scripted", "--model", "calculator@1B", "--task", "arithmetic:digits=1-2"]
OPTIONS += ["--prompting", "plain", "--limit", "3", "--seed", "5", "--no-cache"]


def _interrupted_run(bench, out: Path) -> dict:
    """A finished run with its last two samples taken away, as if stopped before them."""
    assert bench("run", *OPTIONS, "--out", str(out)).code == 0
    samples = (out / "samples.jsonl").read_text().splitlines(keepends=True)
    (out / "samples.jsonl").write_text("".join(samples[:-2]))
    return json.loads((out / "manifest.json").read_text())


def test_the_manifest_keeps_the_options_typed(bench, tmp_path: Path) -> None:
    manifest = _interrupted_run(bench, tmp_path / "run")
    settings = manifest["settings"]
    assert settings["tasks"] == ["arithmetic:digits=1-2"] and settings["models"] == ["calculator@1B"]
    assert settings["limit"] == 3 and settings["seed"] == 5 and settings["no_cache"] is True
    assert settings["timeout"] == 60.0 and settings["scoring"] == "both"  # defaults are written too


def test_resume_reads_the_settings_not_the_command_line(bench, tmp_path: Path) -> None:
    out = tmp_path / "run"
    manifest = _interrupted_run(bench, out)
    manifest["command"] = ["bench", "run", "--provider", "scripted", "--limit", "999", "--seed", "1"]
    (out / "manifest.json").write_text(json.dumps(manifest))
    result = bench("run", "--resume", str(out))
    assert result.code == 0, result.err
    assert "resumed: 4 samples were already done" in result.err
    samples = list(RunDir.open(out).iter_samples())
    assert len(samples) == 6 and {s.task_params["digits"] for s in samples} == {"1", "2"}
    again = json.loads((out / "manifest.json").read_text())
    assert again["limit"] == 3 and again["settings"] == manifest["settings"]


def test_a_run_written_before_settings_resumes_from_its_command_line(bench, tmp_path: Path) -> None:
    out = tmp_path / "run"
    manifest = _interrupted_run(bench, out)
    del manifest["settings"]  # as bench wrote manifests before schema 4
    (out / "manifest.json").write_text(json.dumps(manifest))
    result = bench("run", "--resume", str(out))
    assert result.code == 0, result.err
    assert "resumed: 4 samples were already done" in result.err
    assert len(list(RunDir.open(out).iter_samples())) == 6


def test_a_secret_in_the_base_url_is_not_in_the_settings(bench, tmp_path: Path) -> None:
    out = tmp_path / "run"
    url = "http://user:secretpw@127.0.0.1:9/v1?token=tok123"
    bench("run", "--provider", "openai", "--model", "m", "--base-url", url, "--task", "arithmetic",
          "--limit", "1", "--timeout", "1", "--no-cache", "--out", str(out))  # fmt: skip
    text = (out / "manifest.json").read_text()
    assert "secretpw" not in text and "tok123" not in text
    assert "***" in json.loads(text)["settings"]["base_url"]


def test_settings_before_schema_11_read_their_provider_options(bench, tmp_path: Path) -> None:
    out = tmp_path / "run"
    manifest = _interrupted_run(bench, out)
    old = {key: value for key, value in manifest["settings"].items() if key != "provider_options"}
    manifest["settings"] = {**old, "api": "auto", "weights": "native", "dtype": "auto", "threads": None}
    manifest["schema_version"] = 10  # as bench wrote them before -P
    (out / "manifest.json").write_text(json.dumps(manifest))
    result = bench("run", "--resume", str(out))
    assert result.code == 0, result.err
    assert len(list(RunDir.open(out).iter_samples())) == 6
    assert bench("report", str(out)).code == 0
    settings = RunSettings.model_validate(
        {**old, "api": "chat", "weights": "native", "dtype": "auto", "threads": 2}
    )
    assert settings.provider_options == {"api": "chat", "threads": 2}  # the values given, not the defaults


def _failing_run(fake, out: Path, **options: object) -> dict:
    """A one-item run against a server that answers every request with a 500: its one sample is an
    error after the run's attempts. Returns its manifest."""
    from benchmark import run

    fake.state.fault = lambda number, body: "500"
    run(provider="openai", models=["m"], base_url=fake.url, api="completions", tasks=["arithmetic"],
        prompting="plain", limit=1, no_cache=True, out=out, **options)  # fmt: skip
    assert [s.error is not None for s in RunDir.open(out).iter_samples()] == [True]
    return json.loads((out / "manifest.json").read_text())


def test_max_attempts_is_a_setting_the_run_honours_and_resume_keeps(bench, fake, tmp_path: Path) -> None:
    out = tmp_path / "run"
    manifest = _failing_run(fake, out, max_attempts=2)
    assert len(fake.state.requests) == 2  # the first attempt and one retry
    assert manifest["settings"]["max_attempts"] == 2 and "--max-attempts" in manifest["command"]
    (out / "samples.jsonl").write_text("")  # as if stopped before its sample was written
    result = bench("run", "--resume", str(out))
    assert result.code == 1, result.err  # the item failed again: recorded as an error
    assert "no answer after 2 attempts" in result.err
    assert len(fake.state.requests) == 4
    refused = bench("run", "--resume", str(out), "--max-attempts", "3")
    assert refused.code == 2 and "leave out --max-attempts" in refused.err


def test_a_run_before_schema_12_resumes_with_five_attempts(bench, fake, tmp_path: Path) -> None:
    out = tmp_path / "run"
    manifest = _failing_run(fake, out, max_attempts=1)
    del manifest["settings"]["max_attempts"]  # as bench wrote them before --max-attempts
    manifest["schema_version"] = 11
    (out / "manifest.json").write_text(json.dumps(manifest))
    (out / "samples.jsonl").write_text("")
    result = bench("run", "--resume", str(out))
    assert result.code == 1, result.err
    assert len(fake.state.requests) == 1 + 5 and "no answer after 5 attempts" in result.err
    assert json.loads((out / "manifest.json").read_text())["settings"]["max_attempts"] == 5
    assert bench("report", str(out)).code == 0


def test_a_bad_max_attempts_is_one_line_and_writes_nothing(bench, tmp_path: Path) -> None:
    out = tmp_path / "run"
    result = bench("run", "--provider", "scripted", "--max-attempts", "0", "--out", str(out))
    assert result.code == 2
    assert result.err.strip() == "bench: error: --max-attempts must be from 1 to 100, not 0"
    assert not out.exists()
