"""summary.json read back for tests: its rows, each with the results of the curves it lies on laid out
by row (`shape`, `shape_over_tokens`, `step`, `cot_gain`, `cot_verdict`, `instruct_gain`,
`instruct_verdict`, `calibration`, `continuous`; None where the analysis found nothing for the row).

Since schema 9 the results are stored once per curve (`curves[].results[name]`); this finds the row's
own entry in each (its step, its gain, its calibration) so tests can speak of a row."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any


def read_summary(run: Path) -> dict[str, Any]:
    data = json.loads((run / "summary.json").read_text(encoding="utf-8"))
    assert isinstance(data, dict) and set(data) == {"schema_version", "rows", "curves"}, (
        "not a schema-9 summary"
    )
    return data


def rows_with_results(run: Path) -> list[dict[str, Any]]:
    data = read_summary(run)
    return [_with_results(row, data["curves"]) for row in data["rows"]]


def _same_group(row: dict[str, Any], curve: dict[str, Any]) -> bool:
    c = curve["curve"]
    fields = ("task", "task_params", "prompting", "scoring")
    return all(c[f] == row[f] for f in fields) and any(p["model"] == row["model"] for p in curve["points"])


def _with_results(row: dict[str, Any], curves: list[dict[str, Any]]) -> dict[str, Any]:
    out = dict(row)
    for name in ("shape", "shape_over_tokens", "step", "cot_gain", "cot_verdict", "instruct_gain",
                 "instruct_verdict", "calibration", "continuous"):  # fmt: skip
        out[name] = None
    model = row["model"]
    for curve in (c for c in curves if _same_group(row, c)):
        results, axis = curve["results"], curve["curve"]["axis"]
        if axis == "tokens":
            out["shape_over_tokens"] = results.get("shape")
            continue
        if axis not in ("params", "rank", "none"):
            continue
        out["shape"] = results.get("shape")
        out["continuous"] = results.get("continuous")
        out["step"] = next(
            (s for s in results.get("steps", {}).get("steps", []) if s["model"] == model), None
        )
        for name, prefix in (("cot", "cot"), ("instruct", "instruct")):
            found = results.get(name) or {}
            gain = next((g for g in found.get("gains", []) if g["model"] == model), None)
            out[f"{prefix}_gain"] = gain
            out[f"{prefix}_verdict"] = found.get("verdict") if gain is not None else None
        cal = results.get("calibration") or {}
        out["calibration"] = next((m for m in cal.get("models", []) if m["model"] == model), None)
    return out


def _namespace(value: Any) -> Any:
    if isinstance(value, dict) and all(isinstance(k, str) and k.isidentifier() for k in value):
        return SimpleNamespace(**{k: _namespace(v) for k, v in value.items()})
    if isinstance(value, list):
        return [_namespace(v) for v in value]
    return value


def row_objects(run: Path) -> list[Any]:
    """`rows_with_results` with attribute access (`row.shape.verdict`, `row.step.estimate`); mappings
    with keys that are not names (task parameters, metrics) stay dicts."""
    rows = []
    for row in rows_with_results(run):
        found = SimpleNamespace(**{k: _namespace(v) for k, v in row.items()})
        found.task_params, found.metrics = row["task_params"], row["metrics"]
        rows.append(found)
    return rows
