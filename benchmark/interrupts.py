"""Ctrl-C during `bench run`: the first stops the run cleanly and says so at once, a second stops the
process at once."""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
from collections.abc import Iterator

from benchmark.rundir import RunDir
from benchmark.runner import Runner
from benchmark.terminal import RichProgress, plain


@contextlib.contextmanager
def interrupts(runner: Runner, run_dir: RunDir, progress: RichProgress, resume_hint: str) -> Iterator[None]:
    """Ctrl-C while the run goes on. The first says at once that the run is stopping and stops it (the
    model's current call ends first: an engine's call cannot be cut short, and takes seconds on a
    slow machine); a second stops at once: every finished sample is already on disk (each is flushed
    as it is written, each cached answer committed), so the process ends there, without waiting for
    the engine or freeing it under a call still running in its thread."""
    count = 0

    def on_interrupt(signum: int, frame: object) -> None:
        nonlocal count
        count += 1
        if count == 1:
            progress.say(
                "stopping: the samples taken so far are kept; waiting for the model's current call to "
                "end (Ctrl-C again stops at once)"
            )
            runner.stop()
            return
        # No cleanup here: the handler may have interrupted any of it. Each sample line was flushed to
        # the operating system as it was written, so what is on disk survives the process.
        kept = sum(1 for _ in run_dir.iter_samples())
        if sys.stderr.isatty():
            sys.stderr.write("\x1b[?25h\n")  # the bar hid the cursor; nothing will show it again
        sys.stderr.write(
            plain(f"stopped: {kept} samples are saved in {run_dir.path}; finish the run with: {resume_hint}")
            + "\n"
        )
        sys.stderr.flush()
        os._exit(130)

    if threading.current_thread() is not threading.main_thread():
        yield  # signals reach the main thread only
        return
    previous = signal.signal(signal.SIGINT, on_interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
