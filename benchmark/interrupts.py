"""Ctrl-C during `bench run`: the first stops the run cleanly and says so at once, a second stops the
process at once."""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections.abc import Iterator

from benchmark.rundir import SAMPLES, RunDir
from benchmark.runner import Runner
from benchmark.terminal import RichProgress, plain


@contextlib.contextmanager
def interrupts(runner: Runner, run_dir: RunDir, progress: RichProgress, resume_hint: str) -> Iterator[None]:
    """Ctrl-C while the run goes on. The first says at once that the run is stopping and stops it (the
    model's current call ends first: an engine's call cannot be cut short, and takes seconds on a
    slow machine); a second stops at once: every finished sample is already on disk (each is flushed
    as it is written, each cached answer committed), so the process ends there, without waiting for
    the engine or freeing it under a call still running in its thread.

    The messages go to the terminal even while a model loads, when llama.cpp's loader has stderr
    (descriptor 2) pointed at a file to keep its log out of sight: they are written to a copy of
    descriptor 2 taken here, with `os.write`, never through `sys.stderr`, whose writer the handler may
    have interrupted mid-write (writing to it again would raise)."""
    if threading.current_thread() is not threading.main_thread():
        yield  # signals reach the main thread only
        return
    terminal = os.dup(2)
    count = 0

    def write(text: str) -> None:
        with contextlib.suppress(OSError):
            os.write(terminal, text.encode("utf-8", "replace"))

    def on_interrupt(signum: int, frame: object) -> None:
        nonlocal count
        count += 1
        if count == 1:
            message = (
                "stopping: the samples taken so far are kept; waiting for the model's current call to "
                "end (Ctrl-C again stops at once)"
            )
            runner.stop()
            if _same_file(2, terminal):
                try:
                    progress.say(message)  # above the bar
                    return
                except RuntimeError:  # the handler interrupted a write to sys.stderr
                    pass
            write(message + "\n")
            return
        # No cleanup here: the handler may have interrupted any of it. Each sample line was flushed to
        # the operating system as it was written, so what is on disk survives the process.
        try:
            if os.isatty(terminal):
                write("\x1b[?25h\n")  # the bar hid the cursor; nothing will show it again
            kept = _lines(run_dir.path / SAMPLES)
            saved = f"{kept} samples are saved" if kept is not None else "the samples taken are saved"
            write(plain(f"stopped: {saved} in {run_dir.path}; finish the run with: {resume_hint}") + "\n")
        finally:
            os._exit(130)

    previous = signal.signal(signal.SIGINT, on_interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous if previous is not None else signal.SIG_DFL)
        os.close(terminal)


def _same_file(fd: int, other: int) -> bool:
    try:
        a, b = os.fstat(fd), os.fstat(other)
    except OSError:
        return False
    return (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino)


def _lines(path: os.PathLike[str]) -> int | None:
    """Complete lines in a file, counted without parsing them (a torn last line is not one)."""
    try:
        with open(path, "rb") as file:
            return sum(chunk.count(b"\n") for chunk in iter(lambda: file.read(1 << 20), b""))
    except OSError:
        return None
