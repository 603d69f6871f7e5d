"""The machine a perf/ figure was measured on (its CPU, its load), as the scripts print it beside their
figures, and what a measured process took (its peak memory)."""

from __future__ import annotations

import os
from pathlib import Path


def cpu() -> str:
    """The CPU's model name, the vector units that decide which kernels run (AVX2, AVX-512, and AMX or
    not), and the CPUs the machine has: 'AMD EPYC 9R14 (AVX2, AVX-512, no AMX), 2 CPUs'."""
    try:
        lines = Path("/proc/cpuinfo").read_text(errors="replace").splitlines()
    except OSError:
        return f"unknown CPU, {os.cpu_count()} CPUs"
    name = next((line.split(":", 1)[1].strip() for line in lines if line.startswith("model name")), "?")
    flags = next((line.split(":", 1)[1].split() for line in lines if line.startswith("flags")), [])
    units = [unit for unit, flag in (("AVX2", "avx2"), ("AVX-512", "avx512f")) if flag in flags]
    units.append("AMX" if "amx_tile" in flags else "no AMX")
    return f"{name} ({', '.join(units)}), {os.cpu_count()} CPUs"


def load_average() -> float:
    """The machine's one-minute load average (0.0 where the system has none)."""
    try:
        return os.getloadavg()[0]
    except OSError:
        return 0.0


def peak_rss_mb() -> float | None:
    """This process's peak resident memory since its exec: /proc's VmHWM; None where there is no /proc.
    (Not getrusage: its ru_maxrss also counts the parent's memory, which a forked child shared before
    exec.)"""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024  # kB
    except OSError:
        pass
    return None
