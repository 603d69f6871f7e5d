"""Published scaling tasks by name: the Inverse Scaling Prize's classification tasks (as lm-evaluation-
harness reads them, and Michaelov & Bergen 2023's copies), GSM8K and MultiArith, read from the Hugging
Face Hub (`catalog.yaml`; README.md beside this module).

Each catalog entry is a task class of its own (`task.task_class`), registered in code (`PublishedTasks`),
so a source checkout finds it by name; listing the names reads the catalog and imports no task module.
A task's items are read at first use: the files come through huggingface_hub (`hub`), are pinned on this
machine (`pins`), read by the readers of `rows`, and recorded in the run's manifest (`TaskInfo.dataset`:
repository, commit, each file's sha256)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from tasks.base import Task
from tasks.published.catalog import catalog

__all__ = ["PublishedTasks"]


class PublishedTasks(Mapping[str, type[Task]]):
    """The catalog's task classes by name, each made at its first lookup."""

    def __getitem__(self, name: str) -> type[Task]:
        if name not in catalog():
            raise KeyError(name)
        from tasks.published.task import task_class

        return task_class(name)

    def __iter__(self) -> Iterator[str]:
        return iter(catalog())

    def __len__(self) -> int:
        return len(catalog())
