"""The run directory: manifest.json, samples.jsonl, summary.json, report.md, report.html."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import IO

from pydantic import ValidationError

from benchmark.errors import UsageError
from benchmark.schemas import SCHEMA_VERSION, Manifest, Sample, SummaryRow

MANIFEST = "manifest.json"
SAMPLES = "samples.jsonl"
SUMMARY = "summary.json"


def default_run_path(root: Path = Path("runs"), prefix: str = "") -> Path:
    stamp = prefix + datetime.now().strftime("%Y%m%d-%H%M%S")
    path = root / stamp
    suffix = 1
    while path.exists():
        suffix += 1
        path = root / f"{stamp}-{suffix}"
    return path


def write_atomic(path: Path, text: str) -> None:
    """Write a whole file so that a reader sees the old or the new content, never a half."""
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


class RunDir:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._samples: IO[str] | None = None

    @classmethod
    def create(cls, path: Path) -> RunDir:
        """A new, empty run directory. Refuses a folder that already holds a run or cannot be written."""
        if (path / SAMPLES).exists() or (path / MANIFEST).exists():
            raise UsageError(f"{path} already holds a run; choose another --out (nothing was changed)")
        try:
            path.mkdir(parents=True, exist_ok=True)
            probe = path / ".write-test"
            probe.write_text("")
            probe.unlink()
        except OSError as exc:
            raise UsageError(f"cannot write to --out {path}: {exc.strerror or exc}") from None
        return cls(path)

    @classmethod
    def open(cls, path: Path) -> RunDir:
        """An existing run directory, checked to be one this version can read."""
        if not (path / MANIFEST).is_file() or not (path / SAMPLES).is_file():
            raise UsageError(f"{path} is not a run directory (it needs {MANIFEST} and {SAMPLES})")
        run = cls(path)
        run.read_manifest()
        return run

    def write_manifest(self, manifest: Manifest) -> None:
        write_atomic(self.path / MANIFEST, manifest.model_dump_json(indent=2) + "\n")

    def read_manifest(self) -> Manifest:
        file = self.path / MANIFEST
        try:
            data = json.loads(file.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise UsageError(f"{file}: not readable JSON ({exc})") from None
        version = data.get("schema_version") if isinstance(data, dict) else None
        if isinstance(version, int) and version > SCHEMA_VERSION:
            raise UsageError(
                f"{file}: written by a newer bench (schema {version}, this one reads {SCHEMA_VERSION}); "
                "upgrade bench"
            )
        try:
            return Manifest.model_validate(data)
        except ValidationError as exc:
            raise UsageError(f"{file}: not a bench manifest ({_first_error(exc)})") from None

    def append_sample(self, sample: Sample) -> None:
        """Append one line and hand it to the operating system before returning: once this returns,
        the sample survives the process being killed (the file is fsync'd when the run closes it)."""
        if self._samples is None:
            self._samples = open(self.path / SAMPLES, "a", encoding="utf-8")  # noqa: SIM115
        self._samples.write(sample.model_dump_json() + "\n")
        self._samples.flush()

    def close(self) -> None:
        if self._samples is not None:
            self._samples.flush()
            os.fsync(self._samples.fileno())
            self._samples.close()
            self._samples = None

    def iter_samples(self) -> Iterator[Sample]:
        """The samples, in the order written. A last line without its newline (a run killed while
        writing it) is not a sample yet and is skipped; `repair` drops it before a resume."""
        file = self.path / SAMPLES
        with open(file, "rb") as handle:
            for number, line in enumerate(handle, start=1):
                if not line.endswith(b"\n"):
                    return
                if not line.strip():
                    continue
                try:
                    yield Sample.model_validate_json(line)
                except ValidationError as exc:
                    raise UsageError(f"{file}:{number}: not a bench sample ({_first_error(exc)})") from None

    def repair(self) -> int:
        """Check every complete line, then cut a torn last line (a crash mid-write) off `samples.jsonl`.
        Returns the bytes dropped. A damaged line elsewhere is an error and nothing is changed."""
        file = self.path / SAMPLES
        for _ in self.iter_samples():
            pass
        size = file.stat().st_size
        with open(file, "rb") as handle:
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
            with open(file, "r+b") as handle:
                handle.truncate(end)
                handle.flush()
                os.fsync(handle.fileno())
        return size - end

    def write_summary(self, rows: list[SummaryRow]) -> None:
        data = [row.model_dump(mode="json") for row in rows]
        write_atomic(self.path / SUMMARY, json.dumps(data, indent=2, allow_nan=False) + "\n")

    def write_text(self, name: str, text: str) -> None:
        write_atomic(self.path / name, text)


def _first_error(exc: ValidationError) -> str:
    error = exc.errors()[0]
    where = ".".join(str(x) for x in error.get("loc", ())) or "record"
    return f"{where}: {error.get('msg', 'invalid')}"
