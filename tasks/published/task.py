"""The published tasks' classes: a task class per catalog entry (`task_class`), its items fetched,
pinned, read and recorded at first use."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import ClassVar

import click

from benchmark.errors import UsageError
from benchmark.prompting import Exemplars, Prompting, Question, Shot
from benchmark.schemas import DatasetSource, TaskInfo
from benchmark.terminal import plain
from tasks.base import Task
from tasks.formats import DEFAULT_MAX_TOKENS, Item
from tasks.published import hub, pins
from tasks.published.catalog import CatalogEntry, catalog, exemplar_set
from tasks.published.rows import read_items

__all__ = ["ArithmeticTask", "PrizeTask", "PublishedTask", "task_class"]

SPACINGS = ("prize", "lm-eval-0.3")
"""How a prize task's classes follow the prompt: `prize`, as written (each begins with its own space),
as the prize and today's lm-evaluation-harness score them; `lm-eval-0.3`, one more space before each,
as lm-evaluation-harness v0.3.0's MultipleChoiceTask scored them (lm_eval/base.py at v0.3.0, commit
62ca1840: `rf.loglikelihood(ctx, " {}".format(choice))`), the setting of Michaelov & Bergen's numbers."""

ARITHMETIC_MAX_TOKENS = 256
"""Generation budget of a GSM8K or MultiArith answer: room for a worked solution (a direct answer ends
at its line's end)."""


@dataclass(frozen=True)
class Loaded:
    """A published task's items and where they came from."""

    items: list[Item]
    source: DatasetSource


class PublishedTask(Task):
    """A task whose items are a published dataset's, in the dataset's order whatever the seed."""

    entry: ClassVar[CatalogEntry]

    def __init__(self) -> None:
        self._loaded: Loaded | None = None

    @property
    def budget(self) -> int:
        return ARITHMETIC_MAX_TOKENS if self.answer_type == "number" else DEFAULT_MAX_TOKENS[self.answer_type]

    def load(self, local_only: bool = False) -> Loaded:
        """The items, fetched and pinned at the first call (`local_only`: from the Hub cache only)."""
        if self._loaded is None:
            self._loaded = load(self.entry, local_only)
        return self._loaded

    def questions(self, seed: int, limit: int | None) -> Iterator[Question]:
        items = self.load().items
        for item in items if limit is None else items[: max(limit, 0)]:
            yield self.question(item)

    def question(self, item: Item) -> Question:
        classes = tuple(item.classes) if item.classes is not None else None
        return Question(
            item.id, item.prompt, item.answer_type, item.target, self.budget, classes, item.answer_index
        )

    def count(self, seed: int, limit: int | None, prompting: str) -> int:
        self.check_prompting(prompting)
        total = len(self.load().items)
        return total if limit is None else min(max(limit, 0), total)

    def item_count(self, seed: int) -> int:
        return len(self.load().items)

    def generation_limit(self, prompting: str) -> int:
        return Prompting.named(prompting).max_tokens(self.budget)

    def info(self, promptings: list[str]) -> TaskInfo:
        loaded = self.load()
        counts = [len(item.classes) for item in loaded.items if item.classes]
        chance = sum(1 / n for n in counts) / len(counts) if counts else self.chance
        return super().info(promptings).model_copy(update={"chance": chance, "dataset": loaded.source})


class PrizeTask(PublishedTask):
    """An Inverse Scaling Prize classification task: the prompt, then the class each answer is scored
    as (by log-probability, or read from the generated text)."""

    def __init__(self, spacing: str = "prize") -> None:
        super().__init__()
        if spacing not in SPACINGS:
            raise UsageError(f"{self.name}: spacing must be one of {', '.join(SPACINGS)}, not {spacing!r}")
        self.spacing = spacing

    def params(self) -> dict[str, str]:
        return {"spacing": self.spacing}

    def question(self, item: Item) -> Question:
        question = super().question(item)
        if self.spacing == "prize" or question.classes is None:
            return question
        classes = tuple(" " + c for c in question.classes)
        target = classes[question.answer_index or 0]
        return Question(
            question.item_id,
            question.text,
            "choice",
            target,
            question.max_tokens,
            classes,
            question.answer_index,
        )


class ArithmeticTask(PublishedTask):
    """A math word problem dataset under Wei et al. 2022's prompts: "Q: ...\\nA:" after their eight
    exemplars, shown with their answers (plain) or their reasoning (cot)."""

    def exemplars(self, seed: int) -> Exemplars:
        shots = exemplar_set("wei2022_math").shots
        return Exemplars(
            tuple(
                Shot(_cued(s.question), answer=f" The answer is {s.answer}.", reasoning=f" {s.reasoning}")
                for s in shots
            )
        )

    def question(self, item: Item) -> Question:
        return Question(item.id, _cued(item.prompt), "number", item.target, self.budget)


def _cued(question: str) -> str:
    return f"Q: {question}\nA:"


def load(entry: CatalogEntry, local_only: bool = False) -> Loaded:
    """Fetch the entry's files (at its pinned commit once pinned), check them against the pin, read
    them, and pin them at first use."""
    pin = pins.read_pin(entry.name, entry.version)
    revision = pin.revision if pin else entry.revision or "main"
    snapshot = hub.fetch(entry, revision, local_only)
    files = {name: hub.sha256(snapshot.path(name)) for names in snapshot.files.values() for name in names}
    if pin is not None:
        pins.check(pin, snapshot.commit, files)
    items: list[Item] = []
    for split in entry.splits:
        for name in snapshot.files[split.name]:
            read = read_items(snapshot.path(name), entry.reader)
            items += [_renumbered(item, split.name, len(items) + n) for n, item in enumerate(read, start=1)]
    if pin is None:
        pins.write_pin(entry.name, entry.version, entry.repo, snapshot.commit, files)
    if len(items) != entry.items:
        _note(f"{entry.name}: {entry.repo} at {snapshot.commit[:12]} holds {len(items)} items, not the "
              f"{entry.items} published; running what it holds")  # fmt: skip
    source = DatasetSource(
        repo=entry.repo,
        config=entry.config,
        splits=[split.name for split in entry.splits],
        revision=snapshot.commit,
        files=files,
        items=len(items),
        license=entry.license,
        citation=entry.citation,
    )
    return Loaded(items, source)


def _renumbered(item: Item, split: str, number: int) -> Item:
    """The item with a stable id: its split and its place in the concatenated splits."""
    return Item(
        f"{split}-{number:05d}", item.line, item.kind, item.prompt, item.answer_type, item.target,
        item.classes, item.answer_index,
    )  # fmt: skip


def _note(text: str) -> None:
    click.echo(plain(text), err=True)


@functools.cache
def task_class(name: str) -> type[PublishedTask]:
    """The task class of the catalog entry `name` (one class per name, made once)."""
    entry = catalog()[name]
    base: type[PublishedTask] = PrizeTask if entry.reader == "prize" else ArithmeticTask
    attributes = {
        "name": entry.name,
        "version": entry.version,
        "description": entry.description,
        "promptings": tuple(entry.promptings),
        "answer_type": entry.answer_type,
        "chance": entry.chance,
        "entry": entry,
        "__module__": __name__,
        "__doc__": f"{entry.description} ({entry.repo}).",
    }
    return type(_class_name(entry.name), (base,), attributes)


def _class_name(name: str) -> str:
    return "".join(part.capitalize() for part in re.split(r"[^a-zA-Z0-9]", name) if part)
