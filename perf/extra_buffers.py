"""What llama.cpp's extra buffer types (weight repacking, and AMX kernels on builds that have them) are
worth on this machine: prompt and generated tokens/s of the packaged Gemma-3-270M with them on and off.

Run from the repository root with bench's virtual environment (about three minutes):

    .venv/bin/python -m perf.extra_buffers
    .venv/bin/python -m perf.extra_buffers --rounds 5 --model other.gguf

bench turns them off on a llama.cpp build with AMX kernels (providers/llama_engine.py: those kernels can
die with SIGILL) and keeps llama.cpp's default (on) everywhere else. Each measurement runs in a fresh
process (the setting is taken at load), the two settings alternate for `--rounds` rounds, and the
medians are compared. Prompt: one 1,024-token sequence evaluated from an empty context (three repeats
per process); generation: 128 tokens greedily, one at a time (three repeats).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess

from perf._lib import ROOT, script
from perf._lib.llama_raw import decode_throughput, load, prompt_throughput
from perf._lib.machine import cpu

SETTINGS = ("on", "off")


def child(model: str | None) -> None:
    """One measurement, with BENCH_LLAMA_EXTRA_BUFFERS as the parent set it; prints one JSON line."""
    import tasks
    from providers.local_model import resolve_model

    llm, load_s = load(resolve_model(model))
    texts = [i.prompt for i in tasks.create("hindsight_neglect").instances(1, 20, "plain")]
    prompt = prompt_throughput(llm, texts).tokens_per_s
    generated = decode_throughput(llm, texts[0][-400:]).tokens_per_s
    print(json.dumps({"prompt": prompt, "generated": generated, "load_s": load_s}))


def measure(setting: str, model: str | None) -> dict[str, float]:
    env = {**os.environ, "BENCH_LLAMA_EXTRA_BUFFERS": setting}
    command = script("extra_buffers", "--child", *(["--model", model] if model else []))
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds (default 3)")
    parser.add_argument("--model", help="a GGUF file (default: the packaged Gemma-3-270M Q4_K_M)")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.model)
        return
    from providers.llama_engine import settings, system_info

    print(f"CPU: {cpu()}; model: {args.model or 'packaged Gemma-3-270M Q4_K_M'}")
    print(f"llama.cpp build: {system_info().strip()}")
    print(f"bench's choice for this build: extra buffers {'on' if settings().extra_buffers else 'off'}")
    runs: dict[str, list[dict[str, float]]] = {s: [] for s in SETTINGS}
    for round_ in range(args.rounds):
        for setting in SETTINGS if round_ % 2 == 0 else SETTINGS[::-1]:
            runs[setting].append(measure(setting, args.model))
            last = runs[setting][-1]
            print(
                f"  round {round_ + 1}, extra buffers {setting}: prompt {last['prompt']:.0f} tokens/s, "
                f"generated {last['generated']:.1f} tokens/s",
                flush=True,
            )
    medians = {
        s: {k: statistics.median(r[k] for r in runs[s]) for k in ("prompt", "generated")} for s in SETTINGS
    }
    for kind, unit in (("prompt", "prompt tokens/s"), ("generated", "generated tokens/s")):
        on, off = medians["on"][kind], medians["off"][kind]
        print(f"{unit}: on {on:.1f}, off {off:.1f} (medians of {args.rounds}); off/on = {off / on:.2f}")


if __name__ == "__main__":
    main()
