"""Guidance that pays off only above a size: per-size gains and verdicts for summary rows.

- chain of thought: each row of a condition that reasons (`benchmark.prompting.reasons`: cot, cot_zeroshot)
  against the plain row of the same task variant, model and scoring mode (the same items);
- instruction tuning: each instruct row against the base row of the same family and size, task
  variant, prompting and scoring mode (the same items).

A verdict (`reports.analyses.guidance.guidance_verdict`) is given per curve: per family, model variant and
condition for chain of thought, per family and condition for instruction tuning.
"""

from __future__ import annotations

from collections.abc import Callable

from benchmark.prompting import PLAIN, reasons
from benchmark.schemas import Guidance, PairedDifference, SummaryRow
from benchmark.sizes import format_size
from reports.analyses.guidance import SizeGain, guidance_verdict, paired_gain
from reports.keys import Outcome, RowKey, curve_key, row_key, size_of

Updates = dict[RowKey, dict[str, object]]


def guidance_updates(rows: list[SummaryRow], answered: dict[RowKey, list[Outcome]]) -> Updates:
    """The guidance fields of each row (cot_gain, cot_verdict, instruct_gain, instruct_verdict)."""
    updates: Updates = {row_key(r): {} for r in rows}
    cot: dict[RowKey, SizeGain] = {}
    for row in rows:
        this = row_key(row)
        plain = answered.get(RowKey(this.task, this.variant, PLAIN.name, this.scoring, this.model))
        if not reasons(row.prompting) or not plain:
            continue
        gain = _gain(row, plain, answered[this])
        if gain is not None:
            cot[this] = gain
            updates[this]["cot_gain"] = _difference(gain)
    _verdicts(rows, cot, lambda r: curve_key(r), "cot_verdict", updates)

    instruct: dict[RowKey, SizeGain] = {}
    for base, tuned in _base_instruct_pairs(rows):
        this = row_key(tuned)
        gain = _gain(tuned, answered[row_key(base)], answered[this])
        if gain is not None:
            instruct[this] = gain
            updates[this]["instruct_gain"] = _difference(gain)
    _verdicts(rows, instruct, lambda r: curve_key(r)[:5], "instruct_verdict", updates)
    return updates


def _difference(gain: SizeGain) -> PairedDifference:
    found = gain.gain
    return PairedDifference(estimate=found.estimate, low=found.low, high=found.high, p=gain.p_value)


def _gain(row: SummaryRow, without: list[Outcome], with_guidance: list[Outcome]) -> SizeGain | None:
    """The paired gain on the items both rows answered; None when they share none."""
    base = {o.item_id: o.correct for o in without}
    guided = {o.item_id: o.correct for o in with_guidance}
    shared = sorted(base.keys() & guided.keys())
    if not shared:
        return None
    return paired_gain(size_of(row) or 0.0, [base[i] for i in shared], [guided[i] for i in shared])


def _base_instruct_pairs(rows: list[SummaryRow]) -> list[tuple[SummaryRow, SummaryRow]]:
    """(base, instruct) rows of one family and size, under the same task variant, prompting and scoring."""
    members: dict[tuple[object, ...], dict[str, list[SummaryRow]]] = {}
    for row in rows:
        size = size_of(row)
        if row.family is None or size is None or row.variant not in ("base", "instruct"):
            continue
        key = (*curve_key(row)[:5], row.params is None, size)
        members.setdefault(key, {}).setdefault(row.variant, []).append(row)
    return [
        (found["base"][0], found["instruct"][0])
        for found in members.values()
        if len(found.get("base", [])) == 1 and len(found.get("instruct", [])) == 1
    ]


def _verdicts(
    rows: list[SummaryRow],
    gains: dict[RowKey, SizeGain],
    curve: Callable[[SummaryRow], tuple[object, ...]],
    field: str,
    updates: Updates,
) -> None:
    """A verdict per curve over the sizes of its rows that have a gain; none where two rows of a curve
    share a size (no single curve to judge) or a row has no size."""
    curves: dict[tuple[object, ...], list[SummaryRow]] = {}
    for row in rows:
        if row_key(row) in gains and size_of(row) is not None:
            curves.setdefault((*curve(row), row.params is None), []).append(row)
    for members in curves.values():
        sizes = [size_of(r) for r in members]
        if len(set(sizes)) != len(sizes):
            continue
        by_rank = members[0].params is None
        label = (lambda s: f"rank {s:.0f}") if by_rank else format_size
        verdict = guidance_verdict([gains[row_key(r)] for r in members], label)
        record = Guidance(
            kind=verdict.kind,
            text=verdict.text(label),
            helps_from=verdict.helps_from,
            hurts_below=verdict.hurts_below,
            reason=verdict.reason,
        )
        for row in members:
            updates[row_key(row)][field] = record
