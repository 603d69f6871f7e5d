"""A published dataset's files from the Hugging Face Hub, through huggingface_hub, in the Hub cache.

`HF_HOME` / `HF_HUB_CACHE` (where), `HF_TOKEN` (gated or private copies) and `HF_HUB_OFFLINE` (never ask
the Hub) are read when a dataset is fetched, so they may change between calls in one process.
huggingface_hub's own progress bars show a download on stderr. Every failure is one `UsageError` line
that names the task, the dataset and what to do; none waits on retries (short timeouts, no retry)."""

from __future__ import annotations

import fnmatch
import os
from dataclasses import dataclass
from pathlib import Path

from benchmark.errors import UsageError
from benchmark.rundir import file_sha256
from tasks.published.catalog import CatalogEntry

TIMEOUT_S = 10.0
"""Seconds to wait for the Hub to answer before the cache is tried (huggingface_hub's etag timeout)."""


class NotCached(UsageError):
    """The dataset is not in the Hub cache and the Hub was not (or could not be) asked."""


@dataclass(frozen=True)
class Snapshot:
    """A dataset's files at one commit, as the Hub cache holds them."""

    commit: str
    folder: Path
    files: dict[str, list[str]]
    """The files of each split (repository paths), in reading order."""

    def path(self, name: str) -> Path:
        return self.folder / name


def hub_cache() -> Path:
    """The Hub cache huggingface_hub uses: $HF_HUB_CACHE, else $HF_HOME/hub, else ~/.cache/huggingface/hub."""
    if os.environ.get("HF_HUB_CACHE"):
        return Path(os.environ["HF_HUB_CACHE"]).expanduser()
    home = os.environ.get("HF_HOME") or str(
        Path(os.environ.get("XDG_CACHE_HOME", "~/.cache")) / "huggingface"
    )
    return Path(home).expanduser() / "hub"


def offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").strip().upper() in ("1", "ON", "YES", "TRUE")


def patterns(entry: CatalogEntry) -> list[str]:
    return [pattern for split in entry.splits for pattern in split.patterns]


def fetch(entry: CatalogEntry, revision: str, local_only: bool = False) -> Snapshot:
    """The dataset's files at `revision` (a branch or a commit), downloaded into the Hub cache unless
    they are there; `local_only` never asks the Hub (NotCached when they are not in the cache)."""
    from huggingface_hub import HfApi, snapshot_download
    from huggingface_hub.utils import (
        GatedRepoError,
        HfHubHTTPError,
        LocalEntryNotFoundError,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    where = f"{entry.name} needs {entry.repo} (revision {revision}) from the Hugging Face Hub"
    cache = hub_cache()
    token = os.environ.get("HF_TOKEN") or None
    cached_only = local_only or offline()
    try:
        if not cached_only:
            # The commit first, within TIMEOUT_S (huggingface_hub's own look-up waits without a limit):
            # a Hub that does not answer leaves the cache to answer.
            try:
                info = HfApi().repo_info(
                    entry.repo, repo_type="dataset", revision=revision, timeout=TIMEOUT_S, token=token
                )
                revision = info.sha or revision
            except (RepositoryNotFoundError, GatedRepoError, RevisionNotFoundError):
                raise
            except Exception:  # noqa: BLE001 - no answer (network, proxy, server): the cache decides
                cached_only = True
        folder = snapshot_download(
            entry.repo,
            repo_type="dataset",
            revision=revision,
            cache_dir=str(cache),
            allow_patterns=patterns(entry),
            local_files_only=cached_only,
            etag_timeout=TIMEOUT_S,
            token=token,
        )
    except (RepositoryNotFoundError, GatedRepoError):
        raise UsageError(
            f"{where}: the Hub says it does not exist or is gated; log in (HF_TOKEN) if it is gated"
        ) from None
    except RevisionNotFoundError:
        raise UsageError(f"{where}: the Hub has no such revision") from None
    except LocalEntryNotFoundError:
        if offline():
            why = "HF_HUB_OFFLINE is set; unset it and connect once"
        else:
            why = "the Hub was not asked" if local_only else "the Hub is unreachable; connect once"
        raise NotCached(
            f"{where}: not in the cache (HF_HUB_CACHE={cache}) and {why}, or copy a Hub cache that holds it"
        ) from None
    except HfHubHTTPError as error:
        raise UsageError(f"{where}: the Hub answered {_status(error)}; try again later") from None
    except OSError as error:
        raise UsageError(f"{where}: {error.strerror or error}") from None
    return locate(entry, Path(folder))


def _status(error: Exception) -> str:
    response = getattr(error, "response", None)
    code = getattr(response, "status_code", None)
    return f"HTTP {code}" if code is not None else type(error).__name__


def locate(entry: CatalogEntry, folder: Path) -> Snapshot:
    """Each split's files in a snapshot folder: the matches of the first of its patterns that matches."""
    present = sorted(
        path.relative_to(folder).as_posix()
        for path in folder.rglob("*")
        if path.is_file() or path.is_symlink()
    )
    files: dict[str, list[str]] = {}
    for split in entry.splits:
        for pattern in split.patterns:
            found = [name for name in present if fnmatch.fnmatch(name, pattern)]
            if found:
                files[split.name] = found
                break
        else:
            listed = ", ".join(present[:20]) or "no files"
            raise UsageError(
                f"{entry.name}: {entry.repo} at {folder.name} has no file for split {split.name!r} "
                f"(tried {', '.join(split.patterns)}); it has: {listed}"
            )
    for name in (n for names in files.values() for n in names):
        if not (folder / name).resolve().is_file():  # a link to a device or a folder: never read it
            raise UsageError(f"{entry.name}: {folder / name} is not a regular file; delete it from the cache")
    return Snapshot(folder.name, folder, files)


def sha256(path: Path) -> str:
    try:
        return file_sha256(path)
    except OSError as error:
        raise UsageError(f"{path}: cannot read the file ({error.strerror or error})") from None
