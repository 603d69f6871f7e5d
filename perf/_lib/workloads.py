"""The zero-shot workload of compare_lmeval.py and packing.py: hindsight_neglect's own items without
exemplars (`shots=0`), asked with two multi-token classes instead of " Y"/" N" (no shipped task option
gives multi-token classes)."""

from __future__ import annotations

import re

ZEROSHOT_QUESTION = (
    re.compile(r"Did (.+?) make the right decision\? Choose Y or N\."),
    r"Did \1 make the right decision or the wrong decision?",
)
"""The question as the task asks it, and as the workload rewrites it (`re.sub` arguments)."""
ZEROSHOT_CLASSES = [" The right decision", " The wrong decision"]
