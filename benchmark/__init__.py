"""bench: measure how language-model abilities change with model size.

From Python: `benchmark.run(...)` and `benchmark.load_run(path)` (benchmark/api.py)."""

from importlib.metadata import PackageNotFoundError, version

from benchmark import engine_threads as _engine_threads

# First thing, before anything of bench can import an engine: how the engines' OpenMP threads wait is
# read once, when the runtime loads (benchmark/engine_threads.py). Every path to an engine starts here:
# the CLI, `benchmark.run`, the providers package (it imports benchmark), tests, perf/, child processes.
_engine_threads.prepare()

try:
    __version__ = version("bench")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0.0.0+unknown"


__all__ = ["__version__", "load_run", "run"]


def __getattr__(name: str) -> object:
    """`run` and `load_run`, imported when first asked for (`import benchmark` stays light)."""
    if name in ("run", "load_run"):
        from benchmark import api

        return getattr(api, name)
    raise AttributeError(f"module 'benchmark' has no attribute {name!r}")
