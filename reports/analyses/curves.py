"""Summary rows laid out as curves (`reports.analyses.base.Curve`), each along one axis.

- over size: rows of one task variant, prompting, scoring mode, family, model variant and training
  checkpoint, by parameters (or by size rank, a curve of its own); two models of one size on such a
  curve leave no single curve to read, and each becomes a curve of one point without an axis, as does a
  model without a size;
- over training tokens: the checkpoints of one size (at least two);
- over training compute (≈ 6 · parameters · tokens, Kaplan et al. 2020): a curve over parameters whose
  every point has training tokens. (A curve over tokens at one size is the same curve over compute,
  shifted on a log axis: it gets no compute curve of its own.)

Rows with no answered item are on no curve. Seeds are derived from the run's seed and the curve's
identity, so a curve's intervals do not depend on the other curves of the run.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from benchmark.prompting import PLAIN, reasons
from benchmark.schemas import SummaryRow
from reports.analyses.base import Axis, Curve, CurveId, Point
from reports.analyses.intervals import stable_seed
from reports.keys import (
    CurveKey,
    Outcome,
    RowKey,
    TokensKey,
    curve_key,
    row_key,
    seed_parts,
    size_of,
    tokens_key,
)

Answered = dict[RowKey, list[Outcome]]


def build_curves(rows: list[SummaryRow], answered: Answered, seed: int) -> list[Curve]:
    """Every curve of the rows, over size first (in row order), then over tokens and compute."""
    scored = [r for r in rows if r.n > 0]
    size_curves = _size_curves(scored, answered, seed)
    tokens = _tokens_curves(scored, answered, seed)
    compute = [c for c in (_compute_curve(c) for c in size_curves) if c is not None]
    return [*(_with_twins(c, size_curves) for c in size_curves), *tokens, *compute]


def _identity(row: SummaryRow, axis: Axis, **fields: object) -> CurveId:
    return CurveId(
        task=row.task,
        task_params=row.task_params,
        prompting=row.prompting,
        scoring=row.scoring,
        family=row.family,
        variant=row.variant,
        axis=axis,
        **fields,  # type: ignore[arg-type]
    )


def _points(rows: Iterable[tuple[float, SummaryRow]], answered: Answered) -> tuple[Point, ...]:
    return tuple(Point(x, r, answered[row_key(r)]) for x, r in sorted(rows, key=lambda item: item[0]))


def _size_curves(rows: list[SummaryRow], answered: Answered, seed: int) -> list[Curve]:
    groups: dict[tuple[CurveKey, bool], list[SummaryRow]] = {}
    alone: list[SummaryRow] = []
    for row in rows:
        if size_of(row) is None:
            alone.append(row)
        else:
            groups.setdefault((curve_key(row), row.params is None), []).append(row)
    curves = []
    for ((task, variant, *rest), by_rank), members in groups.items():
        sizes = [size_of(r) or 0.0 for r in members]
        if len(set(sizes)) != len(sizes):
            alone += members  # two models of one size: no single curve to judge
            continue
        revision = rest.pop()  # a curve without one keeps the seed it had before revisions existed
        parts = (*(f"{k}={v}" for k, v in variant), *rest, *([revision] if revision else []))
        first = members[0]
        curves.append(
            Curve(
                id=_identity(first, "rank" if by_rank else "params", revision=first.revision),
                chance=first.chance,
                points=_points(zip(sizes, members, strict=True), answered),
                seed=stable_seed(seed, task, *parts),
                run_seed=seed,
            )
        )
    for row in alone:
        curves.append(
            Curve(
                id=_identity(row, "none", revision=row.revision, model=row.model),
                chance=row.chance,
                points=_points([(0.0, row)], answered),
                seed=stable_seed(seed, *seed_parts(row_key(row)), "alone"),
                run_seed=seed,
            )
        )
    order = {row_key(r): i for i, r in enumerate(rows)}
    return sorted(curves, key=lambda c: min(order[row_key(p.row)] for p in c.points))


def _tokens_curves(rows: list[SummaryRow], answered: Answered, seed: int) -> list[Curve]:
    groups: dict[TokensKey, list[SummaryRow]] = {}
    for row in rows:
        key = tokens_key(row)
        if key is not None:
            groups.setdefault(key, []).append(row)
    curves = []
    for key, members in groups.items():
        tokens = [r.tokens or 0.0 for r in members]
        if len(members) < 2 or len(set(tokens)) != len(tokens):
            continue
        task, variant, *rest = key
        first = members[0]
        curves.append(
            Curve(
                id=_identity(first, "tokens", size=size_of(first)),
                chance=first.chance,
                points=_points(zip(tokens, members, strict=True), answered),
                seed=stable_seed(seed, task, *(f"{k}={v}" for k, v in variant), *map(str, rest), "tokens"),
                run_seed=seed,
            )
        )
    return curves


def _compute_curve(curve: Curve) -> Curve | None:
    """The curve over training compute, 6 · parameters · tokens, where every point has tokens."""
    if curve.id.axis != "params" or any(p.row.tokens is None for p in curve.points):
        return None
    points = tuple(Point(6 * p.x * (p.row.tokens or 0.0), p.row, p.outcomes) for p in curve.points)
    return Curve(
        id=curve.id.model_copy(update={"axis": "compute"}),
        chance=curve.chance,
        points=tuple(sorted(points, key=lambda p: p.x)),
        seed=stable_seed(curve.seed, "compute"),
        run_seed=curve.run_seed,
    )


def _with_twins(curve: Curve, curves: list[Curve]) -> Curve:
    """The curve with its unguided twins: under plain prompting (for chain of thought) and the base
    models (for an instruct curve), each point matched by model (plain) or by size (base)."""
    plain = base = None
    if reasons(curve.id.prompting):
        plain = _twin(curve, curves, lambda c: c.id.prompting == PLAIN.name, by_model=True)
    if curve.id.variant == "instruct" and curve.id.family is not None and curve.id.axis != "none":
        base = _twin(curve, curves, lambda c: c.id.variant == "base", by_model=False)
    if plain is None and base is None:
        return curve
    return Curve(curve.id, curve.chance, curve.points, curve.seed, curve.run_seed, plain=plain, base=base)


def _twin(curve: Curve, curves: list[Curve], same: Callable[[Curve], bool], by_model: bool) -> Curve | None:
    """The points of other curves of the same task variant and scoring mode that `same` picks: the same
    models (by_model), or, at each size of `curve`, the one model of that size, family, checkpoint and
    prompting (by size)."""
    found: list[Point] = []
    mine = curve.id
    for other in curves:
        o = other.id
        if (o.task, o.task_params, o.scoring) != (mine.task, mine.task_params, mine.scoring):
            continue
        if not same(other):
            continue
        if by_model:
            models = {p.model for p in curve.points}
            found += [p for p in other.points if p.model in models]
        elif (o.prompting, o.family, o.revision, o.axis) == (
            mine.prompting,
            mine.family,
            mine.revision,
            mine.axis,
        ):
            found += list(other.points)
    if not by_model:
        xs = [p.x for p in found]
        found = [p for p in found if xs.count(p.x) == 1]  # exactly one base model of that size
    if not found:
        return None
    return Curve(curve.id, curve.chance, tuple(found), curve.seed, curve.run_seed)
