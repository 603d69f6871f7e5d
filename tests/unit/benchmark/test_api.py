"""The Python API (benchmark/api.py): `run(...)` is `bench run`, `load_run(path)` reads a run back."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import benchmark
from benchmark.errors import BenchError
from tests.conftest import ROOT
from tests.helpers.summary import rows_with_results

ARGS = {"provider": "scripted", "models": ["calculator@1B", "constant: 7@100M"], "limit": 4}


def test_run_writes_the_run_bench_run_writes(bench, tmp_path: Path) -> None:
    tasks = ["arithmetic:digits=1-2"]
    path = benchmark.run(**ARGS, tasks=tasks, prompting="plain", out=tmp_path / "api", no_cache=True)
    assert path == tmp_path / "api"
    cli = tmp_path / "cli"
    words = ["--model", "calculator@1B", "--model", "constant: 7@100M", "--task", tasks[0]]
    result = bench(
        "run", "--provider", "scripted", *words, "--prompting", "plain", "--limit", "4", "--out", str(cli)
    )
    assert result.code == 0, result.err

    def rows(folder: Path) -> list[tuple]:
        data = rows_with_results(folder)
        return [(r["model"], r["task_params"]["digits"], r["n"], r["correct"]) for r in data]  # fmt: skip

    assert rows(path) == rows(cli) and len(rows(path)) == 4  # two models x two digit counts
    manifest = json.loads((path / "manifest.json").read_text())
    assert manifest["command"][:2] == ["bench", "run"] and "--no-cache" in manifest["command"]
    assert (path / "report.html").exists() and (path / "report.md").exists()


def test_a_run_from_python_resumes_from_the_command_line(bench, tmp_path: Path) -> None:
    path = benchmark.run(**ARGS, tasks=["arithmetic"], prompting="plain", out=tmp_path / "run", no_cache=True)
    again = bench("run", "--resume", str(path))
    assert again.code == 0, again.err
    assert "resumed: 8 samples were already done" in again.err


def test_load_run_gives_samples_and_summary_as_frames_or_records(tmp_path: Path) -> None:
    path = benchmark.run(**ARGS, tasks=["arithmetic"], prompting="plain", out=tmp_path / "run", no_cache=True)
    loaded = benchmark.load_run(path)
    assert len(loaded.samples) == 8 and set(loaded.samples["model"]) == {
        "scripted:calculator@1B",
        "scripted:constant: 7@100M",
    }
    summary = loaded.summary.set_index("model")
    assert summary.loc["scripted:calculator@1B", "accuracy"] == 1.0
    assert summary.loc["scripted:constant: 7@100M", "accuracy"] == 0.0
    assert summary["metric_digit_accuracy"].notna().all()
    # The analyses: a row per curve and analysis, the record's fields as columns.
    analyses = loaded.analyses.set_index("analysis")
    assert analyses.loc["shape", "verdict"] == "monotone up"  # 0 of 4 right, then 4 of 4
    assert analyses.loc["steps", "steps"][0]["estimate"] == 1.0
    assert loaded.manifest.limit == 4
    records = benchmark.load_run(path, as_frames=False)
    assert isinstance(records.samples, list) and records.samples[0]["task"] == "arithmetic"
    assert [r["accuracy"] for r in records.summary] == list(loaded.summary["accuracy"])
    on_disk = rows_with_results(path)
    assert [r["accuracy"] for r in on_disk] == [r["accuracy"] for r in records.summary]
    assert on_disk[1]["step"]["estimate"] == 1.0 and on_disk[1]["shape"]["verdict"] == "monotone up"
    assert records.analyses == json.loads((path / "summary.json").read_text())["curves"]


def test_load_run_without_pandas_says_how_to_install_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """docs/api.md's notebook example indexes DataFrames: without pandas it is told so in one line,
    not handed lists that fail later with `list indices must be integers`."""
    path = benchmark.run(**ARGS, tasks=["arithmetic"], prompting="plain", out=tmp_path / "run", no_cache=True)
    monkeypatch.setitem(sys.modules, "pandas", None)  # `import pandas` raises ImportError
    with pytest.raises(BenchError) as info:
        benchmark.load_run(path)
    assert "pip install -e '.[pandas]'" in str(info.value) and "as_frames=False" in str(info.value)
    assert "\n" not in str(info.value)
    records = benchmark.load_run(path, as_frames=False)  # records need no pandas
    assert len(records.samples) == 8 and records.samples[0]["task"] == "arithmetic"


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (
            {"prompting": "sometimes"},
            "--prompting: Input should be 'plain', 'cot' or 'both' (got 'sometimes')",
        ),
        ({"limit": 0}, "--limit must be at least 1"),
        ({"limit": "many"}, "--limit: Input should be a valid integer"),
        ({"provider_options": {"colour": "red"}}, "-P colour=red: no provider has an option 'colour'"),
        ({"threads": 2}, "-P threads=2 applies to --provider hf or local only"),
        ({"tasks": ["no_such_task"]}, "unknown task 'no_such_task'"),
        ({"speed": "fast"}, "run() has no option 'speed'"),
        ({"resume_dir": "x"}, "run() has no option 'resume_dir'"),
        # None stands for "left out" only where the option's default is None (--base-url, --out, ...)
        ({"seed": None}, "--seed: None is not a value; leave seed out for its default, 0"),
        ({"limit": None}, "--limit: None is not a value; leave limit out for its default, 20"),
        ({"tasks": None}, "--task: None is not a value; leave tasks out for its default"),
    ],
)
def test_bad_options_are_one_line_errors_and_write_nothing(
    tmp_path: Path, options: dict, message: str
) -> None:
    with pytest.raises(BenchError) as caught:
        benchmark.run(**{**ARGS, **options}, out=tmp_path / "run", no_cache=True)
    assert message in str(caught.value) and "\n" not in str(caught.value)
    assert not (tmp_path / "run").exists()


def test_the_readme_notebook_example_runs(tmp_path: Path) -> None:
    """The "From Python" block of docs/api.md, as written, in a fresh interpreter (it writes under runs/)."""
    import re
    import subprocess
    import sys

    from tests.conftest import ROOT
    from tests.helpers.docs import section

    block = re.search(r"```python\n(.*?)```", section("docs/api.md", "# From Python (a notebook)"), re.DOTALL)
    assert block is not None
    code = (
        block.group(1)
        + "\nassert len(result.summary) == 6 and set(result.analyses['analysis']) >= {'shape', 'steps'}\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=300,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr


def test_a_run_that_fails_before_its_first_sample_leaves_no_folder(fake, monkeypatch, tmp_path: Path) -> None:
    """As with `bench run`: a refused API key ends the run before any sample, and the folder it began
    is removed, so the same `out` can be used again."""
    fake.state.mode = "auth"
    monkeypatch.setenv("OPENAI_API_KEY", "wrong")
    out = tmp_path / "runs" / "api"
    with pytest.raises(BenchError, match="401"):
        benchmark.run(
            provider="openai",
            base_url=fake.url,
            models=["fake"],
            tasks=["arithmetic"],
            limit=1,
            out=out,
            no_cache=True,
        )
    assert not (tmp_path / "runs").exists()


def test_a_progress_and_a_provider_factory_of_ones_own_see_the_run(tmp_path: Path) -> None:
    import providers
    from benchmark.runner import SilentProgress

    told: list[tuple[str, int]] = []
    made: list[str | None] = []

    class Told(SilentProgress):
        def start_model(self, label: str, total: int) -> None:
            told.append((label, total))

    def factory(provider: str, model: str | None, options: providers.ProviderOptions) -> providers.Provider:
        made.append(model)
        return providers.create(provider, model, options)

    out = tmp_path / "run"
    benchmark.run(
        **ARGS,
        tasks=["arithmetic"],
        prompting="plain",
        out=out,
        no_cache=True,
        progress=Told(),
        factory=factory,
    )
    assert made == ["calculator@1B", "constant: 7@100M"]
    assert [total for _, total in told] == [4, 4] and told[0][0].startswith("scripted:calculator")


def test_the_python_api_runs_without_click_and_keeps_the_command_lines_record(bench, tmp_path: Path) -> None:
    code = (
        "import sys, benchmark\n"
        f"benchmark.run(**{ARGS!r}, tasks='arithmetic:digits=1', seed=4, out={str(tmp_path / 'py')!r},"
        " no_cache=True)\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'click'))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"  # no click inside the Python API
    words = ["--provider", "scripted", "--model", "calculator@1B", "--model", "constant: 7@100M"]
    words += ["--task", "arithmetic:digits=1", "--seed", "4", "--limit", "4", "--no-cache"]
    assert bench("run", *words, "--out", str(tmp_path / "cli")).code == 0
    kept = [json.loads((tmp_path / name / "manifest.json").read_text())["settings"] for name in ("py", "cli")]
    assert kept[0] == kept[1]
