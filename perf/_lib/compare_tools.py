"""The two tools perf/compare_lmeval.py runs side by side, each in a process of its own, and what it
records of the run: bench's run (through perf/timed_bench.py) and lm-evaluation-harness's (through
perf/timed_lmeval.py in perf/.venv-lmeval, made by perf/setup_lmeval.sh), their timings and per-item
outputs read back; the machine and the versions the figures were measured with."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from perf._lib import ROOT, bench, script

PERF = ROOT / "perf"
LMEVAL_VENV = PERF / ".venv-lmeval"
BATCH_SIZE = 8


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def run_logged(command: list[str], log_path: Path, env: dict[str, str] | None = None) -> float:
    """Run a command with its output in `log_path`; its wall time in seconds. Fails loudly."""
    start = time.perf_counter()
    with open(log_path, "w", encoding="utf-8") as handle:
        result = subprocess.run(
            command, cwd=ROOT, stdout=handle, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})}
        )
    seconds = time.perf_counter() - start
    if result.returncode != 0:
        tail = "".join(log_path.read_text(encoding="utf-8", errors="replace").splitlines(True)[-30:])
        raise SystemExit(f"command failed ({result.returncode}): {' '.join(command)}\n{tail}")
    return seconds


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def write_jsonl(path: Path, records: list[dict[str, Any]]) -> None:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")


# -- the two tools ------------------------------------------------------------------------------


def bench_export(spec: str, items: int, path: Path) -> list[dict[str, Any]]:
    command = bench("tasks", "export", spec, "--format", "prize-jsonl", "--seed", "0")
    run_logged([*command, "--limit", str(items), "--out", str(path)], path.with_suffix(".log"))
    return read_jsonl(path)


def run_bench(
    task: str, items: int, folder: Path, weights: str = "native", hf_weights: Path | None = None
) -> dict[str, Any]:
    """bench's run (through perf/timed_bench.py) on the local provider with `--weights WEIGHTS`, or with
    `hf_weights` on `--provider hf` (that folder keeps its converted copy of the GGUF between runs); its
    timings and samples in order.

    The response cache is a fresh, empty folder: every answer is computed (and stored), as in a first run.
    """
    folder.mkdir(parents=True, exist_ok=True)
    timings_path = folder / "bench-timings.json"
    options: dict[str, Any] = {"tasks": [task], "prompting": "plain", "scoring": "logprob", "limit": items}
    options |= {"seed": 0, "out": str(folder / "run")}
    if hf_weights is None:
        options |= {"provider": "local", "weights": weights}
    else:
        options |= {"provider": "hf", "cache_dir": str(folder / "cache")}
    options_path = folder / "bench-options.json"
    options_path.write_text(json.dumps(options, indent=2) + "\n", encoding="utf-8")
    command = script("timed_bench", str(timings_path), str(options_path))
    cache = hf_weights if hf_weights is not None else folder / "cache"
    command_s = run_logged(command, folder / "bench.log", {"BENCH_CACHE_DIR": str(cache)})
    timings = json.loads(timings_path.read_text(encoding="utf-8"))
    timings["command_s"] = command_s
    samples = read_jsonl(folder / "run" / "samples.jsonl")
    samples.sort(key=lambda s: int(s["item_id"]) if s["item_id"].isdigit() else s["item_id"])
    return {"timings": timings, "samples": samples}


def lmeval_yaml(name: str, data: Path) -> str:
    """An lm-evaluation-harness task for a prize JSONL file: the prompt is the context, each class a
    continuation right after it (no delimiter), scored by summed log-likelihood."""
    return (
        f"task: {name}\n"
        "dataset_path: json\n"
        "dataset_kwargs:\n"
        "  data_files:\n"
        f"    test: {json.dumps(str(data))}\n"
        "test_split: test\n"
        "output_type: multiple_choice\n"
        "doc_to_text: prompt\n"
        "doc_to_choice: classes\n"
        "doc_to_target: answer_index\n"
        'target_delimiter: ""\n'
        "metric_list:\n"
        "  - metric: acc\n"
        "    aggregation: mean\n"
        "    higher_is_better: true\n"
    )


def run_lmeval(name: str, data: Path, model: Path, folder: Path, reuse: bool = False) -> dict[str, Any]:
    """`lm_eval run --model hf` (through perf/timed_lmeval.py) on the task file; timings and per-item
    class log-likelihoods in document order. `reuse` (--resume): a run of lm_eval that finished in
    `folder` before is read back, not run again."""
    tasks_dir = folder / "lmeval-tasks"
    tasks_dir.mkdir(parents=True, exist_ok=True)
    (tasks_dir / f"{name}.yaml").write_text(lmeval_yaml(name, data), encoding="utf-8")
    timings_path = folder / "lmeval-timings.json"
    output = folder / "lmeval-output"
    if reuse and timings_path.exists():
        log(f"{name}: lm_eval's finished run reused from {folder}")
        return read_lmeval(name, folder)
    command = [str(LMEVAL_VENV / "bin" / "python"), "-m", "perf.timed_lmeval", str(timings_path), "run"]
    command += [
        "--model",
        "hf",
        "--model_args",
        f"pretrained={model.parent},gguf_file={model.name},dtype=float32",
    ]
    command += ["--tasks", name, "--include_path", str(tasks_dir), "--batch_size", str(BATCH_SIZE)]
    command += ["--device", "cpu", "--output_path", str(output), "--log_samples"]
    offline = {"HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    offline["HF_DATASETS_CACHE"] = str(folder / "hf-datasets")
    command_s = run_logged(command, folder / "lmeval.log", offline)
    timings = json.loads(timings_path.read_text(encoding="utf-8"))
    timings["command_s"] = command_s
    timings_path.write_text(json.dumps(timings, indent=2) + "\n", encoding="utf-8")
    return read_lmeval(name, folder)


def read_lmeval(name: str, folder: Path) -> dict[str, Any]:
    """lm_eval's timings and per-item class log-likelihoods (document order) from its output folder."""
    timings = json.loads((folder / "lmeval-timings.json").read_text(encoding="utf-8"))
    # Saved with the timings since; before, only the wrapper's own wall time (imports excluded) was.
    timings.setdefault("command_s", timings["wall_s"] + timings["import_s"])
    output = folder / "lmeval-output"
    samples_files = sorted(output.rglob(f"samples_{name}_*.jsonl"))
    results_files = sorted(output.rglob("results_*.json"))
    if not samples_files or not results_files:
        raise SystemExit(f"lm_eval wrote no samples or results under {output}")
    docs = sorted(read_jsonl(samples_files[-1]), key=lambda s: s["doc_id"])
    results = json.loads(results_files[-1].read_text(encoding="utf-8"))
    timings["total_evaluation_time_seconds"] = float(results.get("total_evaluation_time_seconds", "nan"))
    return {
        "timings": timings,
        "prompts": [d["doc"]["prompt"] for d in docs],
        "contexts": [d["arguments"]["gen_args_0"]["arg_0"] for d in docs],
        "logprobs": [[float(r[0]) for r in d["filtered_resps"]] for d in docs],
        "versions": results.get("versions", {}),
    }


# -- the run ----------------------------------------------------------------------------------------


def machine() -> dict[str, str]:
    cpu = platform.processor() or platform.machine()
    memory = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                memory = f"{int(line.split()[1]) / 2**20:.0f} GiB"
                break
    except OSError:
        pass
    return {"cpu": cpu, "cores": str(os.cpu_count()), "memory": memory, "os": platform.platform()}


def versions() -> dict[str, str]:
    import importlib.metadata as metadata

    found = {"bench": metadata.version("bench"), "llama-cpp-python": metadata.version("llama_cpp_python")}
    marker = LMEVAL_VENV / ".bench-perf-ready"
    for pair in marker.read_text(encoding="utf-8").split() if marker.exists() else []:
        name, _, version = pair.partition("==")
        found[name] = version
    return found


def setup_lmeval() -> float:
    start = time.perf_counter()
    subprocess.run(["bash", str(PERF / "setup_lmeval.sh"), sys.executable], check=True, cwd=ROOT)
    return time.perf_counter() - start
