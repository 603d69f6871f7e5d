"""The catalog of published datasets (`catalog.yaml` beside this module): one entry per task name, read
and checked once. The catalog is data; the readers it names (`reader`) are in `tasks.published.rows`."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationError

from benchmark.errors import UsageError
from benchmark.records import Record, first_problem
from benchmark.schemas import AnswerType
from benchmark.yamlfile import check_duplicate_keys, read_yaml

CATALOG = Path(__file__).with_name("catalog.yaml")
EXEMPLARS = Path(__file__).with_name("exemplars.yaml")

Reader = Literal["prize", "gsm8k", "multiarith"]
"""How a record becomes an item: prize (prompt, classes, answer_index; classes a list or a string such
as "[' Y', ' N']"), gsm8k (question, answer ending "#### N"), multiarith (question, final_ans)."""


class SplitFiles(Record):
    """One split of a dataset and the files that hold it."""

    name: str = Field(description="Split name (train, test).")
    patterns: list[str] = Field(
        min_length=1,
        description="Glob patterns of the split's files in the repository, tried in order: the first that "
        "matches a file is used (all of its matches, sorted).",
    )


class CatalogEntry(Record):
    """One published task: where its items are on the Hub, what they are and how to cite them."""

    name: str
    version: str = Field(description="Bumped when the reader, prompts or pinned revision change.")
    description: str
    repo: str = Field(description="Hub dataset id (repo_type dataset).")
    config: str | None = None
    revision: str | None = Field(
        default=None,
        description="A commit to read; None: the default branch, pinned at first use on a machine.",
    )
    splits: list[SplitFiles] = Field(min_length=1, description="Read in order; their items concatenated.")
    reader: Reader
    answer_type: AnswerType
    promptings: list[str] = Field(min_length=1, description="Prompting conditions that make sense here.")
    chance: float = Field(ge=0, le=1)
    items: int = Field(gt=0, description="Items expected (where known from a published source).")
    items_source: str = Field(description="Where the expected count comes from.")
    license: str
    citation: str
    group: str = Field(description="Heading in `bench tasks list` (the collection the task belongs to).")


class Shot(Record):
    """A worked example of the published few-shot chain-of-thought prompts."""

    question: str
    reasoning: str = Field(description="The chain of thought, ending in 'The answer is N.'.")
    answer: str = Field(description="The final answer.")


class ExemplarSet(Record):
    name: str
    source: str
    shots: list[Shot]


class Exemplars(Record):
    sets: list[ExemplarSet]


class Catalog(Record):
    tasks: list[CatalogEntry]


def _read(path: Path, model: type[Catalog] | type[Exemplars]) -> Catalog | Exemplars:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise UsageError(f"{path}: cannot read the catalog ({error.strerror})") from None
    root, data = read_yaml(path, text)
    if root is not None:
        check_duplicate_keys(path, root)
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise UsageError(f"{path}: {first_problem(error, model)}") from None


@functools.cache
def catalog() -> dict[str, CatalogEntry]:
    """The catalog's entries by task name."""
    read = _read(CATALOG, Catalog)
    assert isinstance(read, Catalog)
    entries: dict[str, CatalogEntry] = {}
    for entry in read.tasks:
        if entry.name in entries:
            raise UsageError(f"{CATALOG}: task {entry.name!r} is listed twice")
        entries[entry.name] = entry
    return entries


@functools.cache
def exemplar_set(name: str) -> ExemplarSet:
    """A set of published few-shot exemplars by name (`exemplars.yaml`)."""
    read = _read(EXEMPLARS, Exemplars)
    assert isinstance(read, Exemplars)
    for found in read.sets:
        if found.name == name:
            return found
    raise UsageError(f"{EXEMPLARS}: no exemplar set {name!r}")
