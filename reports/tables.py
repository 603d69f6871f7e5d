"""Small helpers shared by the renderers."""

from __future__ import annotations

from benchmark.schemas import SummaryRow


def group_rows(rows: list[SummaryRow]) -> dict[tuple[str, str], list[SummaryRow]]:
    """Rows by (task, prompting), keeping the order of `rows` (already sorted by size)."""
    groups: dict[tuple[str, str], list[SummaryRow]] = {}
    for row in rows:
        groups.setdefault((row.task, row.prompting), []).append(row)
    return groups


def pct(value: float | None) -> str:
    return "–" if value is None else f"{value:.1%}"
