"""`python -m tests.helpers.serve_llama PARENT_PID --config_file FILE`: llama-cpp-python's
OpenAI-compatible server, loading its models with bench's engine settings for this llama.cpp build
(providers/llama_engine.py: no AMX kernels on a build that has them; benchmark/engine_threads.py: how its
threads wait), and gone within a second of the
process PARENT_PID: a test run killed, or dead of a crash, never leaves a server holding its port and
memory."""

from __future__ import annotations

import os
import sys
import threading
import time


def _exit_with(parent: int) -> None:
    while os.getppid() == parent:  # once the parent is gone, this process is adopted by another
        time.sleep(0.2)
    os._exit(0)


def main() -> None:
    parent = int(sys.argv[1])
    threading.Thread(target=_exit_with, args=(parent,), daemon=True).start()
    # bench first (through providers): it sets how the engine's threads wait before llama_cpp loads its
    # OpenMP runtime (benchmark/engine_threads.py), whatever environment this process was started with.
    from providers.llama_engine import use_everywhere

    from llama_cpp.server.__main__ import main as serve  # isort: skip

    use_everywhere()
    sys.argv = ["llama_cpp.server", *sys.argv[2:]]
    serve()


if __name__ == "__main__":
    main()
