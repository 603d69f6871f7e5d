"""The numbers perf/compare_lmeval.py prints: item-level comparison of two tools' class log-probs, the
text per workload, and the Markdown table for docs/performance.md (also `compare_lmeval.py --table
RESULTS.json`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

NEAR_TIE = 0.5
"""Nats: a disagreement between the tools is a near-tie when both tools' margins are below this."""


def _argmax(values: Sequence[float]) -> int:
    """The first largest (bench's rule, and lm-evaluation-harness's np.argmax)."""
    return max(range(len(values)), key=lambda i: values[i])


def compare_choices(
    lmeval: Sequence[Sequence[float]], bench: Sequence[Sequence[float]], answers: Sequence[int]
) -> dict[str, Any]:
    """Agreement of the predicted class item by item, the margins of the disagreements in each tool's
    own scores (how much each tool prefers its class over the other tool's), accuracies, and how far the
    two tools' class log-probs are apart."""
    disagreements = []
    differences = []
    for index, (lm, be) in enumerate(zip(lmeval, bench, strict=True)):
        differences += [abs(a - b) for a, b in zip(lm, be, strict=True)]
        lm_pick, bench_pick = _argmax(lm), _argmax(be)
        if lm_pick != bench_pick:
            disagreements.append(
                {
                    "item": index,
                    "lmeval_margin": lm[lm_pick] - lm[bench_pick],
                    "bench_margin": be[bench_pick] - be[lm_pick],
                }
            )
    items = len(answers)
    return {
        "agreement": (items - len(disagreements)) / items,
        "disagreements": disagreements,
        "max_margin_lmeval": max((d["lmeval_margin"] for d in disagreements), default=0.0),
        "max_margin_bench": max((d["bench_margin"] for d in disagreements), default=0.0),
        "accuracy_lmeval": sum(_argmax(lm) == a for lm, a in zip(lmeval, answers, strict=True)) / items,
        "accuracy_bench": sum(_argmax(be) == a for be, a in zip(bench, answers, strict=True)) / items,
        "max_abs_diff": max(differences),
        "mean_abs_diff": sum(differences) / len(differences),
    }


def _s(seconds: float) -> str:
    return f"{seconds:.1f} s" if seconds >= 10 else f"{seconds:.2f} s"


def _pct(value: float) -> str:
    return f"{100 * value:.1f}%"


def _tps(throughput: dict[str, float]) -> str:
    """Mean of llama.cpp's prompt throughput right before and right after bench's run."""
    return (
        f"{throughput['tokens_per_s']:,.0f} tokens/s (llama.cpp prompt throughput, mean of "
        f"{throughput['before']:,.0f} before and {throughput['after']:,.0f} after bench's run)"
    )


def _runs(seconds: Sequence[float]) -> str:
    if len(seconds) == 1:
        return "one run"
    return f"fastest of {len(seconds)} alternating runs: {', '.join(_s(x) for x in seconds)}"


def _loads(values: Sequence[float]) -> str:
    return ", ".join(f"{x:.2f}" for x in values)


def _rss(timings: dict[str, Any]) -> str:
    """bench's peak resident memory, where the run recorded it."""
    return f"; bench peak memory {timings['peak_rss_mb']:,.0f} MB" if "peak_rss_mb" in timings else ""


def _mark(ok: bool) -> str:
    return "met" if ok else "NOT met"


def choice_text(w: dict[str, Any]) -> list[str]:
    bt, lt = w["bench_timings"], w["lmeval_timings"]
    items = w["items"]
    agree = round(w["agreement"] * items)
    ratio = lt["loglikelihood_s"] / bt["eval_s"]
    floor_ratio = bt["eval_s"] / w["floor_s"]
    near = w["max_margin_lmeval"] < NEAR_TIE and w["max_margin_bench"] < NEAR_TIE
    lines = [
        f"agreement of the predicted class: {agree}/{items} = {_pct(w['agreement'])} "
        f"(target >= 98.5%: {_mark(w['agreement'] >= 0.985)})",
        f"disagreements: {len(w['disagreements'])}; largest margin among them: lm-eval "
        f"{w['max_margin_lmeval']:.3f} nats, bench {w['max_margin_bench']:.3f} nats "
        f"(target < {NEAR_TIE} in both: {_mark(near)})",
        f"accuracy: lm-eval {_pct(w['accuracy_lmeval'])}, bench {_pct(w['accuracy_bench'])}",
        f"class log-probs, |bench - lm-eval|: max {w['max_abs_diff']:.3f} nats, "
        f"mean {w['mean_abs_diff']:.3f} nats",
        f"evaluation: lm-eval {_s(lt['loglikelihood_s'])} ({w['requests']} log-likelihood requests, "
        f"batch 8), bench {_s(bt['eval_s'])}; bench {ratio:.1f}x faster (target >= 5x: {_mark(ratio >= 5)})",
        f"model load: lm-eval {_s(lt['load_s'])}, bench {_s(bt['load_s'])}{_rss(bt)}",
        f"whole command: lm-eval {_s(lt['command_s'])}, bench {_s(bt['command_s'])}",
        f"tokens through the model: lm-eval {w['tokens']['lmeval']:,}, bench {w['tokens']['bench']:,}",
        f"engine floor: {w['tokens']['bench']:,} tokens / {_tps(w['throughput'])} = "
        f"{_s(w['floor_s'])}; bench takes {floor_ratio:.2f}x the floor "
        f"(target <= 1.5x: {_mark(floor_ratio <= 1.5)})",
    ]
    if "f32_run" in w:
        f = w["f32_run"]
        ft = f["timings"]
        f_ratio, f_floor = lt["loglikelihood_s"] / ft["eval_s"], ft["eval_s"] / f["floor_s"]
        f_near = f["max_margin_lmeval"] < NEAR_TIE and f["max_margin_bench"] < NEAR_TIE
        n = f["native_vs_f32"]
        lines += [
            "bench --weights f32 (the GGUF dequantized to float32 by llama.cpp, as transformers does for "
            "lm-eval):",
            f"  agreement {round(f['agreement'] * items)}/{items} = {_pct(f['agreement'])} "
            f"(target >= 98.5%: {_mark(f['agreement'] >= 0.985)}); {len(f['disagreements'])} "
            f"disagreements, largest margin lm-eval {f['max_margin_lmeval']:.3f} nats, bench "
            f"{f['max_margin_bench']:.3f} nats (target < {NEAR_TIE} in both: {_mark(f_near)})",
            f"  accuracy {_pct(f['accuracy_bench'])}; class log-probs, |bench - lm-eval|: max "
            f"{f['max_abs_diff']:.4f} nats, mean {f['mean_abs_diff']:.4f} nats",
            f"  evaluation {_s(ft['eval_s'])}; {f_ratio:.1f}x faster than lm-eval "
            f"(target >= 5x: {_mark(f_ratio >= 5)}); model load {_s(ft['load_s'])} (float32 copy made "
            f"in it){_rss(ft)}",
            f"  engine floor: {w['tokens']['bench']:,} tokens / {_tps(f['throughput'])} = "
            f"{_s(f['floor_s'])}; {f_floor:.2f}x the floor (target <= 1.5x: {_mark(f_floor <= 1.5)})",
            f"  native against f32 weights: same class on {_pct(n['agreement'])} of items; class "
            f"log-probs apart by max {n['max_abs_diff']:.3f}, mean {n['mean_abs_diff']:.3f} nats",
        ]
    if "hf_run" in w:
        lines += hf_text(w)
    if "file_run" in w:
        f = w["file_run"]
        ft = f["timings"]
        lines.append(
            f"bench on the prize JSONL file itself (no shared-prefix hint, every prompt evaluated whole): "
            f"evaluation {_s(ft['eval_s'])}, {lt['loglikelihood_s'] / ft['eval_s']:.1f}x faster than "
            f"lm-eval, floor {_s(f['floor_s'])} ({f['tokens']:,} tokens), "
            f"{ft['eval_s'] / f['floor_s']:.2f}x the floor, agreement {_pct(f['agreement'])}"
        )
    return lines


TIE = 1e-3
"""Nats: bench --provider hf and lm-eval compute the same float32 numbers with the same library, so a
disagreement must be a tie in both tools' scores."""
HF_SPEED = {"trap": 5.0, "zeroshot": 1.3}
"""How much faster than lm-eval `--model hf` bench --provider hf is to be, per workload."""


def hf_text(w: dict[str, Any]) -> list[str]:
    """bench --provider hf (transformers, float32) against lm-eval's hf model on the same items."""
    f, lt = w["hf_run"], w["lmeval_timings"]
    ft = f["timings"]
    items = w["items"]
    ratio = lt["loglikelihood_s"] / ft["eval_s"]
    target = HF_SPEED.get(w["key"], 1.0)
    ties = f["max_margin_lmeval"] <= TIE and f["max_margin_bench"] <= TIE
    convert = f"; the GGUF converted for transformers in {_s(ft['convert_s'])}" if ft.get("convert_s") else ""
    return [
        "bench --provider hf (transformers, float32, the same library as lm-eval's hf model):",
        f"  agreement {round(f['agreement'] * items)}/{items} = {_pct(f['agreement'])} "
        f"(target >= 99.5%: {_mark(f['agreement'] >= 0.995)}); {len(f['disagreements'])} disagreements, "
        f"largest margin lm-eval {f['max_margin_lmeval']:.4f}, bench {f['max_margin_bench']:.4f} nats "
        f"(target: ties, <= {TIE}: {_mark(ties)})",
        f"  accuracy {_pct(f['accuracy_bench'])}; class log-probs, |bench - lm-eval|: max "
        f"{f['max_abs_diff']:.5f}, mean {f['mean_abs_diff']:.5f} nats",
        f"  evaluation {_s(ft['eval_s'])}; {ratio:.1f}x faster than lm-eval (target >= {target:g}x: "
        f"{_mark(ratio >= target)}); model load {_s(ft['load_s'])} (target <= 10 s: "
        f"{_mark(ft['load_s'] <= 10)}){convert}{_rss(ft)}",
    ]


def arith_text(w: dict[str, Any]) -> list[str]:
    bt = w["bench_timings"]
    generation_path = bt["eval_s"] - bt["score_s"]
    overhead = generation_path / w["raw_s"] - 1
    return [
        f"raw llama.cpp (prompt in bench's pieces, then greedy create_completion with the same max_tokens "
        f"and stop): {_s(w['raw_s'])} ({_runs(w['raw_runs_s'])}), {w['raw_tokens']:,} tokens generated",
        f"bench: evaluation {_s(bt['eval_s'])}, of which target log-prob scoring {_s(bt['score_s'])}, "
        f"so generation {_s(generation_path)} ({_runs(w.get('bench_runs_s', [generation_path]))}); "
        f"{w['bench_tokens']:,} tokens generated",
        f"identical generated text: {w['same_text']}/{w['items']} (raw runs alike: {w['raw_runs_agree']})",
        f"bench's overhead over raw llama.cpp generation: {100 * overhead:+.1f}% "
        f"(target <= 10%: {_mark(overhead <= 0.10)}); with the target log-prob scoring: "
        f"{100 * (bt['eval_s'] / w['raw_s'] - 1):+.1f}%; inside the engine's generation calls alone: "
        f"{_s(bt['generate_s'])} ({100 * (bt['generate_s'] / w['raw_s'] - 1):+.1f}%)",
        f"raw create_completion alone (llama-cpp-python's own prefix reuse, other batch shapes): "
        f"{_s(w['plain']['seconds'])}, {w['plain']['tokens']:,} tokens generated, text identical to "
        f"bench's on {w['plain']['same_text']}/{w['items']} (llama.cpp's numbers shift with batch shape)",
        f"bench exact-match accuracy: {_pct(w['bench_accuracy'])}",
        f"model load: bench {_s(bt['load_s'])}; whole bench command {_s(bt['command_s'])}",
    ]


def workload_text(w: dict[str, Any]) -> str:
    head = (
        f"== {w['key']}: {w['title']}, {w['items']} items (bench --task {w['bench_task']} --prompting plain)"
    )
    return "\n".join([head, *(arith_text(w) if w["key"] == "arith" else choice_text(w))])


def header_text(run: dict[str, Any]) -> str:
    m, v, t = run["machine"], run["versions"], run["throughput"]
    return "\n".join(
        [
            f"machine: {m['cpu']}, {m['cores']} cores, {m['memory']}; {m['os']}",
            f"model: {run['model']} (Gemma-3-270M, Q4_K_M)",
            f"bench {v.get('bench', '?')} with llama-cpp-python {v.get('llama-cpp-python', '?')}; lm-eval "
            f"{v.get('lm-eval', '?')} --model hf (transformers {v.get('transformers', '?')}, gguf "
            f"{v.get('gguf', '?')}, torch {v.get('torch', '?')}, float32, batch 8, CPU)",
            f"llama.cpp prompt throughput at the start: {t['tokens_per_s']:,.0f} tokens/s (one "
            f"{t['tokens']}-token sequence, median of {_loads(t['seconds'])} s); "
            f"raw llama.cpp load {_s(run['raw_load_s'])}",
            *(
                [
                    f"float32 copy (bench --weights f32): made or found in {_s(run['f32']['convert_s'])}, "
                    f"raw load {_s(run['f32']['raw_load_s'])}, prompt throughput "
                    f"{run['f32']['tokens_per_s']:,.0f} tokens/s"
                ]
                if run.get("f32")
                else []
            ),
            f"load average (1, 5, 15 min) at start {_loads(run['load_average_start'])}; "
            f"at end {_loads(run.get('load_average_end', ()))}",
        ]
    )


def full_text(run: dict[str, Any]) -> str:
    parts = [header_text(run), *(workload_text(w) for w in run["workloads"]), markdown_table(run)]
    total = f"whole run: {_s(run['total_s'])} (lm-eval venv check/setup {_s(run['setup_s'])})"
    return "\n\n".join([*parts, total])


def _choice_row(
    label: str, w: dict[str, Any], timings: dict[str, Any], run: dict[str, Any], other_load: str
) -> str:
    """A table row for one bench run of a choice workload `w`: `run` holds its agreement and floor."""
    other = w["lmeval_timings"]["loglikelihood_s"]
    return (
        f"| {label} | {w['items']} | {_s(timings['eval_s'])} | lm-eval hf | {_s(other)} "
        f"| {other / timings['eval_s']:.1f}× faster | {_pct(run['agreement'])} "
        f"| {timings['eval_s'] / run['floor_s']:.2f}× | {_s(timings['load_s'])} / {other_load} |"
    )


def markdown_table(run: dict[str, Any]) -> str:
    m, v = run["machine"], run["versions"]
    caption = (
        f"Machine: {m['cpu']}, {m['cores']} cores, {m['memory']}. Model: Gemma-3-270M Q4_K_M "
        f"(`{run['model']}`); bench {v.get('bench', '?')} on llama-cpp-python "
        f"{v.get('llama-cpp-python', '?')}; "
        f"lm-eval {v.get('lm-eval', '?')} `--model hf` on the same GGUF dequantized to float32 by "
        f"transformers {v.get('transformers', '?')} (torch {v.get('torch', '?')}, batch 8). "
        "Times are evaluation only; model loads in the last column."
    )
    rows = [
        "| workload | items | bench | compared with | its time | bench speed | agreement "
        "| bench ÷ engine floor | model load: bench / other |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for w in run["workloads"]:
        bt = w["bench_timings"]
        if w["key"] == "arith":
            generation = bt["eval_s"] - bt["score_s"]
            rows.append(
                f"| {w['title']} | {w['items']} | {_s(generation)} | raw llama.cpp | {_s(w['raw_s'])} "
                f"| {100 * (generation / w['raw_s'] - 1):+.1f}% time "
                f"| {w['same_text']}/{w['items']} identical | – "
                f"| {_s(bt['load_s'])} / {_s(run['raw_load_s'])} |"
            )
            continue
        lt = w["lmeval_timings"]
        rows.append(_choice_row(w["title"], w, bt, w, _s(lt["load_s"])))
        if "f32_run" in w:
            f = w["f32_run"]
            label = "… bench `--weights f32` (float32, as lm-eval)"
            rows.append(_choice_row(label, w, f["timings"], f, _s(lt["load_s"])))
        if "hf_run" in w:
            f = w["hf_run"]
            other, hf_eval = lt["loglikelihood_s"], f["timings"]["eval_s"]
            rows.append(
                f"| … bench `--provider hf` (transformers, float32) | {w['items']} | {_s(hf_eval)} "
                "| lm-eval hf "
                f"| {_s(other)} | {other / hf_eval:.1f}× faster | {_pct(f['agreement'])} | – "
                f"| {_s(f['timings']['load_s'])} / {_s(lt['load_s'])} |"
            )
        if "file_run" in w:
            f = w["file_run"]
            rows.append(
                _choice_row("… bench on the exported JSONL (no shared prefix)", w, f["timings"], f, "–")
            )
    return caption + "\n\n" + "\n".join(rows)


def results_markdown(run: dict[str, Any], text: str) -> str:
    return "\n".join(
        [
            "# bench beside lm-evaluation-harness and raw llama.cpp",
            "",
            f"Written by `.venv/bin/python {run['command']}` on {run['date']} (UTC); the same command "
            "regenerates it, and `.venv/bin/python -m perf.compare_lmeval --table perf/results.json` "
            "reprints the table. See perf/README.md for what is measured. Timings come from one run on a "
            "shared 2-core machine (other work ran now and then: see the load averages), so they are noisy "
            "by some percent.",
            "",
            "## Table (for docs/performance.md)",
            "",
            markdown_table(run),
            "",
            "## Printed output",
            "",
            "```",
            text,
            "```",
            "",
        ]
    )
