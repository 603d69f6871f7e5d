"""Published references: every number with its source and how it was measured, drawn on the rows it
belongs to; the Pythia section is exactly what its generator reads from the authors' repository."""

from __future__ import annotations

import json
import math
import re
import subprocess
from pathlib import Path

import pytest
from pydantic import ValidationError

from benchmark.errors import UsageError
from benchmark.schemas import TaskInfo
from reports.published import pythia
from reports.references import FILE, Curve, Reference, load_reference, load_references

MIRROR = Path("/work/.mirror/jmichaelov+emergent-inabilities/repo")
REPO_SOURCE = re.compile(r"[\w.-]+/[\w.-]+@[0-9a-f]{40}:\S")
STEPS = [2000, 4000, 8000, 16000, 32000, 64000, 128000, 143000]


def _task(name: str, **params: str) -> TaskInfo:
    return TaskInfo(name=name, version="1", promptings=["plain", "cot"], chance=0.5, params=params)


def _curve(**fields: object) -> dict[str, object]:
    return {"name": "c", "prompting": "plain", "source": "Someone et al. 2020, table 1", **fields}


def test_every_reference_loads_with_every_number_sourced_and_measured() -> None:
    references = load_references()
    isp = [f"pythia-{t.replace('_', '-')}" for t in pythia.TASKS]
    expected = {"gsm8k-cot", "multiarith-cot", "gpt3-arithmetic", "opt-2.7b-inverse-scaling", *isp}
    assert set(references) == expected
    for reference in references.values():
        assert reference.curves
        for curve in reference.curves:
            assert curve.task is None or curve.task in reference.tasks
            for point in curve.points:
                source = curve.source_of(point)
                assert REPO_SOURCE.match(source) or re.search(r"et al\. \d{4}.*(table|section)", source)
                assert point.tokens is None or point.revision is not None
    assert load_reference("pythia-neqa") == references["pythia-neqa"]


def test_the_pythia_grid_is_complete_eight_sizes_at_eight_checkpoints_on_ten_tasks() -> None:
    references = load_references()
    sizes = pythia.sizes()
    for task in pythia.TASKS:
        reference = references[f"pythia-{task.replace('_', '-')}"]
        assert [c.name for c in reference.curves] == [f"Pythia step{s}" for s in STEPS]
        for curve, step in zip(reference.curves, STEPS, strict=True):
            assert curve.task == f"isp_{task}" and curve.split == "test"
            assert curve.dataset == f"jmichaelov/inverse_scaling_prize-{task}"
            assert (curve.scoring, curve.variant) == ("logprob", "base")
            assert curve.requires == {"spacing": "lm-eval-0.3"}
            assert [(p.model, p.params) for p in curve.points] == list(sizes.items())
            assert {p.revision for p in curve.points} == {f"step{step}"}
            assert {p.tokens for p in curve.points} == {step * 2_097_152}
            assert all(p.n in (None, curve.n) and p.se is not None for p in curve.points)
    assert references["pythia-hindsight-neglect"].curves[0].n == 315


def test_hindsight_neglect_at_the_last_checkpoint_is_the_published_inverse_curve() -> None:
    curve = load_reference("pythia-hindsight-neglect").curves[-1]
    assert curve.name == "Pythia step143000"
    published = [round(p.accuracy, 3) for p in curve.points]
    assert published == [0.502, 0.556, 0.438, 0.546, 0.425, 0.333, 0.454, 0.241]
    assert all(0.024 < (p.se or 0) < 0.029 for p in curve.points)


def test_the_numbers_from_tables_and_harness_records_are_as_printed() -> None:
    references = load_references()
    by_name = {c.name: c for c in references["multiarith-cot"].curves}
    assert [p.accuracy for p in by_name["PaLM standard"].points] == [0.042, 0.073, 0.422]
    assert [p.accuracy for p in by_name["PaLM CoT"].points] == [0.158, 0.737, 0.947]
    assert [p.accuracy for p in by_name["GPT-3 CoT"].points] == [0.008, 0.005, 0.028, 0.917]
    assert "2201.11903v6), appendix B, table 3" in (by_name["LaMDA CoT"].source or "")
    opt = {c.task: c.points[0] for c in references["opt-2.7b-inverse-scaling"].curves}
    assert {t: p.accuracy for t, p in opt.items()} == {
        "inverse_scaling_hindsight_neglect_10shot": 0.4476, "inverse_scaling_neqa": 0.5267,
        "inverse_scaling_quote_repetition": 0.9433, "inverse_scaling_redefine_math": 0.72,
    }  # fmt: skip
    assert {p.model for p in opt.values()} == {"facebook/opt-2.7b"}


def test_a_curve_is_drawn_on_its_own_task_and_on_context_tasks_and_says_what_differs() -> None:
    hindsight = load_reference("pythia-hindsight-neglect")
    assert hindsight.context_tasks() == ["hindsight_neglect"]
    assert len(hindsight.curves_for(_task("isp_hindsight_neglect"))) == 8
    context = hindsight.curves_for(_task("hindsight_neglect"))
    assert len(context) == 8
    assert context[0].differences(_task("hindsight_neglect"))[0].startswith("different items")
    last = hindsight.curves[-1]
    assert last.differences(_task("isp_hindsight_neglect", spacing="lm-eval-0.3"), "logprob") == []
    unspaced = last.differences(_task("isp_hindsight_neglect"), "generate")
    assert unspaced == [
        "published with spacing=lm-eval-0.3, this row has spacing=None",
        "published scored by logprob, this row by generate",
    ]
    opt = load_reference("opt-2.7b-inverse-scaling")
    assert [c.task for c in opt.curves_for(_task("inverse_scaling_neqa"))] == ["inverse_scaling_neqa"]
    assert opt.curves_for(_task("isp_neqa")) == []
    gsm8k = load_reference("gsm8k-cot")
    assert len(gsm8k.curves_for(_task("gsm8k"))) == len(gsm8k.curves_for(_task("word_problems"))) == 6
    arithmetic = load_reference("gpt3-arithmetic")
    assert [c.name for c in arithmetic.curves_for(_task("arithmetic", digits="3", op="-"))] == ["GPT-3 3D-"]


@pytest.mark.parametrize(
    ("curve", "reason"),
    [
        (_curve(points=[{"params": 1e9, "accuracy": 0.5, "model": "m", "tokens": 1e9}]), "name the revision"),
        (_curve(points=[{"params": 1e9, "accuracy": 0.5, "revision": "step1"}]), "must name its model"),
        (_curve(points=[[1e9, 0.5], [1e9, 0.6]]), "two points"),
        (_curve(points=[{"params": 1e9, "accuracy": 0.5, "model": "m", "revision": "a"},
                        {"params": 2e9, "accuracy": 0.5, "model": "m", "revision": "a"}]), "two points"),
        (_curve(n=300, points=[{"params": 1e9, "accuracy": 0.5, "n": 315}]), "scored 315 items"),
        (_curve(scoring="sampled", points=[[1e9, 0.5]]), "scoring"),
    ],
)  # fmt: skip
def test_an_inconsistent_curve_is_refused(curve: dict, reason: str) -> None:
    with pytest.raises(ValidationError, match=reason):
        Curve.model_validate(curve)


def test_a_curve_measured_on_a_task_the_reference_does_not_draw_on_is_refused(tmp_path: Path) -> None:
    reference = {"title": "t", "tasks": ["a"], "curves": [_curve(task="b", points=[[1e9, 0.5]])]}
    with pytest.raises(ValidationError, match="task 'b' is not one of the reference's tasks"):
        Reference.model_validate(reference)
    bad = tmp_path / "references.yaml"
    bad.write_text('version: "3"\nreferences: {r: {title: t, tasks: []}}\n', encoding="utf-8")
    with pytest.raises(UsageError, match=r"references.yaml: not a valid reference file \(references.r.tasks"):
        load_references(bad)


@pytest.mark.parametrize("field", ["params", "tokens", "se"])
@pytest.mark.parametrize("number", [".inf", "1e400"])
def test_an_infinite_number_in_the_reference_file_is_refused_in_one_line(
    tmp_path: Path, field: str, number: str
) -> None:
    """`.inf` (and `1e400`, read as infinity) would pass, and a report would fail writing summary.json."""
    point = {"params": "1e9", "accuracy": "0.5", "model": "m", "revision": "step1"}
    point |= {"tokens": "1e9", "se": "0.01"}
    point[field] = number
    fields = ", ".join(f"{key}: {value}" for key, value in point.items())
    bad = tmp_path / "references.yaml"
    bad.write_text(
        'version: "3"\nreferences:\n  r:\n    title: t\n    tasks: [a]\n    curves:\n'
        f"      - {{name: c, prompting: plain, source: s, points: [{{{fields}}}]}}\n",
        encoding="utf-8",
    )
    with pytest.raises(UsageError, match=rf"points\.0\.{field}: Input should be a finite number"):
        load_references(bad)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        # PyYAML keeps the last of two keys: a reference silently dropped, or a number silently changed
        (
            "  r:\n    title: t\n    tasks: [a]\n  r:\n    title: u\n    tasks: [a]\n",
            r":6: duplicate key 'r'",
        ),
        (
            "  r:\n    title: t\n    tasks: [a]\n    curves:\n"
            "      - {name: c, prompting: plain, source: s,\n"
            "         points: [{params: 1e9, accuracy: 0.5, accuracy: 0.9}]}\n",
            r":8: duplicate key 'accuracy'",
        ),
        (
            "  r: {title: t, tasks: [a]\n",
            r"references.yaml:4: not a valid reference file \(did not find expected",
        ),
        (
            "  r:\n    title: t\n    tasks: [a]\n    curves:\n"
            "      - {name: c, prompting: plainn, source: s, points: [[1e9, 0.5]]}\n",
            r"unknown prompting 'plainn'",
        ),
    ],
)
def test_a_duplicate_key_a_syntax_error_or_an_unknown_prompting_is_one_line(
    tmp_path: Path, text: str, reason: str
) -> None:
    bad = tmp_path / "references.yaml"
    bad.write_text('version: "3"\nreferences:\n' + text, encoding="utf-8")
    with pytest.raises(UsageError, match=reason):
        load_references(bad)


def test_an_unknown_reference_names_all_and_none_too() -> None:
    with pytest.raises(UsageError, match="choose all, none or one of: gpt3-arithmetic"):
        load_reference("no-such-reference")


# --- the generator, on a small clone the test lays out, and on the authors' repository where present ---


def _lm_eval_run(correct: int, n: int) -> dict[str, float]:
    """acc and acc_stderr as lm-evaluation-harness v0.3.0 computes them (sample standard error)."""
    p = correct / n
    return {"acc": p, "acc_stderr": math.sqrt(p * (1 - p) * n / (n - 1)) / math.sqrt(n)}


def _clone(tmp_path: Path, runs: dict[tuple[str, str], dict[str, dict[str, float]]], tsv: str) -> Path:
    repo = tmp_path / "emergent-inabilities"
    (repo / "results").mkdir(parents=True)
    for (size, revision), results in runs.items():
        (repo / "results" / f"pythia-{size}_{revision}.json").write_text(json.dumps({"results": results}))
    (repo / "results" / "all_results.tsv").write_text(tsv)
    git = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-qm", "results"], check=True)
    return repo


def _tsv(runs: dict[tuple[str, str], dict[str, dict[str, float]]]) -> str:
    lines = ["ModelName\tModelRevision\tTask\tAccuracy\tAccuracy_SE"]
    for (size, revision), results in runs.items():
        for task, r in results.items():
            lines.append(f"EleutherAI/pythia-{size}\t{revision}\t{task}\t{r['acc']!r}\t{r['acc_stderr']!r}")
    return "\n".join(lines) + "\n"


def _renamed(runs: dict, task: str, to: str) -> dict:
    return {key: {to if t == task else t: r for t, r in results.items()} for key, results in runs.items()}


def _run(hindsight: int, neqa: int) -> dict[str, dict[str, float]]:
    """One run file's results: correct answers of 315 hindsight neglect and 300 NeQA items."""
    return {"isp_hindsight_neglect": _lm_eval_run(hindsight, 315), "isp_neqa": _lm_eval_run(neqa, 300)}


FIXTURE = {
    ("70m", "step2000"): _run(180, 150),
    ("12b", "step2000"): _run(170, 300),
    ("70m", "step143000"): _run(158, 140),
    ("12b", "step143000"): _run(76, 120),
}


def test_the_generator_reads_a_clone_into_references_with_n_derived_from_the_standard_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = _clone(tmp_path, FIXTURE, _tsv(FIXTURE))
    target = tmp_path / "references.yaml"
    target.write_text(FILE.read_text(encoding="utf-8").split(pythia.BEGIN)[0], encoding="utf-8")
    monkeypatch.setattr(pythia, "YAML_FILE", target)
    assert pythia.main([str(repo), "--check"]) == 1
    assert pythia.main([str(repo)]) == 0
    assert pythia.main([str(repo), "--check"]) == 0
    assert "8 points; 16 TSV numbers agree" in capsys.readouterr().out
    references = load_references(target)
    assert "gsm8k-cot" in references  # the hand-written part is kept
    neqa = references["pythia-neqa"]
    assert neqa.tasks == ["isp_neqa"]
    assert [c.name for c in neqa.curves] == ["Pythia step2000", "Pythia step143000"]
    first = neqa.curves[0]
    assert first.n == 300 and [p.n for p in first.points] == [300, None]  # SE 0 at accuracy 1: n unknown
    assert [(p.params, p.accuracy, p.tokens) for p in first.points] == [
        (70426624, 0.5, 2000 * 2_097_152), (11846072320, 1.0, 2000 * 2_097_152)
    ]  # fmt: skip
    assert first.source == f"{pythia.REPO}@{pythia._git(repo, 'rev-parse', 'HEAD').strip()}:{pythia.TSV}"
    hindsight = references["pythia-hindsight-neglect"]
    assert hindsight.tasks == ["isp_hindsight_neglect", "hindsight_neglect"]
    assert [round(p.accuracy, 3) for p in hindsight.curves[-1].points] == [0.502, 0.241]


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda runs, tsv: (runs, tsv.replace("\t0.5\t", "\t0.51\t")), r"0\.51 != .*'s 0\.5"),
        (lambda runs, tsv: ({**runs, ("70m", "step2000"): {}}, tsv), "isp_hindsight_neglect"),
        (lambda runs, tsv: (runs, tsv.replace("step2000", "final", 1)), "no run file"),
        (lambda runs, tsv: (_renamed(runs, "isp_neqa", "isp_other"), tsv.replace("isp_neqa", "isp_other")),
         "not of the prize's ten"),
        (lambda runs, tsv: (runs, tsv.replace("pythia-12b", "pythia-13b")), "no run file"),
    ],
)  # fmt: skip
def test_a_clone_whose_numbers_disagree_is_refused_in_one_line(tmp_path: Path, change, reason: str) -> None:
    runs, tsv = change(dict(FIXTURE), _tsv(FIXTURE))
    repo = _clone(tmp_path, runs, tsv)
    with pytest.raises(UsageError, match=reason):
        pythia.generate(repo)


def test_a_standard_error_that_gives_no_whole_number_of_items_is_refused() -> None:
    row = pythia.Row("EleutherAI/pythia-70m", "step2000", "isp_neqa", 0.5, 0.0288)
    with pytest.raises(UsageError, match="not whole"):
        pythia.items(row)


def test_not_a_clone_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert pythia.main([str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: ") and "give a clone of" in err


@pytest.mark.skipif(not MIRROR.exists(), reason=f"no clone of {pythia.REPO} at {MIRROR} (CI has none)")
def test_the_committed_section_is_what_the_generator_reads_from_the_authors_repository() -> None:
    section, checked, points = pythia.generate(MIRROR)
    text = FILE.read_text(encoding="utf-8")
    assert pythia.splice(text, section) == text
    assert (points, checked) == (640, 1280)  # every accuracy and SE agrees with its run file
    _, tsv, _ = pythia.read_repo(MIRROR)
    rows = {(r.model, r.revision, r.task): r for r in pythia.parse_tsv(tsv)}
    for point in load_reference("pythia-memo-trap").curves[3].points:
        row = rows[(point.model or "", point.revision or "", "isp_memo_trap")]
        assert (point.accuracy, point.se) == (row.accuracy, row.se)
