"""The task interface: a typed factory of seeded instances."""

from __future__ import annotations

import random
from abc import ABC, abstractmethod
from collections.abc import Iterator

from benchmark.errors import UsageError
from benchmark.schemas import AnswerType, Instance, TaskInfo


class Task(ABC):
    """A task generates items from a seed and renders each under every prompting condition it supports.

    Items are drawn independently of the prompting condition, so `plain` and `cot` see the very
    same items (a paired comparison). Subclasses set the class variables and implement `instances`.
    """

    # Set as class attributes by generated tasks, per instance by tasks read from a file.
    name: str
    version: str
    description: str
    promptings: tuple[str, ...] = ("plain",)
    answer_type: AnswerType
    chance: float

    @abstractmethod
    def instances(self, seed: int, limit: int | None, prompting: str) -> list[Instance]:
        """The first `limit` items for `seed` (all when None), rendered under `prompting`."""

    def iter_instances(self, seed: int, limit: int | None, prompting: str) -> Iterator[Instance]:
        """`instances`, one at a time (the runner's way of reading them)."""
        return iter(self.instances(seed, limit, prompting))

    def count(self, seed: int, limit: int | None, prompting: str) -> int:
        """How many instances `iter_instances` yields, without rendering them all where that can be
        avoided (a --limit of 10**20 is counted at once)."""
        return sum(1 for _ in self.iter_instances(seed, limit, prompting))

    def params(self) -> dict[str, str]:
        """Parameters that select this variant, as written in the manifest."""
        return {}

    def info(self, promptings: list[str]) -> TaskInfo:
        return TaskInfo(
            name=self.name,
            version=self.version,
            promptings=promptings,
            chance=self.chance,
            params=self.params(),
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
    """A task whose items are generated: it yields them one at a time (`iter_instances`), so a run of
    100,000 items never holds them all; `instances` lists them for callers that want a list."""

    @abstractmethod
    def iter_instances(self, seed: int, limit: int | None, prompting: str) -> Iterator[Instance]:
        """The first `limit` items for `seed` (a default number when None), rendered under `prompting`."""

    def instances(self, seed: int, limit: int | None, prompting: str) -> list[Instance]:
        return list(self.iter_instances(seed, limit, prompting))

    def count(self, seed: int, limit: int | None, prompting: str) -> int:
        """A generated task yields exactly `limit` items (its default number, a few hundred, when None)."""
        return super().count(seed, limit, prompting) if limit is None else max(limit, 0)
