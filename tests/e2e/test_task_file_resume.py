"""A resumed run of a task file goes on only with the same bytes, whatever version the file declares:
an edit under an unchanged `version` would mix old items with new ones in one run."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

ITEMS = """name: edited
version: "1"
items:
  - {id: a, kind: choice, prompt: "Is 2 more than 1?", classes: [" Y", " N"], answer_index: 0}
  - {id: b, kind: choice, prompt: "Is 1 more than 2?", classes: [" Y", " N"], answer_index: 1}
  - {id: c, kind: choice, prompt: "Is 3 more than 2?", classes: [" Y", " N"], answer_index: 0}
"""
EDITED = ITEMS.replace("1 more than 2?", "5 more than 2?").replace("answer_index: 1", "answer_index: 0")


def _started(bench, tmp_path: Path) -> tuple[Path, Path]:
    """A run of the file cut back to its first sample, as if it had been interrupted there."""
    traps, out = tmp_path / "traps.yaml", tmp_path / "run"
    traps.write_text(ITEMS)
    args = [
        "--provider",
        "scripted",
        "--task",
        str(traps),
        "--prompting",
        "plain",
        "--scoring",
        "logprob",
        "--limit",
        "3",
    ]
    assert bench("run", *args, "--out", str(out)).code == 0
    first = (out / "samples.jsonl").read_bytes().splitlines(keepends=True)[0]
    (out / "samples.jsonl").write_bytes(first)
    return traps, out


def test_an_edited_task_file_with_the_same_version_is_not_resumed(bench, tmp_path: Path) -> None:
    traps, out = _started(bench, tmp_path)
    samples = (out / "samples.jsonl").read_bytes()
    traps.write_text(EDITED)
    result = bench("run", "--resume", str(out))
    assert result.code == 2 and "Traceback" not in result.err, result.err
    [line] = result.err.strip().splitlines()
    then, now = (hashlib.sha256(text.encode()).hexdigest() for text in (ITEMS, EDITED))
    assert f"task edited read {traps} with sha256 {then[:12]}… and finds {now[:12]}… now" in line
    assert "restore the file to finish the run" in line
    [task] = json.loads((out / "manifest.json").read_text())["tasks"]
    assert (task["version"], task["file_sha256"]) == ("1", then)
    assert (out / "samples.jsonl").read_bytes() == samples  # nothing of the new items mixed in
    traps.write_text(ITEMS)  # the same bytes again: the run goes on
    again = bench("run", "--resume", str(out))
    assert again.code == 0, again.err
    assert len((out / "samples.jsonl").read_bytes().splitlines()) == 3


def test_a_run_from_before_the_file_sha256_was_recorded_resumes_and_records_it(bench, tmp_path: Path) -> None:
    traps, out = _started(bench, tmp_path)
    manifest = json.loads((out / "manifest.json").read_text())
    recorded = manifest["tasks"][0].pop("file_sha256")
    manifest["schema_version"] = 8
    (out / "manifest.json").write_text(json.dumps(manifest))
    result = bench("run", "--resume", str(out))
    assert result.code == 0, result.err
    assert json.loads((out / "manifest.json").read_text())["tasks"][0]["file_sha256"] == recorded
