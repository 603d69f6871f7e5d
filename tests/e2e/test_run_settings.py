"""The manifest keeps a run's options as a typed record (`settings`); `--resume` reads that record, not
the command line (which is kept for people, with secrets as ***)."""

from __future__ import annotations

import json
from pathlib import Path

from benchmark.rundir import RunDir
from benchmark.schemas import RunSettings

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
