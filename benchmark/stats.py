"""Statistics as pure functions."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np

BOOTSTRAP_RESAMPLES = 4000


def stable_seed(*parts: object) -> int:
    """A 63-bit seed from the given parts, the same on every machine and every Python run."""
    digest = hashlib.sha256("\x1f".join(map(str, parts)).encode()).digest()
    return int.from_bytes(digest[:8], "big") >> 1


def bootstrap_accuracy_ci(
    correct: Sequence[bool], seed: int, level: float = 0.95, resamples: int = BOOTSTRAP_RESAMPLES
) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean of 0/1 outcomes, resampling items with replacement.

    For 0/1 outcomes the number correct in a resample of n items is Binomial(n, k/n), so the resamples
    are drawn from that distribution directly (the same distribution, without an n-by-B index matrix).
    """
    n = len(correct)
    if n == 0:
        raise ValueError("no outcomes to resample")
    p = sum(bool(c) for c in correct) / n
    rng = np.random.default_rng(seed)
    means = rng.binomial(n, p, size=resamples) / n
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(means, [tail, 100 - tail])
    return (float(low), float(high))
