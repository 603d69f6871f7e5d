"""Task variants are separate rows and curves everywhere; a digits sweep is one option."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import tasks
from benchmark.errors import UsageError
from tasks import TASKS, create, create_all, variants
from tasks.arithmetic import Arithmetic
from tests.helpers.summary import rows_with_results


@pytest.mark.parametrize("model", ["calculator@1B", "calculator"])  # sized, and unsized
def test_two_language_variants_are_two_rows_and_are_named(cli, tmp_path: Path, model: str) -> None:
    out = tmp_path / "run"
    tasks = ["--task", "hindsight_neglect", "--task", "hindsight_neglect:lang=zh-TW"]
    args = ["run", "--provider", "scripted", "--model", model, *tasks, "--prompting", "plain"]
    result = cli(*args, "--scoring", "logprob", "--limit", "3", "--out", str(out))
    assert result.code == 0 and "Traceback" not in result.err, result.err
    rows = rows_with_results(out)
    assert [(r["task_params"]["lang"], r["n"]) for r in rows] == [("en", 3), ("zh-TW", 3)]  # not pooled
    markdown = (out / "report.md").read_text().replace("\\_", "_")  # markdown escapes its underscores
    for text in (result.out, markdown, (out / "report.html").read_text()):
        assert "hindsight_neglect (shots=10, lang=en)" in text
        assert "hindsight_neglect (shots=10, lang=zh-TW)" in text
    again = cli("report", str(out))
    assert again.code == 0 and "Traceback" not in again.err, again.err


def test_a_digits_sweep_is_one_option_with_a_row_and_curve_per_digit_count(cli, tmp_path: Path) -> None:
    out = tmp_path / "run"
    models = ["--model", "calculator@1B", "--model", "constant: 0@100M"]
    result = cli("run", "--provider", "scripted", *models, "--task", "arithmetic:digits=2-4,op=*",
                   "--limit", "4", "--out", str(out))  # fmt: skip
    assert result.code == 0, result.err
    rows = rows_with_results(out)
    assert [(r["task_params"]["digits"], r["params"], r["accuracy"]) for r in rows] == [
        ("2", 10**8, 0.0), ("2", 10**9, 1.0),
        ("3", 10**8, 0.0), ("3", 10**9, 1.0),
        ("4", 10**8, 0.0), ("4", 10**9, 1.0),
    ]  # fmt: skip
    assert all(r["shape"]["verdict"] == "monotone up" for r in rows)  # a curve per digit count, each judged
    html = (out / "report.html").read_text()
    assert "arithmetic (op=*, shots=4): accuracy by model size" in html  # the shared parameters
    for digits in "234":
        assert f"digits={digits} · plain · generated answer</text>" in html  # a legend entry per curve
    manifest = json.loads((out / "manifest.json").read_text())
    assert [t["params"]["digits"] for t in manifest["tasks"]] == ["2", "3", "4"]


def test_create_all_expands_a_range_only_where_a_task_sweeps() -> None:
    assert [t.params()["digits"] for t in create_all("arithmetic:digits=2-4")] == ["2", "3", "4"]
    assert [t.params() for t in create_all("hindsight_neglect:lang=zh-TW")] == [
        {"shots": "10", "lang": "zh-TW"}
    ]
    assert create("word_problems:steps=2-4").params()["steps"] == "2-4"  # a mix, not a sweep


def test_a_sweep_is_checked_at_its_ends_before_it_is_expanded(monkeypatch: pytest.MonkeyPatch) -> None:
    built: list[dict[str, str]] = []
    build = tasks._build
    monkeypatch.setattr(tasks, "_build", lambda cls, given: built.append(given) or build(cls, given))
    with pytest.raises(UsageError, match="digits must be 1 to 5, not 10000000"):
        create_all("arithmetic:digits=1-10000000")
    assert [b["digits"] for b in built] == ["1", "10000000"]  # the ends, not ten million variants


class _Unbounded(Arithmetic):
    """A task whose swept parameter has no bounds of its own."""

    name = "unbounded"
    sweeps = ("n",)

    def __init__(self, n: int = 1) -> None:
        super().__init__()


def test_a_sweep_names_at_most_100_variants(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tasks, "TASKS", {"unbounded": _Unbounded})
    assert len(create_all("unbounded:n=1-100")) == 100
    with pytest.raises(UsageError, match="n=1-101 names 101 variants; a sweep has at most 100"):
        create_all("unbounded:n=1-101")
    with pytest.raises(UsageError, match="a sweep has at most 100"):
        create_all("unbounded:n=1-" + "9" * 5000)  # more digits than int() reads


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (["arithmetic:digits=3-1"], "empty range"),
        (["arithmetic:digits=0-2"], "digits must be 1 to 5"),
        (["arithmetic:digits=1-3", "arithmetic:digits=2"], "is given twice"),
        (["hindsight_neglect:lang=en"], ""),
    ],
)
def test_bad_sweeps_and_repeated_variants_are_one_line(
    cli, tmp_path: Path, spec: list[str], message: str
) -> None:
    tasks = [arg for s in spec for arg in ("--task", s)]
    result = cli("run", "--provider", "scripted", *tasks, "--limit", "1", "--out", str(tmp_path / "r"))
    if not message:
        assert result.code == 0, result.err
        return
    assert result.code == 2 and "Traceback" not in result.err
    assert message in result.err and len(result.err.strip().splitlines()) == 1


def test_tasks_list_and_show_agree_on_every_default(cli) -> None:
    for name, cls in TASKS.items():
        listed = dict(pair.split("=", 1) for pair in variants(cls).split())
        assert listed == cls().params(), name  # word_problems: steps=2-4 in both
    listed = cli("tasks", "list")
    shown = cli("tasks", "show", "word_problems")
    assert listed.code == shown.code == 0
    [line] = [x for x in listed.out.splitlines() if " word_problems " in x]
    assert "steps=2-4" in line and "'steps': '2-4'" in shown.out


def test_tasks_show_names_each_variant_of_a_sweep(cli) -> None:
    result = cli("tasks", "show", "arithmetic:digits=1-3,shots=1")
    assert result.code == 0, result.err
    assert [line for line in result.out.splitlines() if line.startswith("parameters:")] == [
        f"parameters: {{'digits': '{d}', 'op': '+', 'shots': '1'}}; chance 0.0%; answers: number, scored by "
        "number (digit_accuracy, edit_distance)"
        for d in "123"
    ]
