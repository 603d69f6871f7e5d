"""Model families: the members of one family at several sizes, read from a YAML file.

A family file names, for each member, the provider and model id, its size (a parameter count, or for
API families whose sizes are undisclosed an explicit rank), and whether it is the base or the
instruction-tuned variant. A member may also name a training checkpoint: a Hub `revision` (for provider
hf, the weights loaded) and the training `tokens` seen by then, the second scale axis of a report.
Shipped families are in providers/families/; a path works as well. `--sizes` and `--checkpoints` take a
subset of a family's members (`select_members`).
"""

from __future__ import annotations

from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import Literal

import yaml
from pydantic import Field, ValidationError, field_validator, model_validator

from benchmark.errors import UsageError
from benchmark.records import Record, first_problem, problem_path
from benchmark.sizes import MAX_PARAMS, MAX_RANK, format_size, parse_size
from benchmark.yamlfile import check_duplicate_keys, read_yaml
from providers.hf_models import HUB_ID

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
    revision: str | None = Field(
        default=None,
        min_length=1,
        description="Hub revision of a training checkpoint (e.g. step143000); for provider hf it selects "
        "the weights (as model org/name@revision would), for others it is what the member is said to be.",
    )
    tokens: float | None = Field(
        default=None,
        gt=0,
        allow_inf_nan=False,
        description="Training tokens seen at this revision (Pythia: step x 2,097,152).",
    )
    hub_id: str | None = Field(
        default=None,
        min_length=1,
        description="The Hub model this member is, for matching published results; for an hf member "
        "its model id without @revision unless given.",
    )

    @field_validator("params", mode="before")
    @classmethod
    def _size(cls, value: object) -> object:
        if isinstance(value, bool):
            raise ValueError(f"must be a number, not {value}")
        try:
            return parse_size(value) if isinstance(value, str) else value
        except UsageError as exc:  # inside a validator, a ValueError gets the file, line and field
            raise ValueError(str(exc)) from None

    @field_validator("tokens", mode="before")
    @classmethod
    def _number(cls, value: object) -> object:
        if isinstance(value, bool):
            raise ValueError(f"must be a number of tokens, not {value}")
        return value

    @model_validator(mode="after")
    def _one_size(self) -> Member:
        if (self.params is None) == (self.rank is None):
            raise ValueError("give exactly one of params (a parameter count) or rank (undisclosed sizes)")
        repo = hub_repo(self.provider, self.model)
        if repo is not None and self.model is not None and "@" in self.model:
            written = self.model.partition("@")[2]
            if self.revision is not None and self.revision != written:
                raise ValueError(f"model names revision {written!r} and revision says {self.revision!r}")
            self.model, self.revision = repo, written
        if self.hub_id is None:
            self.hub_id = repo
        if self.tokens is not None and self.revision is None:
            raise ValueError("tokens belong to a checkpoint: give its revision too")
        return self

    @property
    def model_id(self) -> str | None:
        """The id the provider loads: for an hf Hub member with a revision, `org/name@revision`."""
        if self.revision is not None and hub_repo(self.provider, self.model) is not None:
            return f"{self.model}@{self.revision}"
        return self.model


def hub_repo(provider: str, model: str | None) -> str | None:
    """The Hub repository (org/name) an hf model id names, without its @revision; None for anything
    else (another provider, the default model, a local folder or file, a GGUF in a repository)."""
    if provider != "hf" or model is None or not HUB_ID.match(model) or _on_disk(model):
        return None
    return model.partition("@")[0]


def _on_disk(model: str) -> bool:
    """Whether `model` names a local file or folder (which the hf provider loads before the Hub)."""
    try:
        return Path(model).expanduser().exists()
    except (OSError, ValueError):  # a name too long for a path: not one
        return False


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
        keys = [(m.provider, m.model, m.revision, m.variant) for m in self.members]
        if len(set(keys)) != len(keys):
            raise ValueError("a member (provider, model, revision, variant) is listed twice")
        return self

    @property
    def by_rank(self) -> bool:
        return self.members[0].rank is not None

    @property
    def checkpoints(self) -> list[str]:
        """The members' revisions, in order of training tokens (then of first appearance)."""
        found = {m.revision: m.tokens for m in self.members if m.revision is not None}
        return sorted(found, key=lambda r: (found[r] is None, found[r] or 0.0))


def select_members(family: Family, sizes: Sequence[str], checkpoints: Sequence[str]) -> list[Member]:
    """The members of the given sizes (parameter counts within 5%: 70M picks Pythia's 70.4M) and at
    the given revisions; every member where either is empty. UsageError naming the valid values when
    one matches no member."""
    members = list(family.members)
    if sizes:
        if family.by_rank:
            raise UsageError(f"--sizes: family {family.name} gives size ranks, not parameter counts")
        known = sorted({m.params or 0 for m in members})
        valid = ", ".join(format_size(p) for p in known)
        wanted = set()
        for text in sizes:
            try:
                asked = parse_size(text)
            except UsageError as exc:
                raise UsageError(f"--sizes: {exc}; family {family.name}'s sizes: {valid}") from None
            near = min(known, key=lambda p: abs(p - asked))
            if abs(near - asked) > 0.05 * near:
                raise UsageError(f"--sizes {text}: family {family.name} has no such size; its sizes: {valid}")
            wanted.add(near)
        members = [m for m in members if m.params in wanted]
    if checkpoints:
        valid = ", ".join(family.checkpoints)
        if not valid:
            raise UsageError(
                f"--checkpoints: family {family.name} has no checkpoints (no member names a revision)"
            )
        for name in checkpoints:
            if name not in family.checkpoints:
                raise UsageError(
                    f"--checkpoints {name}: family {family.name} has no such revision; "
                    f"its checkpoints: {valid}"
                )
        members = [m for m in members if m.revision in checkpoints]
    return members


def split_list(text: str | None) -> list[str]:
    """A comma-separated flag's values (--sizes 70M,410M), blanks dropped."""
    return [part.strip() for part in (text or "").split(",") if part.strip()]


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
