"""Parameter counts written the way people write them: 270M, 1.3B, 7e9."""

from __future__ import annotations

import math
import re

from benchmark.errors import UsageError

_SUFFIX = {"": 1, "k": 10**3, "m": 10**6, "b": 10**9, "t": 10**12}
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?(?:e\d+)?)\s*([kmbt]?)\s*$", re.IGNORECASE)
MAX_PARAMS = 10**15
"""The largest parameter count bench accepts (a thousand times today's largest models): beyond it a
number is a typo, and it would not fit the plots' float arithmetic."""
MAX_RANK = 1000
"""The largest size rank (families of undisclosed sizes): one tick per rank on the plot's axis."""


def parse_size(text: str) -> int:
    match = _SIZE.match(text)
    value = float(match.group(1)) * _SUFFIX[match.group(2).lower()] if match else math.inf
    if not math.isfinite(value):  # no match, or too many digits for a float ("1e999")
        raise UsageError(f"cannot read {text[:40]!r} as a parameter count (examples: 270M, 1.3B, 7e9)")
    if value < 1:  # 0, 0B, 0.4: no model has fewer than one parameter, and a log axis has no place for 0
        raise UsageError(f"parameter count {text[:40]!r} is below 1; give a size such as 270M or 1.3B")
    if value > MAX_PARAMS:
        raise UsageError(f"parameter count {text[:40]!r} is larger than {MAX_PARAMS:.0e}".replace("+", ""))
    return int(round(value))


def format_size(params: float | None) -> str:
    """A parameter count as people write it: 70426624 -> '70.4M', 1.3e9 -> '1.3B'; '?' when unknown."""
    if params is None:
        return "?"
    for suffix, scale in (("T", 1e12), ("B", 1e9), ("M", 1e6), ("K", 1e3)):
        if abs(params) >= scale:
            return f"{params / scale:.3g}{suffix}"
    return f"{params:.3g}"
