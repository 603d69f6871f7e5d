"""Analyses plug in (reports/analyses): the README's "Write an analysis" example, installed as another
package's entry point, reaches every report without a change to bench; a failing one is one line."""

from __future__ import annotations

import csv
import json
import re
import tomllib
from pathlib import Path

from tests.conftest import ROOT
from tests.helpers.packages import _env, _install
from tests.test_bad_input import assert_one_line_error


def _readme_example() -> tuple[dict[str, str], dict[str, dict[str, str]]]:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    start = readme.index("## Write an analysis")
    section = readme[start : readme.index("\n## ", start + 1)]
    files = {}
    for block in re.findall(r"```python\n(.*?)```", section, re.DOTALL):
        first, _, _ = block.partition("\n")
        files[first.removeprefix("# ").strip()] = block
    (toml,) = re.findall(r"```toml\n(.*?)```", section, re.DOTALL)
    return files, tomllib.loads(toml)["project"]["entry-points"]


def _scripted_run(bench, out: Path, env: dict[str, str]) -> object:
    return bench(
        "run", "--provider", "scripted", "--model", "constant: 0@100M", "--model", "calculator@1B",
        "--task", "arithmetic", "--prompting", "plain", "--limit", "4", "--out", str(out), env=env,
    )  # fmt: skip


def test_the_readme_analysis_reaches_every_report(bench, tmp_path: Path) -> None:
    files, groups = _readme_example()
    assert set(groups) == {"bench.analyses"}
    site = tmp_path / "site"
    _install(site, "bench-spread", files, groups)
    out = tmp_path / "run"
    result = _scripted_run(bench, out, _env(site))
    assert result.code == 0, result.err
    said = "0% to 100% across 2 sizes"
    summary = json.loads((out / "summary.json").read_text())
    [curve] = [c for c in summary["curves"] if "spread" in c["results"]]
    spread = curve["results"]["spread"]
    assert (spread["type"], spread["text"], spread["low"], spread["high"]) == ("SpreadResult", said, 0.0, 1.0)
    assert [p["model"] for p in curve["points"]] == ["scripted:constant: 0@100M", "scripted:calculator@1B"]
    assert f"Spread of accuracy, models: {said}" in (out / "report.md").read_text()
    assert f"Spread of accuracy, models: {said}" in (out / "report.html").read_text()
    with open(out / "summary.csv", newline="") as handle:
        assert {row["spread"] for row in csv.DictReader(handle)} == {said}
    assert said in result.out  # the terminal's lines after the tables
    # Without the package the same run has no such result: it came from the entry point alone.
    plain = bench("report", str(out))
    assert plain.code == 0 and said not in (out / "report.md").read_text()


FAILING = """
from reports.analyses.base import Analysis


class Broken(Analysis):
    name = "broken"
    title = "Broken"

    def analyse(self, curve):
        return {}["missing"]
"""


def test_an_analysis_that_fails_is_one_line_naming_it(bench, tmp_path: Path) -> None:
    site = tmp_path / "site"
    _install(
        site,
        "bench-broken",
        {"bench_broken.py": FAILING},
        {"bench.analyses": {"broken": "bench_broken:Broken"}},
    )
    out = tmp_path / "run"
    assert _scripted_run(bench, out, {}).code == 0
    failed = bench("report", str(out), env=_env(site))
    assert_one_line_error(failed, "analysis 'broken' (bench_broken) failed on the curve", "KeyError")
