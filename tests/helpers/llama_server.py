"""llama-cpp-python's OpenAI-compatible server, started on 127.0.0.1 for the tests that need a real
server (and stopped after them)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from benchmark.engine_threads import usable_cpus

RAW_TEMPLATE = {
    "chat_template": "{{ bos_token }}{{ messages[0]['content'] }}",
    "bos_token": "<bos>",
    "eos_token": "<eos>",
}
"""A chat template that is the user's message itself, for llama-cpp-python's `hf-tokenizer-config`
chat format: the chat endpoint then sees exactly the prompt the completions endpoint sees (none of
llama-cpp-python's named chat formats is template-free)."""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def llama_server(model: str, folder: Path) -> Iterator[str]:
    """llama-cpp-python's server with one GGUF under two names: `gemma` (the chat template from the
    GGUF, --logits_all true for prompt log-probs) and `gemma-raw` (no chat template). The server holds
    one model at a time and reloads when the other name is asked for (about a second). Yields the
    base URL (`http://127.0.0.1:PORT/v1`); `folder` gets its config and log."""
    (folder / "raw_template.json").write_text(json.dumps(RAW_TEMPLATE))
    threads = usable_cpus()  # the CPUs this process may use, as bench's own engines count them
    common = {"model": model, "n_ctx": 4096, "n_threads": threads, "n_threads_batch": threads}
    common |= {"seed": 0, "verbose": False}
    port = _free_port()
    config = {
        "host": "127.0.0.1",
        "port": port,
        "models": [
            {**common, "model_alias": "gemma", "logits_all": True},
            {
                **common,
                "model_alias": "gemma-raw",
                "logits_all": False,
                "chat_format": "hf-tokenizer-config",
                "hf_tokenizer_config_path": str(folder / "raw_template.json"),
            },
        ],
    }
    (folder / "config.json").write_text(json.dumps(config))
    log = open(folder / "server.log", "wb")  # noqa: SIM115 - closed below
    # Through serve_llama: this build's engine settings, and the server ends with the test process.
    command = [sys.executable, "-m", "tests.helpers.serve_llama", str(os.getpid())]
    command += ["--config_file", str(folder / "config.json")]
    root = str(Path(__file__).resolve().parents[2])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH")) if p)}
    proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True, env=env)
    base = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"llama.cpp server exited: {(folder / 'server.log').read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(f"{base}/models", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("llama.cpp server did not answer /v1/models within 60 s")
            time.sleep(0.5)
        yield base
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=15)
        log.close()
