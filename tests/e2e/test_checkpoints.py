"""Training checkpoints as a second scale axis: family members at Hub revisions with their training
tokens, `--sizes` and `--checkpoints`, and reports over size and over training tokens."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmark.errors import UsageError
from benchmark.families import Family, load_family
from benchmark.runconfig import model_specs
from benchmark.schemas import Manifest, Sample
from tests.helpers import tiny_models
from tests.helpers.summary import row_objects, rows_with_results

STEPS = [2000, 4000, 8000, 16000, 32000, 64000, 128000, 143000]

# At 1B accuracy falls with training (rule right, then a coin, then the hindsight error); at 10B it
# rises. On hindsight_neglect, `calculator` judges by expected value (right), `outcome` by the outcome
# (wrong on every item), `constant: Y` is right on half of them.
TRAINED = """\
name: trained<b>
version: "1"
description: scripted checkpoints, worse with training at 1B and better at 10B
source: made up for the test
members:
  - {provider: scripted, model: "calculator@1B", params: 1B, revision: step1, tokens: 1e9, variant: base,
     hub_id: org/toy-1b}
  - {provider: scripted, model: "constant: Y@1B", params: 1B, revision: step2, tokens: 2e9, variant: base,
     hub_id: org/toy-1b}
  - {provider: scripted, model: "outcome@1B", params: 1B, revision: step4, tokens: 4e9, variant: base,
     hub_id: org/toy-1b}
  - {provider: scripted, model: "outcome@10B", params: 10B, revision: step1, tokens: 1e9, variant: base}
  - {provider: scripted, model: "constant: Y@10B", params: 10B, revision: step2, tokens: 2e9, variant: base}
  - {provider: scripted, model: "calculator@10B", params: 10B, revision: step4, tokens: 4e9, variant: base}
"""
RUN = ("--task", "hindsight_neglect", "--limit", "20", "--prompting", "plain", "--scoring", "logprob")


def _family(text: str, tmp_path: Path) -> Family:
    path = tmp_path / "family.yaml"
    path.write_text(text)
    return load_family(str(path))


def test_pythia_checkpoints_is_eight_sizes_at_eight_steps() -> None:
    grid = load_family("pythia-checkpoints")
    sizes = {m.model: m.params for m in load_family("pythia").members}
    assert len(grid.members) == 64 and grid.checkpoints == [f"step{s}" for s in STEPS]
    for member in grid.members:
        step = int((member.revision or "").removeprefix("step"))
        assert member.params == sizes[member.model]  # the same counts as the pythia family
        assert member.tokens == step * 2_097_152  # 1,024 sequences of 2,048 tokens a step
        assert (member.provider, member.variant) == ("hf", "base")
        assert member.model_id == f"{member.model}@{member.revision}"
        assert member.hub_id == member.model
    assert {(m.model, m.revision) for m in grid.members} == {(m, f"step{s}") for m in sizes for s in STEPS}


def test_an_hf_member_reads_its_revision_from_the_model_id_or_the_field(tmp_path: Path) -> None:
    head = 'name: f\nversion: "1"\ndescription: d\nsource: s\nmembers:\n'
    family = _family(
        head + "  - {provider: hf, model: org/tiny@step1, params: 1M, variant: base, tokens: 5}\n"
        "  - {provider: hf, model: org/tiny, revision: step2, params: 1M, variant: base, tokens: 9}\n",
        tmp_path,
    )
    assert [(m.model, m.revision, m.hub_id, m.model_id) for m in family.members] == [
        ("org/tiny", "step1", "org/tiny", "org/tiny@step1"),
        ("org/tiny", "step2", "org/tiny", "org/tiny@step2"),
    ]


@pytest.mark.parametrize(
    ("member", "needle"),
    [
        ("{provider: hf, model: org/t@step1, revision: step2, params: 1M, variant: base}", "names revision"),
        ("{provider: scripted, model: x, params: 1M, variant: base, tokens: 5}", "give its revision"),
        (
            "{provider: scripted, model: x, params: 1M, revision: s, variant: base, tokens: 0}",
            "greater than 0",
        ),
        ("{provider: scripted, model: x, params: 1M, revision: s, variant: base, tokens: true}", "tokens"),
        ("{provider: scripted, model: x, params: 1M, revision: s, variant: base, tokens: .inf}", "tokens"),
    ],
)
def test_bad_checkpoint_members_are_one_line_with_the_file_and_line(
    tmp_path: Path, member: str, needle: str
) -> None:
    head = 'name: f\nversion: "1"\ndescription: d\nsource: s\nmembers:\n'
    with pytest.raises(UsageError) as caught:
        _family(head + f"  - {member}\n", tmp_path)
    assert f"{tmp_path / 'family.yaml'}:6:" in str(caught.value) and needle in str(caught.value)


def test_the_same_model_at_two_revisions_is_two_members_at_one_revision_a_duplicate(tmp_path: Path) -> None:
    head = 'name: f\nversion: "1"\ndescription: d\nsource: s\nmembers:\n'
    one = "  - {provider: hf, model: org/t, revision: step1, params: 1M, variant: base}\n"
    two = "  - {provider: hf, model: org/t, revision: step2, params: 1M, variant: base}\n"
    assert len(_family(head + one + two, tmp_path).members) == 2
    with pytest.raises(UsageError, match="listed twice"):
        _family(head + one + one, tmp_path)


def test_sizes_and_checkpoints_take_a_subset_of_either_axis() -> None:
    specs = model_specs("local", (), ("pythia-checkpoints",), "70M, 1.4B", "step2000,step143000")
    assert [s.model for s in specs] == [
        "EleutherAI/pythia-70m@step2000",
        "EleutherAI/pythia-70m@step143000",
        "EleutherAI/pythia-1.4b@step2000",
        "EleutherAI/pythia-1.4b@step143000",
    ]
    assert [(s.revision, s.tokens, s.hub_id) for s in specs[:2]] == [
        ("step2000", 2000 * 2_097_152, "EleutherAI/pythia-70m"),
        ("step143000", 143000 * 2_097_152, "EleutherAI/pythia-70m"),
    ]
    assert len(model_specs("local", (), ("pythia-checkpoints",), "12B", None)) == 8
    assert len(model_specs("local", (), ("pythia-checkpoints",), None, "step64000")) == 8


@pytest.mark.parametrize(
    ("flags", "needles"),
    [
        (("--family", "pythia-checkpoints", "--sizes", "13B"), ["--sizes 13B", "70.4M, 162M", "11.8B"]),
        (("--family", "pythia-checkpoints", "--sizes", "huge"), ["--sizes", "70.4M, 162M"]),
        (("--family", "pythia-checkpoints", "--checkpoints", "step3"), ["step3", "step2000, step4000"]),
        (("--family", "pythia", "--checkpoints", "step2000"), ["pythia has no checkpoints"]),
        (("--provider", "scripted", "--sizes", "70M"), ["--family"]),
        (("--family", "pythia-checkpoints", "--sizes", ","), ["--sizes ','", "names nothing"]),
        (("--family", "pythia-checkpoints", "--checkpoints", " "), ["--checkpoints ' '", "names nothing"]),
    ],
)
def test_a_bad_subset_is_one_line_naming_the_valid_values(
    bench, tmp_path: Path, flags: tuple[str, ...], needles: list[str]
) -> None:
    out = tmp_path / "run"
    result = bench("run", *flags, "--out", str(out))
    assert result.code == 2 and "Traceback" not in result.err, result.err
    lines = [line for line in result.err.splitlines() if line.strip()]
    assert len(lines) == 1, result.err
    assert all(needle in lines[0] for needle in needles), lines[0]
    assert not out.exists()


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.conftest import run_bench

    folder = tmp_path_factory.mktemp("trained")
    (folder / "trained.yaml").write_text(TRAINED)
    out = folder / "run"
    result = run_bench(
        "run", "--provider", "scripted", "--family", str(folder / "trained.yaml"), *RUN, "--out", str(out)
    )
    assert result.code == 0, result.err
    return out


def test_the_manifest_and_samples_record_each_checkpoint(trained_run: Path) -> None:
    manifest = Manifest.model_validate_json((trained_run / "manifest.json").read_text())
    assert [(m.label, m.revision, m.tokens, m.hub_id) for m in manifest.models[:3]] == [
        ("scripted:calculator@1B@step1", "step1", 1e9, "org/toy-1b"),
        ("scripted:constant: Y@1B@step2", "step2", 2e9, "org/toy-1b"),
        ("scripted:outcome@1B@step4", "step4", 4e9, "org/toy-1b"),
    ]
    assert manifest.settings is not None and manifest.settings.checkpoints is None
    lines = (trained_run / "samples.jsonl").read_text().splitlines()
    samples = [Sample.model_validate_json(line) for line in lines]
    assert {(s.model, s.revision, s.tokens) for s in samples if s.params == 10**10} == {
        ("scripted:outcome@10B@step1", "step1", 1e9),
        ("scripted:constant: Y@10B@step2", "step2", 2e9),
        ("scripted:calculator@10B@step4", "step4", 4e9),
    }


def test_shape_over_tokens_is_inverse_where_training_hurts_and_up_where_it_helps(trained_run: Path) -> None:
    rows = row_objects(trained_run)
    over_tokens = {(r.params, r.revision): r.shape_over_tokens for r in rows}
    assert {s.verdict for (params, _), s in over_tokens.items() if params == 10**9 and s} == {"inverse"}
    assert {s.verdict for (params, _), s in over_tokens.items() if params == 10**10 and s} == {"monotone up"}
    assert all(shape is not None for shape in over_tokens.values())
    # Over size, one curve per checkpoint: at step4 1B is wrong everywhere and 10B right.
    by_revision = {r.revision: r.shape for r in rows}
    assert by_revision["step4"] is not None and by_revision["step4"].verdict == "monotone up"
    assert by_revision["step1"] is not None and by_revision["step1"].verdict == "inverse"
    assert [r.tokens for r in rows if r.params == 10**9] == [1e9, 2e9, 4e9]  # rows in order of training


def test_report_md_has_the_size_by_tokens_table_and_both_verdicts(trained_run: Path) -> None:
    md = (trained_run / "report.md").read_text()
    assert "| size | 1B tokens (step1) | 2B tokens (step2) | 4B tokens (step4) |" in md
    assert "| 1B | 100.0% | 50.0% | 0.0% |" in md and "| 10B | 0.0% | 50.0% | 100.0% |" in md
    assert "Shape over training tokens, trained&lt;b&gt; base at 1B: **inverse**" in md
    assert "Shape over training tokens, trained&lt;b&gt; base at 10B: **monotone up**" in md
    assert "Shape, trained&lt;b&gt; base at step4: **monotone up**" in md


def test_report_html_draws_both_axes_and_an_accessible_heatmap(trained_run: Path) -> None:
    html = (trained_run / "report.html").read_text()
    assert html.count('class="heatmap"') == 1
    heat = html[html.index('class="heatmap"') :]
    heat = heat[: heat.index("</svg>")]
    assert "trained&lt;b&gt; base: accuracy by size and training tokens</title>" in heat
    assert (
        "<desc id=" in heat
        and "aria-labelledby=" in html[html.rindex("<svg", 0, html.index('class="heatmap"')) :]
    )
    assert "<b>" not in html.replace("<body>", "")  # the family's name is escaped everywhere
    assert heat.count('class="cell"') == 6 and ">100%</text>" in heat
    assert "accuracy by training tokens, a line per size" in html and "training tokens (log scale)" in html
    assert "accuracy by model size, a line per checkpoint" in html


def test_a_run_written_before_checkpoints_still_reports(bench, trained_run: Path, tmp_path: Path) -> None:
    old = tmp_path / "old"
    old.mkdir()
    manifest = json.loads((trained_run / "manifest.json").read_text())
    manifest["schema_version"] = 6
    del manifest["settings"]["sizes"], manifest["settings"]["checkpoints"]
    for model in manifest["models"]:
        del model["hub_id"], model["revision"], model["tokens"]
    (old / "manifest.json").write_text(json.dumps(manifest))
    samples = [json.loads(line) for line in (trained_run / "samples.jsonl").read_text().splitlines()]
    for sample in samples:
        del sample["hub_id"], sample["revision"], sample["tokens"]
    (old / "samples.jsonl").write_text("".join(json.dumps(s) + "\n" for s in samples))
    result = bench("report", str(old))
    assert result.code == 0, result.err
    rows = rows_with_results(old)
    assert all(r["shape_over_tokens"] is None and r["tokens"] is None for r in rows)
    assert 'class="heatmap"' not in (old / "report.html").read_text()


def _hub_model(cache: Path, repo: str, revisions: dict[str, int], tmp_path: Path) -> None:
    """Lay out huggingface_hub's cache for `repo`: refs/<revision> holds a commit, whose snapshot holds
    a tiny random model written with the given seed."""
    root = cache / f"models--{repo.replace('/', '--')}"
    for number, (revision, seed) in enumerate(revisions.items()):
        commit = f"{number + 1:040x}"
        tiny_models.write(root / "snapshots" / commit, "gpt_neox", seed=seed)
        (root / "refs").mkdir(parents=True, exist_ok=True)
        (root / "refs" / revision).write_text(commit)


def test_hf_members_load_the_weights_of_their_own_revision(bench, tmp_path: Path) -> None:
    cache = tmp_path / "hub"
    _hub_model(cache, "org/tiny", {"step1": 1, "step2": 2}, tmp_path)
    family = tmp_path / "tiny.yaml"
    family.write_text(
        'name: tiny\nversion: "1"\ndescription: d\nsource: s\nmembers:\n'
        "  - {provider: hf, model: org/tiny, revision: step1, tokens: 1000, params: 1M, variant: base}\n"
        "  - {provider: hf, model: org/tiny, revision: step2, tokens: 2000, params: 1M, variant: base}\n"
    )
    out = tmp_path / "run"
    env = {"HF_HUB_CACHE": str(cache), "HF_HUB_OFFLINE": "1", "HF_TOKEN": ""}
    run = ("--provider", "hf", "--family", str(family), "--out", str(out), "--limit", "2")
    result = bench("run", *run, *RUN[:2], "--prompting", "plain", "--scoring", "logprob", env=env)
    assert result.code == 0, result.err
    manifest = Manifest.model_validate_json((out / "manifest.json").read_text())
    assert [(m.label, m.revision, m.tokens, m.hub_id) for m in manifest.models] == [
        ("tiny@step1", "step1", 1000.0, "org/tiny"),
        ("tiny@step2", "step2", 2000.0, "org/tiny"),
    ]
    assert [m.details["revision"] for m in manifest.models] == [f"{1:040x}", f"{2:040x}"]  # the commits
    samples = [Sample.model_validate_json(line) for line in (out / "samples.jsonl").read_text().splitlines()]
    by_item: dict[str, dict[str, dict[str, float] | None]] = {}
    for sample in samples:
        by_item.setdefault(sample.item_id, {})[sample.model] = sample.class_logprobs
    assert len(by_item) == 2
    for scores in by_item.values():
        assert scores["tiny@step1"] is not None and scores["tiny@step1"] != scores["tiny@step2"]


def test_a_subset_run_resumes_per_member_with_its_own_subset(bench, tmp_path: Path) -> None:
    family = tmp_path / "trained.yaml"
    family.write_text(TRAINED)
    out = tmp_path / "run"
    subset = ("--sizes", "10B", "--checkpoints", "step1,step4")
    first = bench("run", "--provider", "scripted", "--family", str(family), *subset, *RUN, "--out", str(out))
    assert first.code == 0, first.err
    samples = (out / "samples.jsonl").read_text().splitlines()
    kept = [line for line in samples if Sample.model_validate_json(line).revision == "step1"]
    assert len(kept) == 20 and len(samples) == 40  # two members: 10B at step1 and at step4
    (out / "samples.jsonl").write_text("".join(line + "\n" for line in kept))
    calls = tmp_path / "calls.log"
    resumed = bench("run", "--resume", str(out), env={"BENCH_SCRIPTED_CALL_LOG": str(calls)})
    assert resumed.code == 0, resumed.err
    assert len(calls.read_text().splitlines()) == 20  # only the member whose samples were gone
    manifest = Manifest.model_validate_json((out / "manifest.json").read_text())
    assert [m.label for m in manifest.models] == [
        "scripted:outcome@10B@step1",
        "scripted:calculator@10B@step4",
    ]
    assert manifest.settings is not None and (manifest.settings.sizes, manifest.settings.checkpoints) == (
        "10B",
        "step1,step4",
    )
