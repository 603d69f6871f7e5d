"""report.md: per-task, per-prompting tables of accuracy by model size."""

from __future__ import annotations

from benchmark.schemas import Manifest, SummaryRow
from benchmark.sizes import format_size
from reports.tables import group_rows, pct


def render_markdown(manifest: Manifest, rows: list[SummaryRow]) -> str:
    lines = ["# bench report", ""]
    lines.append(
        f"Seed {manifest.seed}, limit {manifest.limit}, bench {manifest.tool_version}, "
        f"started {manifest.started_at:%Y-%m-%d %H:%M:%S} UTC."
    )
    lines.append("")
    if any(m.scripted for m in manifest.models):
        lines += [
            "> **Scripted models** (marked *scripted*) answer by a fixed rule for testing; "
            "they are not language models and their numbers say nothing about scaling.",
            "",
        ]
    for (task, prompting), group in group_rows(rows).items():
        chance = group[0].chance
        lines += [
            f"## {task} · {prompting}",
            "",
            f"Chance: {pct(chance)}. Scoring: {', '.join(sorted({r.scoring for r in group}))}.",
            "",
        ]
        lines.append("| model | params | n | accuracy | 95% CI | extraction failures | errors |")
        lines.append("|---|---:|---:|---:|---|---:|---:|")
        for r in group:
            name = f"{r.model} (scripted)" if r.scripted else r.model
            interval = f"[{pct(r.ci_low)}, {pct(r.ci_high)}]"
            lines.append(
                f"| {_cell(name)} | {format_size(r.params)} | {r.n} | {pct(r.accuracy)} | "
                f"{interval} | {r.extraction_failures} | {r.errors} |"
            )
        lines.append("")
    return "\n".join(lines)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")
