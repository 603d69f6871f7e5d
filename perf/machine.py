"""The machine a perf/ figure was measured on, as the scripts print it beside their figures."""

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
