"""The response cache (benchmark/cache.py): a malformed answer is that item's error and never cached; a
poisoned entry is asked again and replaced; a bad --out creates no cache; a cache in a read-only folder is
one line that says so, not "damaged"."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.helpers.cli import assert_one_line_error
from tests.helpers.runs import complete_samples

RUN = ["--provider", "openai", "--model", "m", "--task", "arithmetic", "--prompting", "plain", "--limit", "2"]


def _completion(text: Any = " 5", usage: Any = None) -> bytes:
    usage = {"prompt_tokens": 10, "completion_tokens": 3} if usage is None else usage
    return json.dumps({"choices": [{"index": 0, "text": text}], "usage": usage}).encode()


def _cached_values(cache: Path) -> list[str]:
    db = sqlite3.connect(cache / "responses.sqlite")
    try:
        return [row[0] for row in db.execute("SELECT value FROM responses")]
    finally:
        db.close()


MALFORMED = {
    "usage with a string count": (200, _completion(usage={"prompt_tokens": "lots"})),
    "usage with a negative count": (200, _completion(usage={"completion_tokens": -4})),
    "text that is a number": (200, _completion(text=123)),
    "text that is an object": (200, _completion(text={"a": 1})),
    "no choices": (200, b'{"usage": {}}'),
    "choices that are a string": (200, b'{"choices": "abc"}'),
    "a JSON list": (200, b'[{"choices": [{"text": " 5"}]}]'),
    "an HTML page": (200, b"<html><body>Bad gateway</body></html>"),
    "garbage": (200, b"\x00\xff garbage \x1b[2J"),
    "ten megabytes of junk": (200, b"x" * 10_000_000),
    "deeply nested JSON": (200, b"[" * 100_000 + b"]" * 100_000),
}


@pytest.mark.parametrize("answer", list(MALFORMED.values()), ids=list(MALFORMED))
def test_a_malformed_answer_is_the_items_error_and_never_cached(
    cli, fake, tmp_path: Path, answer: tuple[int, bytes]
) -> None:
    fake.state.raw = lambda number, body: answer
    out, cache = tmp_path / "run", tmp_path / "cache"
    env = {"BENCH_CACHE_DIR": str(cache)}
    result = cli("run", *RUN, "--base-url", fake.url, "--out", str(out), env=env)
    assert result.code == 1, result.err
    assert "Traceback" not in result.err
    # Told as it happened: each item asked once, not "after 5 attempts".
    assert "2 items got no answer: a malformed answer, asked once (not retried)" in result.err
    assert "attempts" not in result.err
    samples = complete_samples(out)
    assert len(samples) == 2 and all((s.error or "").startswith("invalid_answer: ") for s in samples)
    assert len(fake.state.requests) == 2  # not retried: it would say the same again
    assert _cached_values(cache) == []
    assert (out / "report.html").is_file()
    # The next run asks the server again, and a good answer is then cached.
    fake.state.raw = None
    again = cli("run", *RUN, "--base-url", fake.url, "--out", str(tmp_path / "again"), env=env)
    assert again.code == 0, again.err
    assert len(fake.state.requests) == 4 and len(_cached_values(cache)) == 2


def test_a_poisoned_cache_entry_is_asked_again_and_replaced(cli, fake, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    env = {"BENCH_CACHE_DIR": str(cache)}
    assert cli("run", *RUN, "--base-url", fake.url, "--out", str(tmp_path / "first"), env=env).code == 0
    db = sqlite3.connect(cache / "responses.sqlite")
    db.execute("""UPDATE responses SET value = '{"text": 123, "prompt_tokens": "lots"}'""")
    db.commit()
    db.close()
    result = cli("run", *RUN, "--base-url", fake.url, "--out", str(tmp_path / "second"), env=env)
    assert result.code == 0 and "Traceback" not in result.err, result.err
    assert len(fake.state.requests) == 4  # both asked again
    assert all(isinstance(json.loads(value)["text"], str) for value in _cached_values(cache))
    first, second = (complete_samples(tmp_path / name) for name in ("first", "second"))
    assert [s.response for s in second] == [s.response for s in first]
    assert not any(s.cached or s.error for s in second)


def test_a_bad_out_creates_no_cache(cli, tmp_path: Path) -> None:
    blocked = tmp_path / "blocked"
    blocked.write_text("a file, not a folder")
    cache = tmp_path / "cache"
    result = cli(
        "run", "--provider", "scripted", "--out", str(blocked / "run"), env={"BENCH_CACHE_DIR": str(cache)}
    )
    assert_one_line_error(result, "cannot write to --out")
    assert not cache.exists()


@contextlib.contextmanager
def _read_only(folder: Path) -> Iterator[None]:
    """`folder` (and what is in it) read-only, even for root (which ignores permission bits): chattr +i."""
    targets = [folder, *folder.iterdir()]
    if os.geteuid() == 0:
        if shutil.which("chattr") is None:
            pytest.skip("root, and no chattr to make a folder read-only")
        done = subprocess.run(["chattr", "+i", *map(str, targets)], capture_output=True)
        if done.returncode != 0:
            pytest.skip(f"chattr +i is not allowed here: {done.stderr.decode().strip()}")
        undo = ["chattr", "-i", *map(str, targets)]
    else:
        for target in targets:
            target.chmod(0o555 if target.is_dir() else 0o444)
        undo = []
    try:
        yield
    finally:
        if undo:
            subprocess.run(undo, check=True)
        for target in targets:
            target.chmod(0o755 if target.is_dir() else 0o644)


@pytest.mark.parametrize("existing", [False, True])
def test_a_cache_in_a_read_only_folder_is_not_called_damaged(cli, tmp_path: Path, existing: bool) -> None:
    cache = tmp_path / "cache"
    cache.mkdir()
    args = ["run", "--provider", "scripted", "--task", "arithmetic", "--prompting", "plain", "--limit", "1"]
    if existing:
        assert cli(*args, "--out", str(tmp_path / "first"), env={"BENCH_CACHE_DIR": str(cache)}).code == 0
    before = {p.name: p.read_bytes() for p in cache.iterdir()}
    with _read_only(cache):
        result = cli(*args, "--out", str(tmp_path / "run"), env={"BENCH_CACHE_DIR": str(cache)})
    assert_one_line_error(result, "cannot use the response cache", "can be written", "--no-cache")
    assert "damaged" not in result.err
    assert {p.name: p.read_bytes() for p in cache.iterdir()} == before
