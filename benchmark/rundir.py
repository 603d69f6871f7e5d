"""The run directory: manifest.json, samples.jsonl, summary.json, report.md, report.html."""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import json
import os
import secrets
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import IO

from pydantic import ValidationError

from benchmark.errors import StorageError, UsageError
from benchmark.records import first_problem
from benchmark.schemas import SCHEMA_VERSION, Manifest, Sample
from benchmark.variants import task_label, variant_key

MANIFEST = "manifest.json"
SAMPLES = "samples.jsonl"
SUMMARY = "summary.json"
LOCK = ".lock"
"""Held (flock, exclusive) by the one process that writes the run: a run, a resume or a report."""
_NEW_FILE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW


def default_run_path(root: Path = Path("runs"), prefix: str = "") -> Path:
    stamp = prefix + datetime.now().strftime("%Y%m%d-%H%M%S")
    path = root / stamp
    suffix = 1
    while path.exists():
        suffix += 1
        path = root / f"{stamp}-{suffix}"
    return path


def file_sha256(path: Path) -> str:
    """sha256 of a file's bytes, read a megabyte at a time (a model file's or a dataset file's identity,
    for the manifest); OSError as open and read raise it."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_atomic(path: Path, text: str) -> None:
    """Write a whole file so that a reader sees the old or the new content, never a half.

    The temporary file beside it gets a fresh random name and is created exclusively, so a file or a
    symbolic link already there (planted, or left by a crash) is never written through. A write that
    fails (a full disk: ENOSPC; a file-size limit: EFBIG) is StorageError, and the old file is intact."""
    try:
        _write_atomic(path, text)
    except OSError as exc:
        raise StorageError(f"cannot write {path}: {exc.strerror or exc}") from None


def _write_atomic(path: Path, text: str) -> None:
    for _ in range(100):
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
        try:
            fd = os.open(tmp, _NEW_FILE, 0o666)
            break
        except FileExistsError:
            continue
    else:
        raise FileExistsError(f"no free temporary name beside {path}")
    try:
        with open(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


class RunDir:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._samples: int | None = None
        """samples.jsonl's descriptor, opened by the first `append_sample`."""
        self._lock: int | None = None
        self._made: list[Path] | None = None
        """The folders `create` made, deepest first (None: not created by this process)."""

    @staticmethod
    def check_new(path: Path) -> None:
        """Refuse, before anything is created, a path that holds a run or lies under a file."""
        if (path / SAMPLES).exists() or (path / MANIFEST).exists():
            raise _holds_a_run(path)
        existing = path
        while not existing.exists() and existing != existing.parent:
            existing = existing.parent
        if not existing.is_dir():
            raise UsageError(f"cannot write to --out {path}: {existing} is not a folder")

    @classmethod
    def create(cls, path: Path) -> RunDir:
        """A new run directory, locked, holding an empty samples.jsonl (so that a run stopped before its
        first sample can still be resumed). Refuses a folder that holds a run or cannot be written."""
        cls.check_new(path)
        made = [folder for folder in (path, *path.parents) if not folder.exists()]
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise UsageError(f"cannot write to --out {path}: {exc.strerror or exc}") from None
        run = cls(path)
        run._made = made
        run.lock()
        try:
            if (path / MANIFEST).exists():
                raise FileExistsError
            os.close(os.open(path / SAMPLES, _NEW_FILE, 0o666))  # the claim: exactly one process wins
        except FileExistsError:
            run.release()
            raise _holds_a_run(path) from None
        except OSError as exc:
            run.release()
            raise UsageError(f"cannot write to --out {path}: {exc.strerror or exc}") from None
        return run

    @classmethod
    def open(cls, path: Path) -> RunDir:
        """An existing run directory, checked to be one this version can read. A run stopped before
        its first sample may have no samples.jsonl (older versions of bench created it with the first)."""
        for name in (MANIFEST, SAMPLES):
            if (path / name).is_symlink():
                raise UsageError(
                    f"{path / name} is a symbolic link; bench reads and writes a run's own files only, "
                    "never through a link: put the file itself there (nothing was changed)"
                )
        samples = path / SAMPLES
        if not (path / MANIFEST).is_file() or (samples.exists() and not samples.is_file()):
            raise UsageError(f"{path} is not a run directory (it has no {MANIFEST})")
        run = cls(path)
        run.read_manifest()
        return run

    def lock(self) -> None:
        """Take the run's lock for this process, or refuse: one writer at a time, for the whole run.
        The operating system drops it when the process ends, however it ends."""
        if self._lock is not None:
            return
        try:
            fd = os.open(self.path / LOCK, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o666)
        except OSError as exc:
            raise UsageError(f"cannot write to {self.path}: {exc.strerror or exc}") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            raise UsageError(
                f"{self.path} is in use by another bench process (a run, resume or report); "
                "wait until it ends (nothing was changed)"
            ) from None
        self._lock = fd

    def release(self) -> None:
        """Close the samples file and give the lock up."""
        try:
            self.close()
        finally:
            if self._lock is not None:
                os.close(self._lock)  # closing the descriptor drops the flock
                self._lock = None

    def discard(self) -> bool:
        """Remove a run directory this process created (`create`) that holds no sample yet: its
        manifest, its empty samples.jsonl, its lock, and the folders made for it if they are empty, so
        that a run that failed to start leaves nothing behind that blocks the same --out. Returns
        whether it did; a run with a sample, or one this process did not create, is left alone."""
        if self._made is None:
            return False
        with contextlib.suppress(StorageError):
            self.close()
        try:
            if (self.path / SAMPLES).lstat().st_size > 0:
                return False
        except FileNotFoundError:
            pass
        except OSError:
            return False
        for name in (MANIFEST, SAMPLES, LOCK):
            with contextlib.suppress(OSError):
                (self.path / name).unlink()
        self.release()
        for folder in self._made:
            try:
                folder.rmdir()
            except OSError:
                break
        self._made = None
        return True

    def write_manifest(self, manifest: Manifest) -> None:
        write_atomic(self.path / MANIFEST, manifest.model_dump_json(indent=2) + "\n")

    def read_manifest(self) -> Manifest:
        file = self.path / MANIFEST
        try:
            data = json.loads(file.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise UsageError(f"{file}: not readable JSON ({exc})") from None
        version = data.get("schema_version") if isinstance(data, dict) else None
        if type(version) is int and version > SCHEMA_VERSION:  # a string or a bool is no version
            raise UsageError(
                f"{file}: written by a newer bench (schema {version}, this one reads {SCHEMA_VERSION}); "
                "upgrade bench"
            )
        try:
            return Manifest.model_validate(data)
        except ValidationError as exc:
            raise UsageError(f"{file}: not a bench manifest ({first_problem(exc)})") from None

    def append_sample(self, sample: Sample) -> None:
        """Append one line and hand it to the operating system before returning: once this returns,
        the sample survives the process being killed (the file is fsync'd when the run closes it).
        Written unbuffered, so a failed write (StorageError) leaves nothing waiting to be written: at
        most a torn last line, which `repair` cuts off before a resume."""
        file = self.path / SAMPLES
        line = memoryview((sample.model_dump_json() + "\n").encode("utf-8"))
        try:
            if self._samples is None:
                flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW
                self._samples = os.open(file, flags, 0o666)
            while line:
                line = line[os.write(self._samples, line) :]
        except OSError as exc:
            raise StorageError(f"cannot write {file}: {exc.strerror or exc}") from None

    def close(self) -> None:
        """Close samples.jsonl once it is on disk (fsync); StorageError if it cannot be."""
        if self._samples is not None:
            fd, self._samples = self._samples, None
            try:
                os.fsync(fd)
            except OSError as exc:
                raise StorageError(f"cannot write {self.path / SAMPLES}: {exc.strerror or exc}") from None
            finally:
                os.close(fd)

    def iter_samples(self) -> Iterator[Sample]:
        """The samples, in the order written. A last line without its newline (a run killed while
        writing it) is not a sample yet and is skipped; `repair` drops it before a resume."""
        file = self.path / SAMPLES
        if not file.exists():
            return  # stopped before its first sample
        seen: set[bytes] = set()  # 16-byte digests of the keys: a sample appears once
        with _own_file(file, os.O_RDONLY) as handle:
            for number, line in enumerate(handle, start=1):
                if not line.endswith(b"\n"):
                    return
                if not line.strip():
                    continue
                try:
                    sample = Sample.model_validate_json(line)
                except ValidationError as exc:
                    raise UsageError(f"{file}:{number}: not a bench sample ({first_problem(exc)})") from None
                variant = variant_key(sample.task_params)
                key = (sample.model, sample.task, variant, sample.prompting, sample.scoring, sample.item_id)
                digest = hashlib.blake2b(repr(key).encode(), digest_size=16).digest()
                if digest in seen:
                    raise UsageError(
                        f"{file}:{number}: a second sample of model {sample.model!r}, task "
                        f"{task_label(sample.task, sample.task_params)}, prompting {sample.prompting}, "
                        f"scoring {sample.scoring}, item {sample.item_id}; an item appears once per "
                        "scoring mode (remove one of its lines)"
                    )
                seen.add(digest)
                yield sample

    def repair(self) -> int:
        """Check every complete line, then cut a torn last line (a crash mid-write) off `samples.jsonl`.
        Returns the bytes dropped. A damaged line elsewhere is an error and nothing is changed."""
        file = self.path / SAMPLES
        for _ in self.iter_samples():
            pass
        if not file.exists():
            return 0
        with _own_file(file, os.O_RDONLY) as handle:
            size = os.fstat(handle.fileno()).st_size
            end = size
            while end > 0:
                start = max(0, end - 65536)
                handle.seek(start)
                block = handle.read(end - start)
                cut = block.rfind(b"\n")
                if cut >= 0:
                    end = start + cut + 1
                    break
                end = start
        if end < size:
            with _own_file(file, os.O_RDWR) as handle:
                handle.truncate(end)
                handle.flush()
                os.fsync(handle.fileno())
        return size - end

    def write_summary(self, data: dict[str, object]) -> None:
        """summary.json: the rows and the curves with their analyses' results (reports.Summary.dump)."""
        write_atomic(self.path / SUMMARY, json.dumps(data, indent=2, allow_nan=False) + "\n")

    def write_text(self, name: str, text: str) -> None:
        write_atomic(self.path / name, text)


def _own_file(file: Path, flags: int) -> IO[bytes]:
    """A run's own file opened in binary, never through a symbolic link (one line if it is one)."""
    try:
        fd = os.open(file, flags | os.O_NOFOLLOW)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise UsageError(f"{file} is a symbolic link; bench reads a run's own files only") from None
        raise
    return open(fd, "r+b" if flags & os.O_RDWR else "rb")


def _holds_a_run(path: Path) -> UsageError:
    return UsageError(f"{path} already holds a run; choose another --out (nothing was changed)")
