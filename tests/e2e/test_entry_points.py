"""Providers and tasks of other packages, registered as entry points (groups bench.providers and
bench.tasks): docs/extending.md's examples run through `bench run`, and a broken entry point is one line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from benchmark.errors import UsageError
from benchmark.registry import Registry
from providers.base import Provider
from tests.conftest import ROOT
from tests.helpers.cli import assert_one_line_error
from tests.helpers.packages import _env, _install, readme_package


def test_the_readme_examples_run_through_bench_run(bench, tmp_path: Path) -> None:
    files, groups = readme_package("Write a provider", "Write a task")
    assert set(files) == {"bench_doubler/provider.py", "bench_doubler/task.py"}
    assert set(groups) == {"bench.providers", "bench.tasks"}
    site = tmp_path / "site"
    _install(site, "bench-doubler", files, groups)
    out = tmp_path / "run"
    args = ("run", "--provider", "doubler", "--task", "doubling", "--limit", "5", "--out", str(out))

    # The key the class declares (key_env) is asked for before anything is written.
    missing = bench(*args, env=_env(site, DOUBLER_API_KEY=""))
    assert_one_line_error(missing, "--provider doubler needs the environment variable DOUBLER_API_KEY")
    assert not out.exists()

    result = bench(*args, env=_env(site, DOUBLER_API_KEY="unused"))
    assert result.code == 0, result.err
    samples = [json.loads(line) for line in (out / "samples.jsonl").read_text().splitlines()]
    assert len(samples) == 5
    assert {s["provider"] for s in samples} == {"doubler"} and {s["task"] for s in samples} == {"doubling"}
    assert all(s["correct"] for s in samples), samples
    listed = bench("tasks", "list", env=_env(site))
    assert listed.code == 0 and "doubling" in listed.out


def test_a_provider_of_another_package_declares_options_set_with_P(bench, tmp_path: Path) -> None:
    files, groups = readme_package("Write a provider", "Write a task")
    site = tmp_path / "site"
    _install(site, "bench-doubler", files, groups)
    env = _env(site, DOUBLER_API_KEY="unused")
    shown = bench("providers", "show", "doubler", env=env)
    assert shown.code == 0 and "factor" in shown.out and "What the last number is multiplied by" in shown.out

    out = tmp_path / "run"
    args = ("run", "--provider", "doubler", "--task", "doubling", "--limit", "4", "--no-cache")
    result = bench(*args, "-P", "factor=3", "--out", str(out), env=env)
    assert result.code == 0, result.err
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["settings"]["provider_options"] == {"factor": 3}  # typed by the provider's model
    samples = (out / "samples.jsonl").read_text().splitlines(keepends=True)
    assert len(samples) == 4 and not any(json.loads(line)["correct"] for line in samples)  # tripled

    (out / "samples.jsonl").write_text("".join(samples[:2]))  # as if stopped after two
    resumed = bench("run", "--resume", str(out), env=env)
    assert resumed.code == 0, resumed.err
    again = [json.loads(line) for line in (out / "samples.jsonl").read_text().splitlines()]
    assert len(again) == 4 and not any(s["correct"] for s in again)  # the resume asked with factor 3 too

    bad = bench(*args, "-P", "factor=0", "--out", str(tmp_path / "bad"), env=env)
    assert_one_line_error(bad, "-P factor=0: Input should be greater than or equal to 1")
    other = bench(*args, "-P", "weights=f32", "--out", str(tmp_path / "other"), env=env)
    assert_one_line_error(other, "--provider doubler's options: factor (bench providers show doubler)")
    assert not (tmp_path / "bad").exists() and not (tmp_path / "other").exists()


BROKEN = {
    "bench.providers": {
        "missing": "bench_nonesuch.provider:Provider",
        "raises": "bench_broken:Crashing",
        "notaprovider": "bench_broken:NotAProvider",
    },
    "bench.tasks": {"notatask": "bench_broken:NotAProvider", "misnamed": "bench_broken:Misnamed"},
}
BROKEN_MODULE = """
from tasks.arithmetic import Arithmetic

class NotAProvider:
    name = "notaprovider"

class Misnamed(Arithmetic):
    pass  # its name is "arithmetic", registered as "misnamed"
"""


@pytest.mark.parametrize(
    ("args", "needles"),
    [
        (
            ["--provider", "missing"],
            [
                "provider 'missing' cannot be loaded from the entry point missing = bench_nonesuch.provider",
                "(package bench-broken 0.1)",
                "ModuleNotFoundError: No module named 'bench_nonesuch'",
            ],
        ),
        (["--provider", "raises"], ["provider 'raises' cannot be loaded", "AttributeError"]),
        (["--provider", "notaprovider"], ["provider 'notaprovider' from the entry point", "not a subclass"]),
        (
            ["--task", "notatask"],
            ["task 'notatask' from the entry point", "is not a subclass of tasks.base.Task"],
        ),
        (["--task", "misnamed"], ["task 'misnamed'", "calls itself 'arithmetic'"]),
    ],
)
def test_a_broken_entry_point_is_one_line_and_spoils_nothing_else(
    bench, tmp_path: Path, args: list[str], needles: list[str]
) -> None:
    site = tmp_path / "site"
    _install(site, "bench-broken", {"bench_broken.py": BROKEN_MODULE}, BROKEN)
    out = tmp_path / "run"
    chosen = ["--provider", "scripted", "--task", "arithmetic", *args, "--limit", "2", "--out", str(out)]
    assert_one_line_error(bench("run", *chosen, env=_env(site)), *needles)
    assert not out.exists()
    if args[0] == "--provider":  # the others are never imported: the shipped ones still run
        fine = bench("run", "--provider", "scripted", "--limit", "2", "--out", str(out), env=_env(site))
        assert fine.code == 0, fine.err


def test_providers_and_tasks_are_named_without_being_imported() -> None:
    code = (
        "import json, sys, providers, tasks\n"
        "print(json.dumps([providers.names(), list(tasks.TASKS)]))\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.startswith(('providers.', 'tasks.')))))"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    names, imported = map(json.loads, done.stdout.splitlines())
    assert names[0] == ["anthropic", "hf", "hf-inference", "local", "openai", "scripted"]
    generated = ["arithmetic", "hindsight_neglect", "modified_arithmetic", "word_problems"]
    assert [n for n in names[1] if n in generated] == generated
    assert "isp_hindsight_neglect" in names[1] and "gsm8k" in names[1]  # the published ones, from the catalog
    # the published tasks' names are read from their catalog (data), not from their task module
    assert imported == ["providers.base", "tasks.base", "tasks.published", "tasks.published.catalog"]


def test_a_name_registered_twice_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    from importlib.metadata import EntryPoint

    points = [
        EntryPoint("twice", "providers.scripted:ScriptedProvider", "bench.providers"),
        EntryPoint("twice", "providers.local:LocalProvider", "bench.providers"),
    ]
    monkeypatch.setattr("importlib.metadata.entry_points", lambda group: points)
    registry: Registry[Provider] = Registry("bench.providers", "provider", Provider)
    assert list(registry) == ["twice"]
    with pytest.raises(UsageError, match="'twice' is registered more than once"):
        registry["twice"]


# What a source checkout that was never installed (or was installed before a provider or task was added)
# looks like to importlib.metadata: no entry point of bench's own distribution.
WITHOUT_BENCH_INSTALLED = (
    "import importlib.metadata as m\n"
    "_every = m.entry_points\n"
    "m.entry_points = lambda **k: m.EntryPoints(\n"
    "    p for p in _every(**k) if p.dist is None or p.dist.name != 'bench')\n"
)


def test_a_shipped_provider_is_found_without_bench_installed(bench, tmp_path: Path) -> None:
    out = tmp_path / "run"
    task_file = str(ROOT / "tasks" / "traps" / "gambles_example.yaml")  # a file: no task registry involved
    args = ("run", "--provider", "scripted", "--task", task_file, "--limit", "2", "--out", str(out))
    result = bench(*args, pre=WITHOUT_BENCH_INSTALLED)
    assert result.code == 0, result.err
    samples = [json.loads(line) for line in (out / "samples.jsonl").read_text().splitlines()]
    assert samples and {s["provider"] for s in samples} == {"scripted"}


def test_a_shipped_task_is_found_without_bench_installed(bench, tmp_path: Path) -> None:
    listed = bench("tasks", "list", pre=WITHOUT_BENCH_INSTALLED)
    assert listed.code == 0, listed.err
    assert all(name in listed.out for name in ("arithmetic", "hindsight_neglect", "modified_arithmetic"))
    out = tmp_path / "run"
    args = ("run", "--provider", "scripted", "--task", "word_problems", "--limit", "2", "--out", str(out))
    result = bench(*args, pre=WITHOUT_BENCH_INSTALLED)
    assert result.code == 0, result.err
    samples = [json.loads(line) for line in (out / "samples.jsonl").read_text().splitlines()]
    assert {(s["provider"], s["task"]) for s in samples} == {("scripted", "word_problems")}


def test_a_shipped_provider_without_its_package_is_one_line_without_bench_installed(
    bench, tmp_path: Path
) -> None:
    hidden = WITHOUT_BENCH_INSTALLED + "import sys; sys.modules['llama_cpp'] = None\n"
    task_file = str(ROOT / "tasks" / "traps" / "gambles_example.yaml")
    args = ("run", "--provider", "local", "--task", task_file, "--limit", "2", "--out", str(tmp_path / "run"))
    result = bench(*args, pre=hidden)
    assert_one_line_error(result, "llama-cpp-python", "pip install", "[local]")
    assert not (tmp_path / "run").exists()


def test_a_shipped_name_is_not_taken_by_an_installed_package(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from importlib.metadata import EntryPoint

    from providers.scripted import ScriptedProvider

    points = [EntryPoint("scripted", "providers.local:LocalProvider", "bench.providers")]
    monkeypatch.setattr("importlib.metadata.entry_points", lambda group: points)
    shipped = {"scripted": "providers.scripted:ScriptedProvider"}
    registry: Registry[Provider] = Registry("bench.providers", "provider", Provider, shipped=shipped)
    assert list(registry) == ["scripted"] and registry["scripted"] is ScriptedProvider


def test_a_broken_shipped_import_path_is_one_line_naming_it() -> None:
    shipped = {"gone": "providers.nonesuch:Gone"}
    registry: Registry[Provider] = Registry("bench.providers", "provider", Provider, shipped=shipped)
    with pytest.raises(
        UsageError, match=r"'gone' cannot be loaded from bench's own gone = providers.nonesuch"
    ):
        registry["gone"]
