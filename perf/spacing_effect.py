"""What lm-evaluation-harness v0.3.0's class spacing does to a model's answers on prize-style items.

Michaelov & Bergen 2023 scored each class of the Inverse Scaling Prize's items as `" " + class` (their
harness's `" {}".format(choice)`), where the classes already begin with a space (" Y"); the prize and
today's lm-evaluation-harness score the class as given. bench's `spacing` parameter of the prize tasks
(`isp_*:spacing=prize|lm-eval-0.3`) does either. This script runs both on the same items and prints
each one's accuracy and how many answers changed, with the CPU and load average beside the figures.

The prize's own files come from the Hugging Face Hub; a machine without it (as this project's are) can
give prize-format items of its own (JSONL: prompt, classes, answer_index; by default bench's
hindsight_neglect generator exported with `bench tasks export`), which the script lays out as
`jmichaelov/inverse_scaling_prize-hindsight_neglect` in a Hub cache of its own, so that the real
published-task path (huggingface_hub, offline) reads them.

    python -m perf.spacing_effect [--items FILE.jsonl] [--limit 100] [--provider local] [--model M]
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import json
import os
import subprocess
import sys
import tempfile
import zipfile
from collections import Counter
from pathlib import Path

from perf._lib import ROOT, bench
from perf._lib.machine import cpu

REPO = "jmichaelov/inverse_scaling_prize-hindsight_neglect"
COMMIT = "0" * 40


def export_items(limit: int) -> str:
    """bench's own hindsight_neglect items in the prize's JSONL format."""
    command = bench("tasks", "export", "hindsight_neglect", "--limit", str(limit))
    return subprocess.run(command, cwd=ROOT, check=True, capture_output=True, text=True).stdout


def as_their_copy(jsonl: str) -> bytes:
    """The items as Michaelov & Bergen's copy holds them: a zip of a CSV whose classes are a string."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["prompt", "classes", "answer_index"])
    for line in jsonl.splitlines():
        if line.strip():
            item = json.loads(line)
            writer.writerow([item["prompt"], repr(list(item["classes"])), item["answer_index"]])
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("hindsight-neglect_classification.csv", out.getvalue())
    return buffer.getvalue()


def lay_out(cache: Path, data: bytes) -> None:
    """A Hub cache entry as huggingface_hub writes it (refs/main, snapshots/<commit>, blobs/)."""
    root = cache / ("datasets--" + REPO.replace("/", "--"))
    blob = root / "blobs" / hashlib.sha256(data).hexdigest()
    blob.parent.mkdir(parents=True)
    blob.write_bytes(data)
    (root / "refs").mkdir()
    (root / "refs" / "main").write_text(COMMIT)
    snapshot = root / "snapshots" / COMMIT
    snapshot.mkdir(parents=True)
    (snapshot / "test.zip").symlink_to(Path("../../blobs") / blob.name)


Outcome = tuple[bool, str, float]
"""An item under one spacing: correct, the class the model chose, log-prob margin of the right class."""


def run(args: argparse.Namespace, work: Path) -> dict[str, dict[str, Outcome]]:
    """Each item under each spacing, from one bench run with both variants."""
    env = {**os.environ, "HF_HUB_CACHE": str(work / "hub"), "HF_HUB_OFFLINE": "1"}
    env["BENCH_CACHE_DIR"] = str(work / "bench-cache")
    out = work / "run"
    command = bench("run", "--provider", args.provider, "--scoring", "logprob")
    command += ["--limit", str(args.limit)]
    command += ["--model", args.model] if args.model else []
    for spacing in ("prize", "lm-eval-0.3"):
        command += ["--task", f"isp_hindsight_neglect:spacing={spacing}"]
    result = subprocess.run([*command, "--out", str(out)], cwd=ROOT, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"bench run failed ({result.returncode}): {result.stderr.strip().splitlines()[-1:]}")
    found: dict[str, dict[str, Outcome]] = {"prize": {}, "lm-eval-0.3": {}}
    for line in (out / "samples.jsonl").read_text().splitlines():
        sample = json.loads(line)
        scores = sample["class_logprobs"] or {}
        right = scores.get(sample["target"], 0.0)
        margin = right - max((v for k, v in scores.items() if k != sample["target"]), default=right)
        chosen = (sample["extracted"] or "").strip()
        found[sample["task_params"]["spacing"]][sample["item_id"]] = (sample["correct"], chosen, margin)
    return found


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--items", type=Path, help="prize-format JSONL (default: bench's hindsight_neglect)")
    parser.add_argument("--limit", type=int, default=100)
    parser.add_argument("--provider", default="local")
    parser.add_argument("--model", default=None)
    args = parser.parse_args()
    if args.limit < 1:
        sys.exit("--limit must be at least 1")
    try:
        jsonl = args.items.read_text(encoding="utf-8") if args.items else export_items(args.limit)
        data = as_their_copy(jsonl)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        sys.exit(f"{args.items}: not prize-format JSONL ({exc})")
    with tempfile.TemporaryDirectory(prefix="bench-spacing-") as folder:
        work = Path(folder)
        lay_out(work / "hub", data)
        correct = run(args, work)
    if not correct["prize"]:
        sys.exit("no items were scored")
    ours, theirs = correct["prize"], correct["lm-eval-0.3"]
    items = sorted(set(ours) & set(theirs))
    load = os.getloadavg()[0]
    print(f"machine: {cpu()}; load average {load:.2f}")
    print(f"model: {args.provider} {args.model or '(default)'}; {len(items)} items")
    for name, found in (("prize", ours), ("lm-eval-0.3", theirs)):
        right = sum(found[i][0] for i in items)
        chosen = Counter(found[i][1] for i in items).most_common(3)
        margin = sum(found[i][2] for i in items) / len(items)
        print(
            f"spacing={name:<12} {right}/{len(items)} = {right / len(items):.1%}; classes chosen {chosen}; "
            f"mean log-prob margin of the right class {margin:+.3f}"
        )
    gained = sum(theirs[i][0] and not ours[i][0] for i in items)
    lost = sum(ours[i][0] and not theirs[i][0] for i in items)
    shift = sum(abs(theirs[i][2] - ours[i][2]) for i in items) / len(items)
    print(f"answers changed: {gained + lost} ({gained} right only with lm-eval-0.3, {lost} only with prize)")
    print(f"mean |change| of the right class's log-prob margin: {shift:.3f} nats")


if __name__ == "__main__":
    main()
