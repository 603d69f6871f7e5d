"""Does a run reproduce a published curve? A curve analysis: the run's points whose model (Hub id and
revision) is a published point's, against the published accuracy, with a verdict for the curve.

The statistics, per matched size:
- the run's accuracy with its 95% Wilson interval;
- run minus published with a 95% interval: Newcombe's hybrid score interval for two independent
  proportions (Newcombe 1998, method 10) where the published number says on how many items it was
  measured; else, where it gives a standard error, the run's Wilson interval combined the same way with
  the published value ± z·se; else the run's Wilson interval shifted by the published number (the
  published value taken as exact). The published per-item outcomes are not known, so the two are taken
  as independent samples even on the same items: conservative, since paired outcomes would be closer;
- the verdict speaks for the whole curve, so a size "differs" only where the difference's interval at
  the Bonferroni-adjusted level (1 - 0.05/k for k sizes) excludes 0: eight sizes each at 95% would call
  a perfect reproduction "different" at some size one time in three.
A curve "reproduces" when no size differs and every size's 95% interval lies within ±`MARGIN` of the
published number (an equivalence test, so that a 20-item run cannot "reproduce" anything); "inconclusive"
when no size differs but the intervals are too wide to say so; "not comparable" when what was measured
differs (other items, scoring, task parameters, item revision), whatever the numbers say.

Pure functions of their arguments: no I/O. `reproductions` is the seam's shape: rows of one run in,
one typed record per row out.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from statistics import NormalDist
from typing import Literal

from benchmark.schemas import Manifest, PointCheck, Reproduction, SummaryRow, TaskInfo
from benchmark.sizes import format_size
from benchmark.variants import VariantKey, variant_key
from reports.analyses.intervals import wilson_interval
from reports.references import Curve, PublishedPoint, Reference

LEVEL = 0.95
MARGIN = 0.10
"""A size agrees closely enough when its 95% difference interval lies within ±10 accuracy points."""


@dataclass(frozen=True)
class Match:
    """A published curve that applies to some of a run's rows, and the rows whose model it published."""

    reference: str
    curve: Curve
    rows: list[tuple[SummaryRow, PublishedPoint]]


def with_reproductions(
    rows: list[SummaryRow], manifest: Manifest, references: dict[str, Reference]
) -> list[SummaryRow]:
    """The rows, each whose model is a point of a published curve on its task with its verdict."""
    found = reproductions(rows, manifest.tasks, references)
    return [
        row.model_copy(update={"reproduction": found[i]}) if i in found else row for i, row in enumerate(rows)
    ]


def reproductions(
    rows: Sequence[SummaryRow], tasks: Sequence[TaskInfo], references: dict[str, Reference]
) -> dict[int, Reproduction]:
    """For each row (by index in `rows`) whose model is a point of a published curve drawn on its task,
    the verdict on that curve (the first matching curve in file order)."""
    infos = {(t.name, tuple(sorted(t.params.items()))): t for t in tasks}
    out: dict[int, Reproduction] = {}
    groups: dict[tuple[str, int, Group], list[int]] = {}
    for index, row in enumerate(rows):
        info = infos.get((row.task, tuple(sorted(row.task_params.items()))))
        if info is None or row.n == 0:
            continue
        for name, reference in references.items():
            drawn = reference.curves_for(info)
            for number, curve in enumerate(reference.curves):
                if curve.prompting == row.prompting and curve in drawn and point_of(curve, row) is not None:
                    groups.setdefault((name, number, _row_group(row)), []).append(index)
    for (name, number, _group), indices in groups.items():
        curve = references[name].curves[number]
        matched = [(rows[i], point) for i in indices if (point := point_of(curve, rows[i])) is not None]
        first = rows[indices[0]]
        record = judge(
            Match(name, curve, matched), infos[(first.task, tuple(sorted(first.task_params.items())))]
        )
        for i in indices:
            out.setdefault(i, record)
    return out


Group = tuple[str, VariantKey, str, str, str]


def _row_group(row: SummaryRow) -> Group:
    """Rows judged together against one curve: same task variant, prompting, scoring mode and family."""
    return (row.task, variant_key(row.task_params), row.prompting, row.scoring, row.family or "")


def point_of(curve: Curve, row: SummaryRow) -> PublishedPoint | None:
    """The published point of this row's model: same Hub id and, where the point names one, revision."""
    if row.hub_id is None:
        return None
    for point in curve.points:
        if point.model == row.hub_id and (point.revision is None or point.revision == row.revision):
            return point
    return None


def comparability(curve: Curve, row: SummaryRow, info: TaskInfo) -> list[str]:
    """Why the row's numbers cannot be held against the curve's (empty: they can)."""
    problems = curve.differences(info, row.scoring)
    if curve.variant is not None and row.variant is not None and curve.variant != row.variant:
        problems.append(f"published on {curve.variant} models, this row is {row.variant}")
    dataset = info.dataset
    if dataset is not None and curve.dataset is not None and dataset.repo != curve.dataset:
        problems.append(f"different dataset (published on {curve.dataset}, this run read {dataset.repo})")
    if dataset is not None and curve.dataset_revision not in (None, dataset.revision):
        problems.append(
            f"other item revision (published at {curve.dataset_revision}, this run read {dataset.revision})"
        )
    return problems


def difference_interval(
    correct: int, n: int, published: float, published_n: int | None, level: float, se: float | None = None
) -> tuple[float, float]:
    """Run accuracy minus the published accuracy: Newcombe's hybrid score interval when the published
    number's item count is known; else, where the publication gives a standard error, the same
    combination (MOVER) of the run's Wilson interval with the published value ± z·se; else the run's
    Wilson interval minus the published value (taken as exact)."""
    low1, high1 = wilson_interval(correct, n, level)
    p1 = correct / n
    if published_n is None:
        if se is None:
            return (low1 - published, high1 - published)
        half = float(NormalDist().inv_cdf((1 + level) / 2)) * se
        d = p1 - published
        return (d - math.hypot(p1 - low1, half), d + math.hypot(high1 - p1, half))
    k2 = min(published_n, max(0, round(published * published_n)))
    low2, high2 = wilson_interval(k2, published_n, level)
    d = p1 - published
    return (
        d - math.sqrt((p1 - low1) ** 2 + (high2 - published) ** 2),
        d + math.sqrt((high1 - p1) ** 2 + (published - low2) ** 2),
    )


def judge(match: Match, info: TaskInfo) -> Reproduction:
    """The verdict on one published curve from the run's rows that match its points."""
    curve = match.curve
    problems = sorted({p for row, _ in match.rows for p in comparability(curve, row, info)})
    claimed: dict[int, list[str]] = {}
    for row, point in match.rows:
        claimed.setdefault(id(point), []).append(row.model)
    problems += [
        f"{' and '.join(models)} are the same published model (one Hub id and revision)"
        for models in claimed.values()
        if len(models) > 1
    ]
    k = len(match.rows)
    strict = 1 - (1 - LEVEL) / k
    checks = []
    for row, point in sorted(match.rows, key=lambda m: (m[1].params, m[1].tokens or 0)):
        published_n = point.n or curve.n
        low, high = difference_interval(row.correct, row.n, point.accuracy, published_n, LEVEL, point.se)
        s_low, s_high = difference_interval(row.correct, row.n, point.accuracy, published_n, strict, point.se)
        checks.append(
            PointCheck(
                model=row.model,
                params=point.params,
                revision=point.revision,
                tokens=point.tokens,
                published=point.accuracy,
                published_n=published_n,
                source=curve.source_of(point),
                n=row.n,
                correct=row.correct,
                accuracy=row.correct / row.n,
                ci_low=row.ci_low if row.ci_low is not None else 0.0,
                ci_high=row.ci_high if row.ci_high is not None else 1.0,
                difference=row.correct / row.n - point.accuracy,
                low=low,
                high=high,
                differs=s_low > 0 or s_high < 0,
            )
        )
    kind, text = _verdict(checks, problems, strict, len(curve.points))
    if kind != "not comparable":
        text += _coverage(checks, curve)
    return Reproduction(
        reference=match.reference,
        curve=curve.name,
        kind=kind,
        text=text,
        level=LEVEL,
        family_level=strict,
        margin=MARGIN,
        problems=problems,
        points=checks,
    )


Kind = Literal["reproduces", "differs", "inconclusive", "not comparable"]


def _verdict(checks: list[PointCheck], problems: list[str], strict: float, total: int) -> tuple[Kind, str]:
    sizes = f"{len(checks)} size{'s' if len(checks) != 1 else ''}"
    if problems:
        return "not comparable", "not comparable: " + "; ".join(problems)
    differing = [c for c in checks if c.differs]
    if differing:
        where = ", ".join(f"{_at(c)} by {points_text(c.difference, c.low, c.high)}" for c in differing)
        return "differs", (
            f"differs at {where} (of {sizes}; each size's interval 95%, the verdict at {strict:.2%} each, "
            "Bonferroni)"
        )
    widest = max(max(-c.low, c.high) for c in checks)
    if widest > MARGIN:
        most = max(c.published_n or 0 for c in checks)
        more = f"; the published numbers used {most} items" if most else ""
        return "inconclusive", (
            f"inconclusive: no size differs, but the intervals reach ±{widest * 100:.0f} points, wider than "
            f"the ±{MARGIN * 100:.0f} a reproduction needs (n = {min(c.n for c in checks)}{more})"
        )
    what = "the published curve" if len(checks) >= total else f"the published numbers of the {sizes} run"
    return "reproduces", (
        f"reproduces {what}: at all {sizes} the difference's 95% interval lies within "
        f"±{MARGIN * 100:.0f} points and none differs"
    )


def _coverage(checks: list[PointCheck], curve: Curve) -> str:
    """What the verdict does not speak for: published sizes the run left out, items it did not score."""
    notes = []
    if len(checks) < len(curve.points):
        run = ", ".join(_at(c) for c in checks)
        notes.append(
            f"only {len(checks)} of the curve's {len(curve.points)} published sizes were run ({run}): "
            "the verdict says nothing of the others, nor of the curve's shape"
        )
    subset = [c for c in checks if c.published_n is not None and c.n < c.published_n]
    if subset:
        fewest = min(subset, key=lambda c: c.n)
        notes.append(
            f"this run scored {fewest.n} of the {fewest.published_n} items the published numbers used "
            "(--limit): the first ones, which need not be like the rest"
        )
    return "".join(f"; {note}" for note in notes)


def _at(check: PointCheck) -> str:
    size = format_size(int(check.params))
    return f"{size} ({check.revision})" if check.revision else size


def points_text(estimate: float, low: float, high: float) -> str:
    """A difference in accuracy points with its interval: `-9 points [-14, -4]`."""
    return f"{estimate * 100:+.0f} points [{low * 100:+.0f}, {high * 100:+.0f}]"


def drawn_curves(reference: Reference, info: TaskInfo, revisions: Iterable[str | None]) -> list[Curve]:
    """The curves of a reference drawn on a task's plot (`Reference.curves_for`); of curves measured at
    training checkpoints, those at a revision the run has, else the last checkpoint's."""
    curves = reference.curves_for(info)
    by_checkpoint = [c for c in curves if any(p.tokens is not None for p in c.points)]
    if not by_checkpoint:
        return curves
    ran = {r for r in revisions if r is not None}
    chosen = [c for c in by_checkpoint if any(p.revision in ran for p in c.points)]
    if not chosen:
        groups: dict[tuple[str | None, str], list[Curve]] = {}
        for c in by_checkpoint:
            groups.setdefault((c.task, c.prompting), []).append(c)
        chosen = [max(group, key=lambda c: max(p.tokens or 0 for p in c.points)) for group in groups.values()]
    return [c for c in curves if c not in by_checkpoint] + chosen
