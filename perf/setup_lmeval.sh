#!/usr/bin/env bash
# Creates perf/.venv-lmeval: lm-evaluation-harness with its Hugging Face backend on CPU torch, kept apart
# from bench's own virtual environment. Idempotent: a venv whose marker file exists is left as it is.
# Usage: bash perf/setup_lmeval.sh [PYTHON]     (PYTHON defaults to python3; 3.11 or newer)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
venv="$here/.venv-lmeval"
marker="$venv/.bench-perf-ready"
python="${1:-python3}"

if [[ -f "$marker" ]]; then
  echo "perf/.venv-lmeval is ready ($(cat "$marker"))"
  exit 0
fi

start=$(date +%s)
"$python" -m venv "$venv"
"$venv/bin/pip" install --quiet --upgrade pip
# CPU torch first, so that lm-eval's and accelerate's torch requirement is already met. Where PyPI's
# default torch wheel is a CUDA build, set PIP_EXTRA_INDEX_URL to PyTorch's CPU index before running.
"$venv/bin/pip" install --quiet "torch==2.13.0"
"$venv/bin/pip" install --quiet "lm-eval==0.4.13" transformers accelerate gguf
"$venv/bin/python" -c "import importlib.metadata as m; print(' '.join(f'{p}=={m.version(p)}' for p in \
['lm-eval', 'transformers', 'accelerate', 'gguf', 'torch']))" > "$marker"
echo "perf/.venv-lmeval set up in $(( $(date +%s) - start )) s: $(cat "$marker")"
