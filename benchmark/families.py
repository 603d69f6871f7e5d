"""Model families: the members of one family at several sizes, read from a YAML file.

A family file names, for each member, the provider and model id, its size (a parameter count, or for
API families whose sizes are undisclosed an explicit rank), and whether it is the base or the
instruction-tuned variant. Shipped families are in providers/families/; a path works as well.
"""

from __future__ import annotations

from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import Literal

import yaml
from pydantic import Field, ValidationError, field_validator, model_validator

from benchmark.errors import UsageError
from benchmark.schemas import Record, first_problem, problem_path
from benchmark.sizes import MAX_PARAMS, MAX_RANK, parse_size
from benchmark.yamlfile import check_duplicate_keys, read_yaml

SHIPPED = Path(str(resources.files("providers") / "families"))
"""The shipped family files, package data of `providers` (which owns them), wherever it is installed."""


class Member(Record):
    """One model of a family."""

    provider: str = Field(description="Provider adapter (local, openai, anthropic, hf, scripted).")
    model: str | None = Field(description="Model id for the provider; null: the provider's default model.")
    params: int | None = Field(
        default=None,
        gt=0,
        le=MAX_PARAMS,
        description="Parameter count (e.g. 1.4B); for a local GGUF the count read from the file wins.",
    )
    rank: int | None = Field(
        default=None, ge=1, le=MAX_RANK, description="Size rank when the sizes are undisclosed."
    )
    variant: Literal["base", "instruct"] = Field(description="Pretrained base or instruction-tuned.")
    base_url: str | None = Field(default=None, description="Server for this member (a server per size).")

    @field_validator("params", mode="before")
    @classmethod
    def _size(cls, value: object) -> object:
        if isinstance(value, bool):
            raise ValueError(f"must be a number, not {value}")
        try:
            return parse_size(value) if isinstance(value, str) else value
        except UsageError as exc:  # inside a validator, a ValueError gets the file, line and field
            raise ValueError(str(exc)) from None

    @model_validator(mode="after")
    def _one_size(self) -> Member:
        if (self.params is None) == (self.rank is None):
            raise ValueError("give exactly one of params (a parameter count) or rank (undisclosed sizes)")
        return self


class Family(Record):
    """A family file."""

    name: str
    version: str = Field(description="Bumped when members or sizes change.")
    description: str
    source: str = Field(description="Where the sizes come from.")
    members: list[Member] = Field(min_length=1)

    @model_validator(mode="after")
    def _consistent(self) -> Family:
        ranked = {m.rank is not None for m in self.members}
        if len(ranked) > 1:
            raise ValueError("members must all give params, or all give rank")
        keys = [(m.provider, m.model, m.variant) for m in self.members]
        if len(set(keys)) != len(keys):
            raise ValueError("a member (provider, model, variant) is listed twice")
        return self

    @property
    def by_rank(self) -> bool:
        return self.members[0].rank is not None


def shipped() -> list[Path]:
    return sorted(SHIPPED.glob("*.yaml"))


def load_family(spec: str) -> Family:
    """A shipped family by name, or a family file by path; UsageError with file:line on any problem."""
    path = SHIPPED / f"{spec}.yaml"
    if "/" in spec or not path.is_file():
        path = Path(spec)
        if not path.is_file():
            names = ", ".join(p.stem for p in shipped())
            raise UsageError(f"unknown family {spec!r}; shipped families: {names} (or give a .yaml path)")
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read family file {path}: {exc.strerror or exc}") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise UsageError(f"{path}:{line}: not UTF-8 text") from None
    node, data = read_yaml(path, text)
    if node is not None:
        check_duplicate_keys(path, node)
    if not isinstance(data, dict):
        raise UsageError(f"{path}:1: a family file is a mapping with name, version, description, members")
    try:
        return Family.model_validate(data)
    except ValidationError as exc:
        line = _line_of(node, problem_path(exc))
        raise UsageError(f"{path}:{line}: {first_problem(exc, Family)}") from None


def _line_of(node: yaml.Node | None, where: Sequence[object]) -> int:
    """The line of the YAML node at `where` (mapping keys and list indexes), as deep as it exists."""
    line = node.start_mark.line + 1 if node is not None else 1
    for key in where:
        if isinstance(node, yaml.MappingNode):
            found = next((v for k, v in node.value if getattr(k, "value", None) == key), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
            found = node.value[key]
        else:
            found = None
        if found is None:
            break
        node = found
        line = node.start_mark.line + 1
    return line
