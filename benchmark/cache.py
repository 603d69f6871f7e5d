"""The response cache: every answer a model gave, stored once, so no rerun or resume buys it twice.

An SQLite database in WAL mode (`responses.sqlite` in the cache directory; move or share the folder as
you like; several runs may use it at once). Each answer is stored under a content address: the sha256 of
the model's identity (provider, model id, file hash or endpoint), the kind of request, the exact prompt,
the decoding parameters and the task version. Errors are never cached.

Each answer is committed before its sample is written, so a crash loses at most the requests in flight.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from benchmark.errors import BenchError, StorageError, UsageError

CACHE_VERSION = 1
"""Format of the database (`PRAGMA user_version`); a newer one is refused, never rewritten."""
FILENAME = "responses.sqlite"
_DAMAGED = ("SQLITE_CORRUPT", "SQLITE_NOTADB")
"""SQLite's error codes for a file that is not a sound database (others: read-only, locked, full, ...)."""
_AFTER_SAMPLES = "(samples so far are kept), then resume"
T = TypeVar("T")


def default_cache_dir() -> Path:
    """$BENCH_CACHE_DIR, else $XDG_CACHE_HOME/bench, else ~/.cache/bench."""
    if os.environ.get("BENCH_CACHE_DIR"):
        return Path(os.environ["BENCH_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "bench"


def request_key(identity: dict[str, str], kind: str, request: dict[str, Any], task_version: str) -> str:
    """The content address of one request: equal exactly when the same model is asked the same thing."""
    payload = {
        "cache": CACHE_VERSION,
        "model": identity,
        "kind": kind,
        "request": request,
        "task_version": task_version,
    }
    text = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class ResponseCache:
    """Answers by request key. `hits` and `stored` count this process's use."""

    def __init__(self, directory: Path) -> None:
        self.path = directory / FILENAME
        self.hits = 0
        self.stored = 0
        try:
            directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise UsageError(f"cannot create the cache folder {directory}: {exc.strerror or exc}") from None
        try:
            self._db = sqlite3.connect(self.path, timeout=30.0, isolation_level=None)
        except sqlite3.Error as exc:
            raise self._refused(exc, "(it was not changed)") from None
        try:
            version = self._db.execute("PRAGMA user_version").fetchone()[0]
            if version > CACHE_VERSION:
                raise UsageError(
                    f"{self.path}: response cache written by a newer bench (format {version}, this one "
                    f"reads {CACHE_VERSION}); upgrade bench, or use another --cache-dir or --no-cache"
                )
            tables = {row[0] for row in self._db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
            if tables and "responses" not in tables:
                raise UsageError(
                    f"{self.path}: an SQLite file that is not a bench response cache; "
                    "move it aside, or use another --cache-dir or --no-cache"
                )
            self._db.execute("PRAGMA journal_mode=WAL")
            # NORMAL in WAL mode: a committed answer survives the process being killed.
            self._db.execute("PRAGMA synchronous=NORMAL")
            if not tables:
                self._db.execute(
                    "CREATE TABLE IF NOT EXISTS responses (key TEXT PRIMARY KEY, kind TEXT NOT NULL, "
                    "value TEXT NOT NULL, created_at REAL NOT NULL)"
                )
                self._db.execute(f"PRAGMA user_version = {CACHE_VERSION}")
        except sqlite3.DatabaseError as exc:
            self._db.close()
            raise self._refused(exc, "(it was not changed)") from None
        except UsageError:
            self._db.close()
            raise

    def get(self, key: str, decode: Callable[[Any], T]) -> T | None:
        """The answer stored under `key` as `decode` reads it; None when there is none, or when the entry
        is unreadable or `decode` refuses it (ValueError): the model is asked again and the answer
        stored afresh, so a damaged or poisoned entry never reaches a sample."""
        try:
            row = self._db.execute("SELECT value FROM responses WHERE key = ?", (key,)).fetchone()
        except sqlite3.DatabaseError as exc:
            raise self._refused(exc, _AFTER_SAMPLES) from None
        if row is None:
            return None
        try:
            value = decode(json.loads(row[0]))
        except (ValueError, RecursionError):  # json.JSONDecodeError is a ValueError
            return None
        self.hits += 1
        return value

    def has(self, key: str) -> bool:
        """Whether an answer is stored under `key` (without counting a hit)."""
        try:
            row = self._db.execute("SELECT 1 FROM responses WHERE key = ?", (key,)).fetchone()
        except sqlite3.DatabaseError as exc:
            raise self._refused(exc, _AFTER_SAMPLES) from None
        return row is not None

    def put(self, key: str, kind: str, value: dict[str, Any]) -> None:
        text = json.dumps(value, ensure_ascii=False)
        try:
            self._db.execute(
                "INSERT OR REPLACE INTO responses (key, kind, value, created_at) "
                "VALUES (?, ?, ?, julianday('now'))",
                (key, kind, text),
            )
        except sqlite3.DatabaseError as exc:
            raise self._refused(exc, _AFTER_SAMPLES) from None
        self.stored += 1

    def _refused(self, exc: sqlite3.Error, then: str) -> BenchError:
        """What went wrong with the database file, told apart by SQLite's own error code: a damaged
        file is to be moved aside; one that cannot be written (a read-only folder or file, no space)
        needs its folder fixed. `then` says what happened to the run."""
        damaged = getattr(exc, "sqlite_errorname", "") in _DAMAGED
        if damaged:
            what = f"the response cache is damaged or not a database ({exc}); move it aside"
        else:
            what = (
                f"cannot use the response cache ({exc}); check that {self.path.parent} and the file "
                "can be written"
            )
        if not damaged and then == _AFTER_SAMPLES:  # a full disk mid-run: the run says what it kept
            return StorageError(f"{self.path}: {what}, or use another --cache-dir or --no-cache")
        return UsageError(f"{self.path}: {what}, or use another --cache-dir or --no-cache {then}")

    def close(self) -> None:
        self._db.close()
