"""The task interface: a typed factory of seeded items (questions and exemplars), rendered into
instances by the shared prompting steps."""

from __future__ import annotations

import itertools
import random
from abc import ABC, abstractmethod
from collections.abc import Callable, Hashable, Iterator
from typing import TypeVar

from benchmark.errors import UsageError
from benchmark.prompting import PLAIN, Exemplars, Prompting, Question, render
from benchmark.schemas import AnswerType, Instance, TaskInfo
from benchmark.scoring import Scorer, scorer_named


class Task(ABC):
    """A task generates items from a seed; the prompting conditions it supports render them.

    A task supplies questions with their answers (`questions`) and, where it has them, worked examples
    (`exemplars`); each prompting condition is a shared step (`benchmark.prompting`) that turns them into
    prompts, never a branch inside the task. Items are drawn independently of the condition, so
    `plain` and `cot` see the very same items (a paired comparison). Subclasses set the class
    variables and implement `questions`.
    """

    # Set as class attributes by generated tasks, per instance by tasks read from a file.
    name: str
    version: str
    description: str
    promptings: tuple[str, ...] = (PLAIN.name,)
    """Names of the conditions (`benchmark.prompting.PROMPTINGS`) this task runs under."""
    answer_type: AnswerType
    scorer: str | None = None
    """The scorer that reads this task's generated answers, by name (`benchmark.scoring.SCORERS`: number,
    choice, text, or another package's under `bench.scorers`); None: the built-in of `answer_type`."""
    chance: float
    sweeps: tuple[str, ...] = ()
    """Integer parameters that also take a range `A-B` on the command line: one variant per value."""

    @abstractmethod
    def questions(self, seed: int, limit: int | None) -> Iterator[Question]:
        """The first `limit` items for `seed` (all, or a default number, when None), one at a time,
        before any prompting condition."""

    def exemplars(self, seed: int) -> Exemplars:
        """What every prompt shows before its question, for `seed`: none unless the task has examples."""
        return Exemplars()

    def iter_instances(self, seed: int, limit: int | None, prompting: str) -> Iterator[Instance]:
        """The first `limit` items for `seed`, rendered under `prompting`, one at a time (the runner's
        way of reading them)."""
        self.check_prompting(prompting)
        return self.under(Prompting.named(prompting), seed, limit)

    def instances(self, seed: int, limit: int | None, prompting: str) -> list[Instance]:
        """`iter_instances` as a list."""
        return list(self.iter_instances(seed, limit, prompting))

    def under(self, step: Prompting, seed: int, limit: int | None) -> Iterator[Instance]:
        """The items rendered by any condition, also one this task does not list (a condition under
        study): the task's exemplars and questions through the shared step."""
        return render(self.name, step, self.exemplars(seed), self.questions(seed, limit))

    def count(self, seed: int, limit: int | None, prompting: str) -> int:
        """How many instances `iter_instances` yields, without rendering them all where that can be
        avoided (a --limit of 10**20 is counted at once)."""
        self.check_prompting(prompting)
        return sum(1 for _ in self.questions(seed, limit))

    def params(self) -> dict[str, str]:
        """Parameters that select this variant, as written in the manifest."""
        return {}

    def generation_limit(self, prompting: str) -> int | None:
        """The generation budget that no item exceeds under `prompting`, known without rendering the
        items; None when only the items can tell (a run then reads them all before it starts). A task
        that gives it also promises that its items under one condition are alike in answer type and
        scoring, so a run counts them without rendering them (a --limit of 10**20 starts at once)."""
        return None

    def item_count(self, seed: int) -> int | None:
        """How many distinct items this variant has for `seed` (a `--limit` above it gets them all);
        None when it has far more than any run asks for."""
        return None

    def answer_scorer(self) -> Scorer:
        """The scorer this task names; an unknown name is a UsageError listing the known ones."""
        return scorer_named(self.scorer or self.answer_type)

    def info(self, promptings: list[str]) -> TaskInfo:
        return TaskInfo(
            name=self.name,
            version=self.version,
            promptings=promptings,
            chance=self.chance,
            params=self.params(),
            scorer=self.answer_scorer().info(),
        )

    def rng(self, seed: int, stream: str) -> random.Random:
        """A generator that depends only on the task, its parameters, the seed and the stream name."""
        key = ",".join(f"{k}={v}" for k, v in sorted(self.params().items()))
        return random.Random(f"{self.name}|{self.version}|{key}|{seed}|{stream}")

    def check_prompting(self, prompting: str) -> None:
        if prompting not in self.promptings:
            raise UsageError(
                f"task {self.name!r} has no prompting {prompting!r}; it has: {', '.join(self.promptings)}"
            )


class GeneratedTask(Task):
    """A task whose items are generated: it yields them one at a time (`questions`), so a run of
    100,000 items never holds them all."""

    def count(self, seed: int, limit: int | None, prompting: str) -> int:
        """A generated task yields `limit` items (its default number, a few hundred, when None), or all
        its distinct items when it has fewer."""
        if limit is None:
            return super().count(seed, limit, prompting)
        space = self.item_count(seed)
        return max(limit, 0) if space is None else min(max(limit, 0), space)


T = TypeVar("T")

MAX_REPEATS = 100_000
"""`distinct` gives up after this many repeats in a row (an item space used up that no task counted)."""


def distinct(
    draw: Callable[[], T], key: Callable[[T], Hashable], taken: set[Hashable], count: int
) -> Iterator[T]:
    """The first `count` draws whose key is not in `taken`, each key at most once: a repeat is drawn
    again, so no prompt appears twice in a seed. `taken` starts with the keys to leave out (few-shot
    exemplars, whose answers the prompt shows) and grows as items are given. The same draws give the
    same items, and a smaller `count` a prefix of them."""
    repeats = 0
    for _ in itertools.repeat(None, count):
        item = draw()
        while key(item) in taken:
            repeats += 1
            if repeats >= MAX_REPEATS:
                return
            item = draw()
        repeats = 0
        taken.add(key(item))
        yield item
