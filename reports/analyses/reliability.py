"""Calibration as pure functions: class probabilities from log-probs, and the Brier score, expected
calibration error and reliability diagram of a model's confidence in its predictions."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class ReliabilityBin:
    """One bin of a reliability diagram: predictions whose probability lies in [lower, upper)."""

    lower: float
    upper: float
    count: int
    confidence: float
    """Mean probability the model gave its predictions in the bin."""
    accuracy: float
    """Share of those predictions that were right."""


@dataclass(frozen=True)
class Calibration:
    """Brier score and expected calibration error of the predicted class's probability, and the
    non-empty bins behind the ECE (a reliability diagram)."""

    brier: float
    ece: float
    n: int
    bins: tuple[ReliabilityBin, ...] = ()


def class_probabilities(logprobs: Sequence[float]) -> list[float]:
    """Softmax of class log-probabilities (renormalised over the classes given), numerically stable.

    Subtracts the largest log-probability before exponentiating; -inf entries get probability 0.
    """
    values = np.asarray(logprobs, dtype=float)
    if values.size == 0:
        raise ValueError("no log-probabilities")
    if np.isnan(values).any() or np.isposinf(values).any():
        raise ValueError("log-probabilities must be finite or -inf")
    top = values.max()
    if np.isneginf(top):
        raise ValueError("every log-probability is -inf")
    weights = np.exp(values - top)
    return [float(w) for w in weights / weights.sum()]


def calibration(probabilities: Sequence[float], correct: Sequence[bool], bins: int = 10) -> Calibration:
    """Brier score and expected calibration error (ECE) of a model's confidence in its predictions.

    `probabilities[i]` is the probability the model gave to the class it predicted on item i (e.g. the
    largest of `class_probabilities`), `correct[i]` whether that prediction was right (y = 1 or 0).
    Brier = mean((p - y)^2). ECE = sum over bins of (n_b / n) * |mean(y) - mean(p)| in the bin, with
    `bins` equal-width bins over [0, 1] ([0, 1/B), [1/B, 2/B), ..., [(B-1)/B, 1]; empty bins count
    nothing), as in Kadavath et al. 2022, "Language Models (Mostly) Know What They Know". The
    non-empty bins (mean probability against accuracy) are the points of a reliability diagram.
    """
    if len(probabilities) != len(correct):
        raise ValueError(f"{len(probabilities)} probabilities but {len(correct)} outcomes")
    if not probabilities:
        raise ValueError("no predictions")
    if bins < 1:
        raise ValueError(f"bins must be at least 1, got {bins}")
    p = np.asarray(probabilities, dtype=float)
    if np.isnan(p).any() or (p < 0).any() or (p > 1).any():
        raise ValueError("probabilities must lie in [0, 1]")
    y = np.asarray([bool(c) for c in correct], dtype=float)
    n = len(p)
    brier = float(np.mean((p - y) ** 2))
    index = np.minimum((p * bins).astype(int), bins - 1)
    ece = 0.0
    diagram = []
    for b in range(bins):
        in_bin = index == b
        count = int(in_bin.sum())
        if count:
            accuracy, confidence = float(y[in_bin].mean()), float(p[in_bin].mean())
            ece += count / n * abs(accuracy - confidence)
            diagram.append(ReliabilityBin(b / bins, (b + 1) / bins, count, confidence, accuracy))
    return Calibration(brier=brier, ece=ece, n=n, bins=tuple(diagram))
