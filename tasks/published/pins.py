"""Pins: the commit and file sha256 a published task's items were first read from on this machine.

One small JSON file per (task, version) in bench's cache directory (`$BENCH_CACHE_DIR`, else
`$XDG_CACHE_HOME/bench`, else `~/.cache/bench`), under `dataset-pins/`, written atomically at first use.
Later runs read the pinned commit and must find the same bytes: other bytes under the same task version
are refused in one line, so the items never change silently. `bench tasks unpin NAME` removes a task's
pins (the next run pins what it reads); a new task version starts a pin of its own."""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path

from pydantic import Field, ValidationError

from benchmark.cache import default_cache_dir
from benchmark.errors import UsageError
from benchmark.records import Record, first_problem
from benchmark.rundir import write_atomic
from benchmark.schemas import utc_now

FOLDER = "dataset-pins"


class Pin(Record):
    """What a published task's items were read from at its first use on this machine."""

    task: str
    version: str
    repo: str
    revision: str = Field(description="The commit the files were read at.")
    files: dict[str, str] = Field(description="Each data file (repository path) and its sha256.")
    pinned_at: datetime


def folder() -> Path:
    return default_cache_dir() / FOLDER


def pin_path(task: str, version: str) -> Path:
    safe = re.sub(r"[^A-Za-z0-9_.@-]", "_", f"{task}@{version}")
    return folder() / f"{safe}.json"


def read_pin(task: str, version: str) -> Pin | None:
    """The task version's pin; None when there is none. A damaged pin is one line naming its file."""
    path = pin_path(task, version)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as error:
        raise UsageError(f"{path}: cannot read the dataset pin ({error}); delete it to pin afresh") from None
    try:
        pin = Pin.model_validate(json.loads(text))
    except (ValueError, ValidationError) as error:
        reason = first_problem(error, Pin) if isinstance(error, ValidationError) else "not valid JSON"
        raise UsageError(
            f"{path}: damaged dataset pin ({reason}); delete it (bench tasks unpin {task}) to pin afresh"
        ) from None
    if (pin.task, pin.version) != (task, version):
        raise UsageError(f"{path}: pins {pin.task} version {pin.version}, not {task} {version}; delete it")
    return pin


def write_pin(task: str, version: str, repo: str, revision: str, files: dict[str, str]) -> Pin:
    pin = Pin(task=task, version=version, repo=repo, revision=revision, files=files, pinned_at=utc_now())
    path = pin_path(task, version)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, pin.model_dump_json(indent=2) + "\n")
    except OSError as error:
        raise UsageError(f"{path}: cannot write the dataset pin ({error.strerror or error})") from None
    return pin


def check(pin: Pin, revision: str, files: dict[str, str]) -> None:
    """Refuse files whose bytes differ from the pin's, in one line."""
    if files == pin.files:
        return
    changed = sorted(set(files) ^ set(pin.files)) or [p for p in sorted(files) if files[p] != pin.files[p]]
    first = changed[0]
    was, now = pin.files.get(first, "absent")[:12], files.get(first, "absent")[:12]
    raise UsageError(
        f"{pin.task} version {pin.version}: {pin.repo} {first} has other bytes than at its first use on "
        f"this machine (sha256 {was}… at {pin.revision[:12]}, now {now}… at {revision[:12]}); the items "
        f"would change silently, so bench stops: restore the files, or accept them with "
        f"`bench tasks unpin {pin.task}` ({pin_path(pin.task, pin.version)})"
    )


def unpin(task: str) -> list[Path]:
    """Remove every version's pin of `task`; the paths removed."""
    removed = []
    prefix = re.sub(r"[^A-Za-z0-9_.-]", "_", task) + "@"
    for path in sorted(folder().glob("*.json")) if folder().is_dir() else []:
        if path.name.startswith(prefix):
            try:
                path.unlink()
            except OSError as error:
                raise UsageError(f"{path}: cannot remove the pin ({error.strerror or error})") from None
            removed.append(path)
    return removed
