"""Published reference curves (reports/references.yaml), overlaid on report plots, never in the stats.

Every number carries its source in the file itself: a paper and its table, figure or text passage, or
an authors' result file as `owner/repo@<40-hex commit>:path`. A number read off a figure says so and how
far off it may be (`plus_minus`).

A reference's `tasks` are the bench tasks on whose rows its curves are drawn. A curve names the task
its numbers were measured on (`task`; None: the reference's own task, whichever row it is drawn on).
On a row of that task the curve is comparable; on a row of a *context* task (one of `tasks` that no
curve of the reference names, e.g. bench's own `hindsight_neglect` generator beside the prize's items)
every curve is drawn as context, and a verdict must say "not comparable: different items"
(`Curve.differences`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal, Self

import yaml
from pydantic import Field, ValidationError, field_validator, model_validator

from benchmark.errors import UsageError
from benchmark.prompting import PROMPTINGS
from benchmark.records import Record, first_problem
from benchmark.schemas import TaskInfo
from benchmark.yamlfile import check_duplicate_keys

FILE = Path(__file__).with_name("references.yaml")
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml where built: the file is ~2,000 lines


class _Strict(Record):
    """A record of the reference file."""


class PublishedPoint(_Strict):
    """One published number: accuracy at a model size (and, where known, the exact model measured)."""

    params: float = Field(gt=0, allow_inf_nan=False, description="Parameters of the published model.")
    accuracy: float = Field(ge=0, le=1, description="Accuracy as a fraction.")
    source: str | None = Field(default=None, description="Where the number is printed; default: the curve's.")
    plus_minus: float | None = Field(
        default=None,
        gt=0,
        allow_inf_nan=False,
        description="Read from a figure: how far off it may be, as a fraction.",
    )
    model: str | None = Field(default=None, description="Hub id (or name) of the model measured.")
    revision: str | None = Field(default=None, description="The model's revision (e.g. step143000).")
    tokens: float | None = Field(
        default=None, gt=0, allow_inf_nan=False, description="Training tokens at that revision."
    )
    n: int | None = Field(default=None, gt=0, description="Items scored.")
    se: float | None = Field(
        default=None, ge=0, allow_inf_nan=False, description="Standard error as published (a fraction)."
    )

    @model_validator(mode="before")
    @classmethod
    def _pair(cls, value: Any) -> Any:
        """`[params, accuracy]` is a point whose source is the curve's."""
        if isinstance(value, list | tuple) and len(value) == 2:
            return {"params": value[0], "accuracy": value[1]}
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.plus_minus is not None and "figure" not in (self.source or ""):
            raise ValueError("a point with plus_minus is read from a figure: its source must name the figure")
        if self.tokens is not None and self.revision is None:
            raise ValueError("a point with tokens must name the revision (checkpoint) they were counted at")
        if self.revision is not None and self.model is None:
            raise ValueError("a point with a revision must name its model")
        return self

    def key(self) -> tuple[str, str | None] | float:
        """What makes a point unique in its curve: its model and revision, or else its size."""
        return (self.model, self.revision) if self.model is not None else self.params


class Curve(_Strict):
    """One published curve over size, and how its numbers were measured."""

    name: str
    prompting: str = Field(description="The prompting condition of ours it corresponds to.")

    @field_validator("prompting")
    @classmethod
    def _known_prompting(cls, value: str) -> str:
        if value not in PROMPTINGS:
            raise ValueError(f"unknown prompting {value!r}; one of: {', '.join(PROMPTINGS)}")
        return value

    params: dict[str, str] = Field(
        default_factory=dict, description="Task parameters a row must have for the curve to be drawn on it."
    )
    source: str | None = Field(default=None, description="Where the curve's numbers are printed.")
    points: list[PublishedPoint] = Field(min_length=1, description="The published numbers.")
    task: str | None = Field(
        default=None, description="The bench task the numbers were measured on; None: the reference's own."
    )
    variant: Literal["base", "instruct"] | None = Field(
        default=None, description="Base (pretrained) or instruction-tuned models."
    )
    dataset: str | None = Field(default=None, description="Hub dataset id the items came from.")
    split: str | None = Field(default=None, description="The dataset's split.")
    dataset_revision: str | None = Field(default=None, description="The dataset's revision, where known.")
    scoring: Literal["logprob", "generate"] | None = Field(
        default=None, description="How answers are scored."
    )
    requires: dict[str, str] = Field(
        default_factory=dict,
        description="Task parameters the numbers were measured with: the curve is still drawn on rows "
        "without them, but a reproduction verdict says not comparable.",
    )
    measured_with: str | None = Field(
        default=None, description="Harness and version, shots, delimiter, model dtype (free text)."
    )
    n: int | None = Field(default=None, gt=0, description="Items per point, where all points share it.")

    @model_validator(mode="after")
    def _sourced(self) -> Self:
        keys = set()
        for point in self.points:
            if point.source is None and self.source is None:
                raise ValueError(f"{self.name}: the point at {point.params:g} has no source")
            if point.key() in keys:
                raise ValueError(f"{self.name}: two points for {point.key()}")
            keys.add(point.key())
            if self.n is not None and point.n is not None and point.n != self.n:
                raise ValueError(f"{self.name}: a point scored {point.n} items, the curve says {self.n}")
        return self

    def source_of(self, point: PublishedPoint) -> str:
        return point.source or self.source or ""

    def measured_on(self, task: str) -> bool:
        """Whether the numbers were measured on this bench task's items (None: the reference's own)."""
        return self.task is None or self.task == task

    def differences(self, task: TaskInfo, scoring: str | None = None) -> list[str]:
        """Why a row of `task` (scored as `scoring`) is not comparable with this curve; [] if it is."""
        found = []
        if not self.measured_on(task.name):
            found.append(f"different items (published on {self.task}, this row is {task.name})")
        for key, value in self.requires.items():
            if task.params.get(key) != value:
                found.append(f"published with {key}={value}, this row has {key}={task.params.get(key)}")
        if self.scoring is not None and scoring is not None and scoring != self.scoring:
            found.append(f"published scored by {self.scoring}, this row by {scoring}")
        return found


class Marker(_Strict):
    """A size a paper names (e.g. where an ability emerges), drawn as a vertical line."""

    task: str
    params: dict[str, str] = Field(default_factory=dict, description="Task parameters it applies to.")
    at: float = Field(gt=0, allow_inf_nan=False, description="The size, in parameters.")
    label: str
    source: str


class Reference(_Strict):
    title: str
    tasks: list[str] = Field(min_length=1, description="Bench tasks on whose rows the curves are drawn.")
    curves: list[Curve] = []
    markers: list[Marker] = []

    @model_validator(mode="after")
    def _tasks(self) -> Self:
        for name, task in [(c.name, c.task) for c in self.curves] + [(m.label, m.task) for m in self.markers]:
            if task is not None and task not in self.tasks:
                raise ValueError(f"{name}: task {task!r} is not one of the reference's tasks {self.tasks}")
        return self

    def context_tasks(self) -> list[str]:
        """The tasks no curve was measured on: every curve is drawn on their rows as context."""
        measured = {c.task for c in self.curves}
        return [t for t in self.tasks if t not in measured] if None not in measured else []

    def curves_for(self, task: TaskInfo) -> list[Curve]:
        """Curves drawn on a row of `task`: its parameters must match each curve's `params` (e.g. only
        2D+ for arithmetic:digits=2,op=+), and the curve must be measured on it or the task be context."""
        if task.name not in self.tasks:
            return []
        context = task.name in self.context_tasks()
        return [
            c
            for c in self.curves
            if all(task.params.get(k) == v for k, v in c.params.items())
            and (context or c.measured_on(task.name))
        ]

    def markers_for(self, task: TaskInfo) -> list[Marker]:
        return [
            m
            for m in self.markers
            if m.task == task.name and all(task.params.get(k) == v for k, v in m.params.items())
        ]


class ReferenceFile(_Strict):
    version: str
    references: dict[str, Reference]


def load_references(path: Path = FILE) -> dict[str, Reference]:
    """Every reference of the file, by name; a key given twice in one mapping is an error (PyYAML would
    keep the last silently, dropping a reference or changing a number)."""
    try:
        text = path.read_text(encoding="utf-8")
        root = yaml.compose(text, Loader=_LOADER)
        if root is not None:
            check_duplicate_keys(path, root)
        data = ReferenceFile.model_validate(yaml.load(text, Loader=_LOADER))
    except ValidationError as exc:
        raise UsageError(f"{path}: not a valid reference file ({first_problem(exc)})") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        where = f"{path}:{mark.line + 1}" if mark is not None else str(path)
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise UsageError(f"{where}: not a valid reference file ({problem})") from None
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise UsageError(f"{path}: not a valid reference file ({str(exc).splitlines()[0]})") from None
    return data.references


def load_reference(name: str) -> Reference:
    references = load_references()
    if name not in references:
        raise UsageError(
            f"unknown reference {name!r}; choose all, none or one of: {', '.join(sorted(references))}"
        )
    return references[name]
