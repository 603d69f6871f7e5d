"""Model families: files, `bench families`, and `bench run --family` with curves per variant."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmark.families import load_family, shipped
from benchmark.schemas import Manifest
from tests.helpers.summary import rows_with_results

SCRIPTED_FAMILY = """\
name: toy
version: "1"
description: scripted stand-ins at three sizes, base and instruct
source: made up for the test
members:
  - {provider: scripted, model: "constant: 0@100M", params: 100M, variant: base}
  - {provider: scripted, model: "calculator@1B", params: 1B, variant: base}
  - {provider: scripted, model: "calculator@10B", params: 10B, variant: base}
  - {provider: scripted, model: "calculator@1000M", params: 1B, variant: instruct}
"""


def test_every_shipped_family_loads_with_sizes_or_ranks() -> None:
    names = {load_family(p.stem).name for p in shipped()}
    assert {
        "pythia",
        "qwen2.5",
        "smollm2",
        "gemma3",
        "llama3",
        "gpt2",
        "openai-api",
        "anthropic-api",
    } <= names
    for path in shipped():
        family = load_family(path.stem)
        sizes = [m.rank if family.by_rank else m.params for m in family.members]
        assert all(s is not None and s > 0 for s in sizes)
    assert load_family("openai-api").by_rank and not load_family("pythia").by_rank
    assert {m.variant for m in load_family("qwen2.5").members} == {"base", "instruct"}


def test_families_list_shows_sizes_and_variants(cli) -> None:
    result = cli("families", "list")
    assert result.code == 0, result.err
    [pythia] = [line for line in result.out.splitlines() if line.startswith("│ pythia ")]
    assert "70.4M" in pythia and "11.8B" in pythia and "base" in pythia
    [qwen] = [line for line in result.out.splitlines() if line.startswith("│ qwen2.5 ")]
    assert "base, instruct" in qwen
    [api] = [line for line in result.out.splitlines() if line.startswith("│ anthropic-api ")]
    assert "rank 1, 2, 3" in api


def test_run_family_puts_variants_on_separate_curves(cli, tmp_path: Path) -> None:
    family = tmp_path / "toy.yaml"
    family.write_text(SCRIPTED_FAMILY)
    out = tmp_path / "run"
    result = cli("run", "--family", str(family), "--task", "arithmetic", "--limit", "4", "--out", str(out))
    assert result.code == 0, result.err
    manifest = Manifest.model_validate_json((out / "manifest.json").read_text())
    assert [(m.family, m.variant, m.params) for m in manifest.models] == [
        ("toy", "base", 100_000_000),
        ("toy", "base", 10**9),
        ("toy", "base", 10**10),
        ("toy", "instruct", 10**9),
    ]
    rows = rows_with_results(out)
    assert [(r["variant"], r["params"], r["accuracy"]) for r in rows] == [
        ("base", 100_000_000, 0.0),
        ("base", 10**9, 1.0),
        ("instruct", 10**9, 1.0),
        ("base", 10**10, 1.0),
    ]
    html = (out / "report.html").read_text()
    assert "toy · base · plain" in html and "toy · instruct · plain" in html


def test_undisclosed_sizes_are_plotted_by_rank(cli, tmp_path: Path) -> None:
    family = tmp_path / "api.yaml"
    family.write_text(
        "name: api\nversion: '1'\ndescription: d\nsource: s\nmembers:\n"
        "  - {provider: scripted, model: 'constant: 0', rank: 1, variant: instruct}\n"
        "  - {provider: scripted, model: calculator, rank: 2, variant: instruct}\n"
    )
    out = tmp_path / "run"
    assert (
        cli("run", "--family", str(family), "--task", "arithmetic", "--limit", "3", "--out", str(out)).code
        == 0
    )
    rows = rows_with_results(out)
    assert [(r["params"], r["size_rank"]) for r in rows] == [(None, 1), (None, 2)]
    html = (out / "report.html").read_text()
    assert "size rank (sizes undisclosed)" in html and "parameters (log scale)" not in html


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("name: x\nversion: '1'\ndescription: d\nsource: s\nmembers: []\n", ":5: members"),
        (
            "name: x\nversion: '1'\ndescription: d\nsource: s\nmembers:\n"
            "  - {provider: hf, model: a, variant: base}\n",
            ":6: members.0: give exactly one of params",
        ),
        (
            "name: x\nversion: '1'\ndescription: d\nsource: s\nmembers:\n"
            "  - {provider: hf, model: a, params: 1B, variant: chat}\n",
            ":6: members.0.variant",
        ),
        ("name: [unclosed\n", ":2: not valid YAML"),
        ("- just\n- a list\n", ":1: a family file is a mapping"),
    ],
)
def test_malformed_family_files_get_file_line_and_exit_2(cli, tmp_path: Path, text: str, reason: str) -> None:
    family = tmp_path / "bad.yaml"
    family.write_text(text)
    result = cli("run", "--family", str(family), "--out", str(tmp_path / "run"))
    assert result.code == 2 and "Traceback" not in result.err
    assert len(result.err.strip().splitlines()) == 1
    assert f"{family}{reason}" in result.err
    assert not (tmp_path / "run").exists()


def test_unknown_family_and_family_with_model(cli, tmp_path: Path) -> None:
    unknown = cli("run", "--family", "nonesuch", "--out", str(tmp_path / "a"))
    assert unknown.code == 2 and "unknown family 'nonesuch'" in unknown.err and "pythia" in unknown.err
    both = cli("run", "--family", "pythia", "--model", "x", "--out", str(tmp_path / "b"))
    assert both.code == 2 and "not both" in both.err


EMERGENT_FAMILY = """\
name: toy
version: "1"
description: scripted stand-ins, useless below 1B and perfect from 1B on
source: made up for the test
members:
  - {provider: scripted, model: "constant: 0@100M", params: 100M, variant: base}
  - {provider: scripted, model: "constant: -1@300M", params: 300M, variant: base}
  - {provider: scripted, model: "calculator@1B", params: 1B, variant: base}
  - {provider: scripted, model: "calculator@10B", params: 10B, variant: base}
"""


def test_summary_carries_shape_steps_cot_gain_and_calibration(cli, tmp_path: Path) -> None:
    family = tmp_path / "toy.yaml"
    family.write_text(EMERGENT_FAMILY)
    out = tmp_path / "run"
    result = cli("run", "--family", str(family), "--limit", "40", "--out", str(out))
    assert result.code == 0, result.err
    rows = rows_with_results(out)

    arithmetic = [r for r in rows if r["task"] == "arithmetic"]
    assert {(r["shape"]["verdict"], r["shape"]["threshold"]) for r in arithmetic} == {("emergent", 1e9)}
    [jump] = [r for r in arithmetic if r["params"] == 10**9]
    assert jump["step"]["estimate"] == 1.0 and jump["step"]["low"] > 0  # the jump has an error bar above zero
    # no one solves them
    assert {r["shape"]["verdict"] for r in rows if r["task"] == "word_problems"} == {"flat"}

    # Chain of thought against plain on the same items: no gain here, and McNemar finds none.
    cot = [r for r in rows if r["prompting"] == "cot" and r["task"] == "word_problems"]
    assert cot and all(r["cot_gain"]["estimate"] == 0.0 and r["cot_gain"]["p"] == 1.0 for r in cot)
    # Class probabilities from log-probs: the calculator puts 0.9 on its (right) answer.
    [calc] = [
        r
        for r in rows
        if r["task"] == "hindsight_neglect"
        and r["prompting"] == "plain"
        and r["scoring"] == "logprob"
        and r["params"] == 10**10
    ]
    assert calc["calibration"]["brier"] == pytest.approx(0.01)
    assert calc["calibration"]["ece"] == pytest.approx(0.1)

    md = (out / "report.md").read_text()
    assert "Shape, toy base: **emergent** (threshold 1B)" in md
    assert "digit accuracy rises with it" in md  # scripted answers jump in every measure at once
