"""One run configuration (`RunSettings`): built the same way from `bench run`'s command line and from
`benchmark.run`'s keyword arguments, one name per option, and written back as the command line that
asks for it; the runner is given that record resolved (`plan_run`), never a copy of its options."""

from __future__ import annotations

import dataclasses
import inspect
from pathlib import Path

import pytest

from benchmark import settings
from benchmark.cli import run as run_command
from benchmark.errors import BenchError, UsageError
from benchmark.runconfig import MAX_ATTEMPTS
from benchmark.runner import ModelSpec, Runner, RunPlan, plan_run
from benchmark.settings import RunSettings


def _from_command_line(words: list[str]) -> RunSettings:
    return settings.from_params(run_command.make_context("run", words).params)


def test_the_command_line_and_python_build_the_same_record(tmp_path: Path) -> None:
    words = ["--provider", "local", "--task", "arithmetic:digits=1", "--task", "hindsight_neglect"]
    words += [
        "--limit",
        "7",
        "--seed",
        "3",
        "-P",
        "threads=2",
        "--weights",
        "f32",
        "--cache-dir",
        str(tmp_path),
    ]
    from_python = settings.from_options(
        {
            "provider": "local",
            "tasks": ["arithmetic:digits=1", "hindsight_neglect"],
            "limit": 7,
            "seed": 3,
            "provider_options": {"threads": "2"},
            "weights": "f32",
            "cache_dir": tmp_path,
        }
    )
    assert _from_command_line(words) == from_python
    assert from_python.tasks == ["arithmetic:digits=1", "hindsight_neglect"]
    assert from_python.provider_options == {"threads": "2", "weights": "f32"}  # typed by the provider later
    assert from_python.cache_dir == str(tmp_path.absolute())


def test_a_record_is_written_back_as_the_command_line_that_asks_for_it() -> None:
    record = settings.from_options(
        {
            "provider": "scripted",
            "models": ["a", "b"],
            "tasks": "arithmetic",
            "no_cache": True,
            "max_cost": 0.5,
        }
    )
    words = settings.command_words(record)
    assert words[:2] == ["bench", "run"] and words.count("--model") == 2 and "--no-cache" in words
    assert _from_command_line(words[2:]) == record
    assert settings.command_words(RunSettings()) == ["bench", "run"]  # the defaults are left out


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"task_specs": ["arithmetic"]}, "run() has no option 'task_specs'"),  # one name: tasks
        ({"scoring": "maybe"}, "--scoring: Input should be 'both', 'logprob' or 'generate' (got 'maybe')"),
        ({"provider_options": ["threads=2"]}, "-P: provider_options is a dict of names and values"),
        ({"threads": 2, "provider_options": {"threads": 3}}, "--threads 2 and -P threads=3 disagree"),
    ],
)
def test_bad_python_options_name_the_flag(options: dict, message: str) -> None:
    with pytest.raises(UsageError) as caught:
        settings.from_options(options)
    assert message in str(caught.value)


def test_max_attempts_is_one_option_on_the_command_line_and_in_python() -> None:
    from_python = settings.from_options({"max_attempts": 2})
    assert _from_command_line(["--max-attempts", "2"]) == from_python
    assert from_python.max_attempts == 2 and RunSettings().max_attempts == 5
    assert settings.command_words(from_python) == ["bench", "run", "--max-attempts", "2"]
    with pytest.raises(UsageError, match="--max-attempts: Input should be a valid integer"):
        settings.from_options({"max_attempts": "many"})


@pytest.mark.parametrize("attempts", [0, -3, MAX_ATTEMPTS + 1])
def test_max_attempts_out_of_bounds_is_refused_before_the_run(attempts: int) -> None:
    with pytest.raises(
        BenchError, match=f"^--max-attempts must be from 1 to {MAX_ATTEMPTS}, not {attempts}$"
    ):
        plan_run(RunSettings(provider="scripted", max_attempts=attempts))


def test_the_runner_is_given_the_settings_resolved_and_no_copy_of_an_option() -> None:
    chosen = RunSettings(provider="scripted", models=["calculator@1B"], tasks=["arithmetic"], max_attempts=3)
    plan = plan_run(chosen)
    assert list(inspect.signature(Runner).parameters)[:2] == ["plan", "run_dir"]
    assert {field.name for field in dataclasses.fields(RunPlan)}.isdisjoint(RunSettings.model_fields)
    assert plan.settings == chosen  # every option the runner reads is the record's own
    assert plan.model_specs == [ModelSpec("scripted", "calculator@1B")]
    assert [task_plan.task.name for task_plan in plan.task_plans] == ["arithmetic"]
    assert plan.command == ["bench", "run", "--provider", "scripted", "--model", "calculator@1B",
                            "--task", "arithmetic", "--max-attempts", "3"]  # fmt: skip
