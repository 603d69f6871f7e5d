"""What a resumed run keeps of the run it finishes: its --max-cost (the run's, not each process's), its
response cache folder (wherever the resume runs from), and its own files (never read through a link)."""

from __future__ import annotations

import json
import os
from pathlib import Path

from benchmark.rundir import RunDir
from tests.helpers.runs import complete_samples

SCRIPTED = ["--provider", "scripted", "--task", "arithmetic", "--prompting", "plain", "--limit", "3"]


def _spent(out: Path) -> float:
    """Dollars the run's samples were charged (an answer from the cache costs nothing)."""
    return sum(s.cost_usd or 0.0 for s in complete_samples(out) if not s.cached)


def test_max_cost_is_the_runs_across_resumes_and_a_stop_for_cost_has_its_own_exit_code(
    bench, fake, tmp_path: Path
) -> None:
    """Before, each --resume spent another cap, and every stop exited 0 ("every item answered")."""
    out, cap = tmp_path / "run", 0.00002
    env = {"BENCH_CACHE_DIR": str(tmp_path / "cache")}
    args = ["--provider", "openai", "--base-url", fake.url, "--model", "gpt-4o-mini", *SCRIPTED[2:-1], "20"]
    first = bench("run", *args, "--max-cost", str(cap), "--out", str(out), env=env)
    assert first.code == 3, first.err
    assert "stopped before exceeding --max-cost $0.0000" in first.err
    assert f"bench run --resume {out} --max-cost DOLLARS" in first.err
    taken = len(complete_samples(out))
    assert 0 < taken < 20
    for _ in range(2):
        again = bench("run", "--resume", str(out), env=env)
        assert again.code == 3, again.err
        assert "stopped before exceeding --max-cost" in again.err
    assert len(complete_samples(out)) == taken  # the cap was spent: nothing more was bought
    assert _spent(out) <= cap
    raised = bench("run", "--resume", str(out), "--max-cost", "1", env=env)
    assert raised.code == 0, raised.err
    assert len(complete_samples(out)) == 20
    assert RunDir.open(out).read_manifest().settings.max_cost == 1  # type: ignore[union-attr]


def test_a_relative_cache_dir_is_the_same_folder_when_resumed_from_elsewhere(bench, tmp_path: Path) -> None:
    """Before, `--cache-dir cZ` was kept as "cZ" and a resume from another folder made and used
    another cZ there."""
    here, elsewhere, out = tmp_path / "here", tmp_path / "elsewhere", tmp_path / "run"
    here.mkdir()
    elsewhere.mkdir()
    first = bench("run", *SCRIPTED, "--cache-dir", "cZ", "--out", str(out), cwd=here)
    assert first.code == 0, first.err
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["settings"]["cache_dir"] == str(here / "cZ")
    lines = (out / "samples.jsonl").read_bytes().splitlines(keepends=True)
    (out / "samples.jsonl").write_bytes(
        lines[0]
    )  # two items (two calls each: an answer, its log-prob) to take again, from the cache
    resumed = bench("run", "--resume", str(out), cwd=elsewhere)
    assert resumed.code == 0, resumed.err
    assert f"model calls: 0; answers from the cache: 4 ({here / 'cZ' / 'responses.sqlite'})" in resumed.err
    assert not (elsewhere / "cZ").exists()


def test_a_linked_samples_file_is_refused_in_one_line_and_nothing_is_read_through_it(
    bench, tmp_path: Path
) -> None:
    """Before, a resume read the samples through the link, then failed to append with a traceback
    (OSError: [Errno 40])."""
    out, elsewhere = tmp_path / "run", tmp_path / "elsewhere.jsonl"
    assert bench("run", *SCRIPTED, "--out", str(out)).code == 0
    lines = (out / "samples.jsonl").read_bytes().splitlines(keepends=True)
    elsewhere.write_bytes(lines[0])
    (out / "samples.jsonl").unlink()
    os.symlink(elsewhere, out / "samples.jsonl")
    for command in (["run", "--resume", str(out)], ["report", str(out)]):
        result = bench(*command)
        assert result.code == 2, result.err
        assert "Traceback" not in result.err
        assert result.err.strip().splitlines() == [
            f"bench: error: {out / 'samples.jsonl'} is a symbolic link; bench reads and writes a run's own "
            "files only, never through a link: put the file itself there (nothing was changed)"
        ]
    assert elsewhere.read_bytes() == lines[0]
