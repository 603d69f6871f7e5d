"""What a resumed run checks before it goes on: its tasks render as they did (names, versions,
parameters), and the files its items came from (a task file, a published task's data files) hold the
bytes it recorded; a run begun by a bench that recorded no task file's sha256 gets today's."""

from __future__ import annotations

from pathlib import Path

from benchmark.errors import UsageError
from benchmark.schemas import TaskInfo


def resumable_tasks(path: Path, recorded: list[TaskInfo], now: list[TaskInfo]) -> list[TaskInfo]:
    """The tasks of the run at `path` as it `recorded` them (a missing file sha256 filled in), when
    they are the tasks this bench renders `now` for the same command; else a UsageError that says why
    the run cannot go on."""
    tasks = _file_sha256_filled(recorded, now)
    changed = _data_changed(tasks, now)
    if changed is not None:
        raise UsageError(f"{path}: {changed}")
    if [t.model_dump() for t in tasks] != [t.model_dump() for t in now]:
        raise UsageError(
            f"{path}: its tasks (names, versions, parameters) differ from what this "
            "bench renders for the same command; finish it with the bench version that began it"
        )
    return tasks


def _file_sha256_filled(before: list[TaskInfo], now: list[TaskInfo]) -> list[TaskInfo]:
    """The run's tasks, with each task file's sha256 as found now where the run did not record one (a
    run of schema 8 or older): checked as before on this resume, and by its bytes from then on."""
    filled = [
        old if old.file_sha256 is not None else old.model_copy(update={"file_sha256": new.file_sha256})
        for old, new in zip(before, now, strict=False)
    ]
    return filled + before[len(filled) :]


def _data_changed(before: list[TaskInfo], now: list[TaskInfo]) -> str | None:
    """Why a resumed run cannot go on with its items: a task file, or a published task's data file,
    whose sha256 differs from the one the run recorded (the items would change mid-run, whatever
    version the file declares); None when none does."""
    for old, new in zip(before, now, strict=False):
        if old.name == new.name and old.file_sha256 != new.file_sha256:
            then, now_ = (old.file_sha256 or "absent")[:12], (new.file_sha256 or "absent")[:12]
            return (
                f"task {old.name} read {old.params.get('file', 'its file')} with sha256 {then}… and "
                f"finds {now_}… now (its version, {old.version!r}, says nothing of an edit); restore "
                "the file to finish the run, or start a new run"
            )
        if old.name != new.name or old.dataset is None or new.dataset is None:
            continue
        was, found = old.dataset.files, new.dataset.files
        for path in sorted({*was, *found}):
            if was.get(path) != found.get(path):
                then, now_ = was.get(path, "absent")[:12], found.get(path, "absent")[:12]
                return (
                    f"task {old.name} read {old.dataset.repo} {path} with sha256 {then}… (commit "
                    f"{old.dataset.revision[:12]}), and finds {now_}… now (commit "
                    f"{new.dataset.revision[:12]}); restore those files to finish the run"
                )
    return None
