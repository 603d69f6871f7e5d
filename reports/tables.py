"""Small helpers shared by the renderers."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

from benchmark.schemas import PairedDifference, PointCheck, Reproduction, ShapeVerdict, SummaryRow
from benchmark.sizes import format_size
from benchmark.variants import SCORING_NAMES, VariantKey, condition_label, task_label, variant_key
from reports.keys import size_of

GroupKey = tuple[str, VariantKey, str, str]
"""Rows of one table: task, task variant, prompting, scoring mode."""


def group_rows(rows: list[SummaryRow]) -> dict[GroupKey, list[SummaryRow]]:
    """Rows by (task variant, prompting, scoring mode), keeping the order of `rows` (sorted by size)."""
    groups: dict[GroupKey, list[SummaryRow]] = {}
    for row in rows:
        key = (row.task, variant_key(row.task_params), row.prompting, row.scoring)
        groups.setdefault(key, []).append(row)
    return groups


def group_title(row: SummaryRow) -> str:
    """`hindsight_neglect (shots=10, lang=zh-TW) · plain · log-prob`: the task, its variant, the
    prompting condition and the scoring mode."""
    return f"{task_label(row.task, row.task_params)} · {condition_label(row.prompting, row.scoring)}"


def pct(value: float | None) -> str:
    return "–" if value is None else f"{value:.1%}"


def points(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:+.0f}"


def size_text(row: SummaryRow) -> str:
    if row.params is not None:
        return format_size(row.params)
    return f"rank {row.size_rank}" if row.size_rank is not None else "?"


def failures_text(row: SummaryRow) -> str:
    """Extraction failures, with those cut off by the token limit before stating an answer."""
    if row.truncated:
        return f"{row.extraction_failures} ({row.truncated} cut off)"
    return str(row.extraction_failures)


def difference_text(difference: PairedDifference | None) -> str:
    """`+12 [+3, +21] points` (a paired difference with its interval), with McNemar's p where made."""
    if difference is None:
        return "–"
    text = f"{points(difference.estimate)} [{points(difference.low)}, {points(difference.high)}] points"
    return text if difference.p is None else f"{text}, p={difference.p:.3g}"


class VerdictLine(NamedTuple):
    """A sentence of a report: `before`, the verdict itself (shown in bold), `after`. Kept in parts so
    that each renderer marks the verdict its own way and escapes the rest (no markup in the text)."""

    before: str
    verdict: str = ""
    after: str = ""


def verdict_lines(group: list[SummaryRow]) -> list[VerdictLine]:
    """One line per curve in the group: its shape with the intervals behind it, calibration, and the
    note on whether a continuous measure rises smoothly where accuracy jumps."""
    lines: list[VerdictLine] = []
    seen: set[tuple[str, str, str]] = set()
    for row in group:
        curve = (row.family or "", row.variant or "", row.revision or "")
        if row.shape is None or curve in seen:
            continue
        seen.add(curve)
        name = " ".join(part for part in curve[:2] if part) or "curve"
        at = f" at {row.revision}" if row.revision else ""
        where = _turn(row.shape, format_size if row.params is not None else _rank)
        after = f"{where}. {row.shape.reason}".rstrip()
        lines.append(VerdictLine(f"Shape of the {name}{at}: ", row.shape.verdict, after))
        if row.continuous is not None and row.continuous.compared:
            lines.append(VerdictLine(f"Continuous measure: {row.continuous.text}."))
    lines += token_verdict_lines(group)
    lines += guidance_lines(group)
    lines += reproduction_lines(group)
    for row in group:
        if row.calibration is not None:
            found = row.calibration
            text = f"Calibration of {row.model}: Brier {found.brier:.3f}, ECE {found.ece:.3f}."
            lines.append(VerdictLine(text))
    return lines


def reproductions_of(group: list[SummaryRow]) -> list[Reproduction]:
    """The distinct reproduction verdicts of a group's rows (one per published curve), in row order."""
    found: dict[tuple[str, str], Reproduction] = {}
    for row in group:
        if row.reproduction is not None:
            found.setdefault((row.reproduction.reference, row.reproduction.curve), row.reproduction)
    return list(found.values())


def reproduction_lines(group: list[SummaryRow]) -> list[VerdictLine]:
    """One line per published curve that the group's models were held against."""
    lines = []
    for found in reproductions_of(group):
        lead = f"Against the published curve {found.curve} ({found.reference}): "
        if found.text.startswith(found.kind):  # the verdict's word in bold, the reasons after it
            lines.append(VerdictLine(lead, found.kind, found.text[len(found.kind) :]))
        else:
            lines.append(VerdictLine(lead + found.text))
    return lines


REPRODUCTION_COLUMNS = (
    "model",
    "params",
    "revision",
    "published (items)",
    "this run [95% CI]",
    "run − published [95% CI]",
    "differs",
)


def reproduction_cells(check: PointCheck) -> tuple[str, ...]:
    """A compared size as table cells, in REPRODUCTION_COLUMNS order."""
    items = f" ({check.published_n})" if check.published_n else ""
    return (
        check.model,
        format_size(int(check.params)),
        check.revision or "",
        f"{pct(check.published)}{items}",
        f"{pct(check.accuracy)} [{pct(check.ci_low)}, {pct(check.ci_high)}] (n={check.n})",
        f"{check.difference * 100:+.1f} [{check.low * 100:+.1f}, {check.high * 100:+.1f}] points",
        "yes" if check.differs else "no",
    )


def _turn(shape: ShapeVerdict, label: Callable[[float], str]) -> str:
    """Where a curve turns: ` (threshold 1B)`, ` (minimum at 410M)`, or nothing."""
    if shape.threshold is not None:
        return f" (threshold {label(shape.threshold)})"
    if shape.minimum is not None:
        return f" (minimum at {label(shape.minimum)})"
    return ""


def token_verdict_lines(group: list[SummaryRow]) -> list[VerdictLine]:
    """One line per size with a shape over training tokens (its checkpoints)."""
    lines: list[VerdictLine] = []
    seen: set[tuple[str, str, str]] = set()
    for row in group:
        shape = row.shape_over_tokens
        curve = (row.family or "", row.variant or "", size_text(row))
        if shape is None or curve in seen:
            continue
        seen.add(curve)
        name = " ".join(part for part in curve[:2] if part) or "model"
        after = f"{_turn(shape, _tokens)}. {shape.reason}".rstrip()
        lines.append(
            VerdictLine(f"Shape over training tokens of the {name} at {curve[2]}: ", shape.verdict, after)
        )
    return lines


def guidance_lines(group: list[SummaryRow]) -> list[VerdictLine]:
    """One line per curve with a verdict on chain of thought, and per family on instruction tuning."""
    lines: list[VerdictLine] = []
    seen: set[tuple[str, ...]] = set()
    for row in group:
        name = " ".join(part for part in (row.family or "", row.variant or "") if part) or "curve"
        verdict = row.cot_verdict
        if verdict is not None and ("cot", name) not in seen:
            seen.add(("cot", name))
            scored = SCORING_NAMES[row.scoring]
            lead = f"Chain of thought against plain prompting (both scored by {scored}), {name}: "
            lines.append(VerdictLine(lead, verdict.text, f". {verdict.reason}"))
        verdict = row.instruct_verdict
        if verdict is not None and ("instruct", row.family or "") not in seen:
            seen.add(("instruct", row.family or ""))
            lines.append(
                VerdictLine(
                    f"Instruction tuning (instruct against base of the same size), {row.family}: ",
                    verdict.text,
                    f". {verdict.reason}",
                )
            )
    return lines


def _tokens(count: float) -> str:
    return f"{format_size(count)} tokens"


def _rank(size: float) -> str:
    return f"rank {size:.0f}"


@dataclass(frozen=True)
class Grid:
    """One family's rows of one table laid out by size (rows) and training checkpoint (columns)."""

    name: str
    """The family and model variant, e.g. `pythia-checkpoints base`."""
    sizes: list[tuple[bool, float]]
    """(by rank, size) of each grid row, smallest first."""
    checkpoints: list[tuple[float, str]]
    """(training tokens, revision) of each column, fewest tokens first."""
    cells: dict[tuple[int, int], SummaryRow]
    """The row at (size index, checkpoint index), where the run has one."""

    def size_text(self, index: int) -> str:
        by_rank, size = self.sizes[index]
        return _rank(size) if by_rank else format_size(size)

    def checkpoint_text(self, index: int) -> str:
        tokens, revision = self.checkpoints[index]
        return f"{format_size(tokens)} tokens ({revision})"


def checkpoint_grids(group: list[SummaryRow]) -> list[Grid]:
    """The rows of `group` (one table) that have training tokens, as a size × tokens grid per family and
    model variant; none for rows without tokens."""
    families: dict[tuple[str, str], list[SummaryRow]] = {}
    for row in group:
        if row.tokens is not None and row.revision is not None and size_of(row) is not None:
            families.setdefault((row.family or "", row.variant or ""), []).append(row)
    grids = []
    for (family, variant), rows in families.items():
        sizes = sorted({_place(r) for r in rows})
        checkpoints = sorted({(r.tokens or 0.0, r.revision or "") for r in rows})
        cells = {
            (sizes.index(_place(r)), checkpoints.index((r.tokens or 0.0, r.revision or ""))): r for r in rows
        }
        name = " ".join(part for part in (family, variant) if part) or "models"
        grids.append(Grid(name, sizes, checkpoints, cells))
    return grids


def _place(row: SummaryRow) -> tuple[bool, float]:
    """A row's place on the size axis: (by rank, size)."""
    if row.params is not None:
        return False, float(row.params)
    return True, float(row.size_rank or 0)
