"""Published reference curves (reports/references.yaml), overlaid on report plots, never in the stats.

Every number carries its source (paper, and table, figure or text passage) in the file itself; a number
read off a figure says so and how far off it may be (`plus_minus`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Self

import yaml
from pydantic import Field, ValidationError, model_validator

from benchmark.errors import UsageError
from benchmark.schemas import Record, TaskInfo, first_problem

FILE = Path(__file__).with_name("references.yaml")


class _Strict(Record):
    """A record of the reference file."""


class PublishedPoint(_Strict):
    """One published number: accuracy at a model size."""

    params: float = Field(gt=0, description="Parameters of the published model.")
    accuracy: float = Field(ge=0, le=1, description="Accuracy as a fraction.")
    source: str | None = Field(default=None, description="Where the number is printed; default: the curve's.")
    plus_minus: float | None = Field(
        default=None, gt=0, description="Read from a figure: how far off it may be, as a fraction."
    )

    @model_validator(mode="before")
    @classmethod
    def _pair(cls, value: Any) -> Any:
        """`[params, accuracy]` is a point whose source is the curve's."""
        if isinstance(value, list | tuple) and len(value) == 2:
            return {"params": value[0], "accuracy": value[1]}
        return value

    @model_validator(mode="after")
    def _figure(self) -> Self:
        if self.plus_minus is not None and "figure" not in (self.source or ""):
            raise ValueError("a point with plus_minus is read from a figure: its source must name the figure")
        return self


class Curve(_Strict):
    name: str
    prompting: str = Field(description="The prompting condition of ours it corresponds to.")
    params: dict[str, str] = Field(default_factory=dict, description="Task parameters it applies to.")
    source: str | None = Field(default=None, description="Where the curve's numbers are printed.")
    points: list[PublishedPoint] = Field(min_length=1, description="The published numbers.")

    @model_validator(mode="after")
    def _sourced(self) -> Self:
        for point in self.points:
            if point.source is None and self.source is None:
                raise ValueError(f"{self.name}: the point at {point.params:g} has no source")
        return self

    def source_of(self, point: PublishedPoint) -> str:
        return point.source or self.source or ""


class Marker(_Strict):
    """A size a paper names (e.g. where an ability emerges), drawn as a vertical line."""

    task: str
    params: dict[str, str] = Field(default_factory=dict, description="Task parameters it applies to.")
    at: float = Field(gt=0, description="The size, in parameters.")
    label: str
    source: str


class Reference(_Strict):
    title: str
    tasks: list[str]
    curves: list[Curve] = []
    markers: list[Marker] = []

    def curves_for(self, task: TaskInfo) -> list[Curve]:
        """Curves that match the task and its parameters (e.g. only 2D+ for arithmetic:digits=2,op=+)."""
        if task.name not in self.tasks:
            return []
        return [c for c in self.curves if all(task.params.get(k) == v for k, v in c.params.items())]

    def markers_for(self, task: TaskInfo) -> list[Marker]:
        return [
            m
            for m in self.markers
            if m.task == task.name and all(task.params.get(k) == v for k, v in m.params.items())
        ]


class ReferenceFile(_Strict):
    version: str
    references: dict[str, Reference]


def load_reference(name: str) -> Reference:
    try:
        data = ReferenceFile.model_validate(yaml.safe_load(FILE.read_text(encoding="utf-8")))
    except ValidationError as exc:
        raise UsageError(f"{FILE}: not a valid reference file ({first_problem(exc)})") from None
    except (OSError, yaml.YAMLError) as exc:
        raise UsageError(f"{FILE}: not a valid reference file ({str(exc).splitlines()[0]})") from None
    if name not in data.references:
        raise UsageError(f"unknown reference {name!r}; choose one of: {', '.join(sorted(data.references))}")
    return data.references[name]
