"""Published reference curves (reports/references.yaml), overlaid on report plots, never in the stats."""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from benchmark.errors import UsageError
from benchmark.schemas import TaskInfo

FILE = Path(__file__).with_name("references.yaml")


class Curve(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    prompting: str = Field(description="The prompting condition of ours it corresponds to.")
    params: dict[str, str] = Field(default_factory=dict, description="Task parameters it applies to.")
    points: list[tuple[float, float]] = Field(description="(parameters, accuracy) pairs.")


class Reference(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str
    tasks: list[str]
    curves: list[Curve]

    def curves_for(self, task: TaskInfo) -> list[Curve]:
        """Curves that match the task and its parameters (e.g. only 2D+ for arithmetic:digits=2,op=+)."""
        if task.name not in self.tasks:
            return []
        return [c for c in self.curves if all(task.params.get(k) == v for k, v in c.params.items())]


class ReferenceFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: str
    references: dict[str, Reference]


def load_reference(name: str) -> Reference:
    try:
        data = ReferenceFile.model_validate(yaml.safe_load(FILE.read_text(encoding="utf-8")))
    except (OSError, yaml.YAMLError, ValidationError) as exc:
        raise UsageError(f"{FILE}: not a valid reference file ({str(exc).splitlines()[0]})") from None
    if name not in data.references:
        raise UsageError(f"unknown reference {name!r}; choose one of: {', '.join(sorted(data.references))}")
    return data.references[name]
