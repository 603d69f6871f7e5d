"""Prompting conditions as shared steps, applied to any task's items (plain, few-shot chain of thought
`cot`, zero-shot chain of thought `cot_zeroshot`)."""

from __future__ import annotations

ZERO_SHOT_TRIGGER = "Let's think step by step."
"""Kojima et al. 2022: appended after the question, the model reasons before it answers."""

REASONING_MAX_TOKENS = 96
"""Generation budget of a chain of thought (a few sentences and "The answer is X.")."""

ZERO_SHOT_STOP = ["\n\n", "\nQ:", "\nQuestion:"]
"""Zero-shot reasoning may span lines; it ends at a blank line or a new question."""

_REASONING = ("cot", "cot_zeroshot")


def reasons(prompting: str) -> bool:
    """Whether under `prompting` the model reasons before it answers: its answer is read from the
    generated text (never class log-probs) and must be stated (`Instance.stated_answer`)."""
    return prompting in _REASONING


def zero_shot(prompt: str, instruction: str = ZERO_SHOT_TRIGGER) -> str:
    """The prompt, then the reasoning instruction after the answer cue ("A: Let's think step by step.")."""
    return f"{prompt} {instruction}"
