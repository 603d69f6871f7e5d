"""perf/: scripts that measure bench and print ratios from one run (perf/README.md). Each is run from the
repository root as a module, `python -m perf.NAME` (or `PYTHONPATH=$PWD python perf/NAME.py`); what
they share is in perf/_lib/."""
