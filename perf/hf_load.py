"""How long `--provider hf` takes to load the packaged Gemma-3-270M once it is converted: the engine's
construction (`HFProvider.__init__`: transformers' imports, the tokenizer, the float32 weights), each in a
fresh process, alternating two ways of reading the tokenizer from one run:

- `direct`: the converted copy as bench makes it now, its tokenizer read straight from tokenizer.json
  (`providers.hf_tokenizer.load_tokenizer`: the copy's `bench-source.json` says it was checked);
- `auto`: the same files with that mark taken away, so the tokenizer goes through AutoTokenizer (what
  every copy did before, and what a copy made by an older bench still does).

Usage (bench's virtual environment, the `hf` extra):

    .venv/bin/python -m perf.hf_load [--rounds 3] [--cache DIR]

`--cache` is a bench cache folder holding the converted copy (default: bench's own; the copy is made
there first if missing, which takes a few minutes). It prints each load, the medians and their ratio.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from perf._lib import ROOT

CHILD = """
import json, sys, time
from pathlib import Path
import torch  # imported before the clock starts, as `bench run` has by then (its model checks)
from providers.base import ProviderOptions
from providers.hf import HFProvider
from providers.hf_models import parse
folder = Path(sys.argv[1])
start = time.perf_counter()
engine = HFProvider(folder, parse(None), {}, ProviderOptions())
print(json.dumps({"load_s": time.perf_counter() - start, "tokenizer": type(engine.tokenizer).__name__}))
"""


def converted_copy(cache: Path) -> Path:
    from benchmark.cache import default_cache_dir
    from providers.hf_models import fetch, parse

    os.environ["BENCH_CACHE_DIR"] = str(cache or default_cache_dir())
    folder, _ = fetch(parse(None), Path(os.environ["BENCH_CACHE_DIR"]))
    return folder


def unmarked(folder: Path, into: Path) -> Path:
    """The copy's files (hard links where the file system allows) without the checked-tokenizer mark."""
    target = into / "auto"
    target.mkdir()
    for item in folder.iterdir():
        if item.name == "bench-source.json":
            source = json.loads(item.read_text())
            source.pop("tokenizer", None)
            (target / item.name).write_text(json.dumps(source))
            continue
        try:
            os.link(item, target / item.name)
        except OSError:
            shutil.copy2(item, target / item.name)
    return target


def load(folder: Path) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(folder)], cwd=ROOT, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise SystemExit(f"the load failed:\n{done.stderr[-2000:]}")
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    raw = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=raw)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--cache", type=Path, default=None)
    args = parser.parse_args()
    folder = converted_copy(args.cache)
    from providers.hf_tokenizer import marked

    if not marked(folder):
        raise SystemExit(
            f"{folder} is not marked as checked under the installed transformers and tokenizers (an older "
            "bench converted it, or other versions checked it): delete it to have it converted again"
        )
    times: dict[str, list[float]] = {"direct": [], "auto": []}
    print(f"copy: {folder}; load average {os.getloadavg()}", flush=True)
    with tempfile.TemporaryDirectory(dir=folder.parent) as scratch:
        folders = {"direct": folder, "auto": unmarked(folder, Path(scratch))}
        for round_ in range(args.rounds):
            for name, path in folders.items():
                started = time.perf_counter()
                result = load(path)
                times[name].append(float(str(result["load_s"])))
                print(
                    f"round {round_ + 1} {name}: load {result['load_s']:.2f} s ({result['tokenizer']}; "
                    f"process {time.perf_counter() - started:.1f} s)",
                    flush=True,
                )
    direct, auto = statistics.median(times["direct"]), statistics.median(times["auto"])
    print(f"median load: direct {direct:.2f} s, through AutoTokenizer {auto:.2f} s ({auto / direct:.2f}x)")
    print(f"load average at the end {os.getloadavg()}")


if __name__ == "__main__":
    main()
