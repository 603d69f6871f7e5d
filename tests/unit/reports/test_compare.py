"""`bench compare`: runs of different families or dates in one report, refused when items differ."""

from __future__ import annotations

import json
from pathlib import Path

from tests.helpers.summary import rows_with_results


def _run(cli, out: Path, *args: str, task: str = "arithmetic", limit: str = "4") -> None:
    result = cli("run", "--provider", "scripted", "--task", task, "--limit", limit, "--out", str(out), *args)
    assert result.code == 0, result.err


def test_compare_merges_two_runs_into_one_report(cli, tmp_path: Path) -> None:
    _run(cli, tmp_path / "small", "--model", "constant: 0@100M")
    _run(cli, tmp_path / "big", "--model", "calculator@10B", "--model", "constant: 0@100M")
    out = tmp_path / "both"
    result = cli("compare", str(tmp_path / "small"), str(tmp_path / "big"), "--out", str(out))
    assert result.code == 0, result.err
    rows = rows_with_results(out)
    # The label both runs used is kept apart by the second run's folder name.
    assert [(r["model"], r["accuracy"]) for r in rows] == [
        ("scripted:constant: 0@100M", 0.0),
        ("scripted:constant: 0@100M (big)", 0.0),
        ("scripted:calculator@10B", 1.0),
    ]
    assert (out / "report.html").is_file() and len((out / "samples.jsonl").read_text().splitlines()) == 12


def test_compare_keeps_the_variants_of_a_sweep_apart(cli, tmp_path: Path) -> None:
    sweep = "arithmetic:digits=1-2"
    _run(cli, tmp_path / "small", "--model", "constant: 0@100M", task=sweep)
    _run(cli, tmp_path / "big", "--model", "calculator@10B", task=sweep)
    out = tmp_path / "both"
    result = cli("compare", str(tmp_path / "small"), str(tmp_path / "big"), "--out", str(out))
    assert result.code == 0, result.err
    rows = rows_with_results(out)
    assert [(r["task_params"]["digits"], r["params"], r["n"]) for r in rows] == [
        ("1", 10**8, 4), ("1", 10**10, 4), ("2", 10**8, 4), ("2", 10**10, 4),
    ]  # fmt: skip


def test_compare_refuses_different_task_versions_seeds_or_limits(cli, tmp_path: Path) -> None:
    _run(cli, tmp_path / "a")
    _run(cli, tmp_path / "b")
    _run(cli, tmp_path / "c", "--seed", "5")
    _run(cli, tmp_path / "d", limit="6")
    manifest = tmp_path / "b" / "manifest.json"
    version = json.loads(manifest.read_text())["tasks"][0]["version"]
    manifest.write_text(manifest.read_text().replace(f'"version": "{version}"', '"version": "0"'))
    for other, needle in [
        ("b", f"task arithmetic (digits=2, op=+, shots=4) is version {version}"),
        ("c", "seeds 0 and 5"),
        ("d", "--limit 4 and 6"),
    ]:
        out = tmp_path / f"merged-{other}"
        result = cli("compare", str(tmp_path / "a"), str(tmp_path / other), "--out", str(out))
        assert result.code == 2 and "Traceback" not in result.err
        assert needle in result.err and len(result.err.strip().splitlines()) == 1
        assert not out.exists()


def _family(tmp_path: Path, name: str, members: list[tuple[str, str]]) -> Path:
    lines = [f"name: {name}", 'version: "1"', "description: scripted", "source: the test", "members:"]
    lines += [f'  - {{provider: scripted, model: "{m}", params: {p}, variant: base}}' for m, p in members]
    path = tmp_path / f"{name}.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_compare_shows_families_apart_and_steps_within_each(cli, tmp_path: Path) -> None:
    """Two families whose sizes interleave (100M, 10B and 1B, 100B): each family's rows stand together
    under a family column, and a step is taken from the next smaller size of the same family."""
    odd = _family(tmp_path, "odd", [("constant: 0@100M", "100M"), ("calculator@10B", "10B")])
    even = _family(tmp_path, "even", [("calculator@1B", "1B"), ("constant: 0@100B", "100B")])
    _run(cli, tmp_path / "odd", "--family", str(odd))
    _run(cli, tmp_path / "even", "--family", str(even))
    out = tmp_path / "both"
    result = cli("compare", str(tmp_path / "odd"), str(tmp_path / "even"), "--out", str(out))
    assert result.code == 0, result.err
    md = (out / "report.md").read_text()
    table = [line for line in md.splitlines() if line.startswith("| ")]
    assert table[0].startswith("| model | family | params |")
    assert [line.split(" | ")[1:3] for line in table[1:]] == [
        ["even base", "1B"], ["even base", "100B"], ["odd base", "100M"], ["odd base", "10B"],
    ]  # fmt: skip
    steps = [line.split(" | ")[6].replace("\\", "") for line in table[1:]]  # markdown escapes [
    assert steps[0] == "–" and steps[2] == "–"  # the smallest of each family has no step
    assert steps[1].startswith("-100 [") and steps[3].startswith("+100 [")  # 1B→100B and 100M→10B
    assert "family" in result.out and "even base" in result.out  # the terminal table has the column too
