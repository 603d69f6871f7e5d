"""A published dataset's files as items: JSON Lines, a JSON list, the prize's CSV, a zip holding one of
those (Michaelov & Bergen's copies), or Parquet (the Hub's conversion; needs pyarrow). The catalog's
`reader` turns each record into an item. Every problem is one `UsageError` line, `FILE:LINE: reason`
(for Parquet, LINE is the row)."""

from __future__ import annotations

import json
import zipfile
import zlib
from pathlib import Path
from typing import Any

from pydantic import Field

from benchmark.errors import UsageError
from tasks.formats import _INTEGER, Item, PrizeRecord, Text, UserRecord, fail, validate
from tasks.published.catalog import Reader
from tasks.readers import json_lines, loads, read_prize_csv

MAX_MEMBER_BYTES = 64 * 1024 * 1024
"""The largest file bench unpacks from a zip (the prize's largest task, sig-figs, is a few MB): the
limit bounds what a small archive can make bench hold in memory."""

Rows = list[tuple[int, dict[str, Any]]]


class GsmRecord(UserRecord):
    question: Text
    answer: Text = Field(description="Worked solution ending in '#### N'.")


class MultiArithRecord(UserRecord):
    question: Text
    final_ans: str | int | float


def read_items(path: Path, reader: Reader) -> list[Item]:
    """The items of one data file, in file order."""
    suffix = path.suffix.lower()
    if suffix == ".zip":
        member, data = _unzip(path)
        return _items(Path(f"{path}!{member}"), data, reader)
    if suffix == ".parquet":
        return _convert(path, _parquet_rows(path), reader)
    try:
        data = path.read_bytes()
    except OSError as error:
        raise UsageError(f"{path}: cannot read the file ({error.strerror or error})") from None
    return _items(path, data, reader)


def _items(path: Path, data: bytes, reader: Reader) -> list[Item]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        fail(path, data.count(b"\n", 0, error.start) + 1, "not UTF-8 text")
    name = path.name.lower()
    if name.endswith(".csv"):
        if reader != "prize":
            fail(path, 1, f"a CSV file, but the {reader} reader reads JSON Lines, JSON or Parquet")
        return read_prize_csv(path, text).items
    rows = _json_list(path, text) if text.lstrip().startswith("[") else json_lines(path, text)
    return _convert(path, rows, reader)


def _convert(path: Path, rows: Rows, reader: Reader) -> list[Item]:
    if not rows:
        fail(path, 1, "no records")
    if reader == "prize":
        return [_prize(path, line, raw) for line, raw in rows]
    if reader == "gsm8k":
        return [_gsm8k(path, line, raw) for line, raw in rows]
    return [_multiarith(path, line, raw) for line, raw in rows]


def _prize(path: Path, line: int, raw: dict[str, Any]) -> Item:
    record = validate(path, line, PrizeRecord, raw, keep=("prompt", "classes", "answer_index"))
    index = record.answer_index
    return Item(
        str(line), line, "prize", record.prompt, "choice", record.classes[index], record.classes, index
    )


def _gsm8k(path: Path, line: int, raw: dict[str, Any]) -> Item:
    record = validate(path, line, GsmRecord, raw, keep=("question", "answer"))
    _, sep, final = record.answer.rpartition("####")
    answer = final.strip().replace(",", "")
    if not sep or not _INTEGER.fullmatch(answer):
        fail(path, line, f"answer must end in '#### N' (an integer), not {record.answer[-40:]!r}")
    return Item(str(line), line, "gsm8k", record.question.strip(), "number", answer)


def _multiarith(path: Path, line: int, raw: dict[str, Any]) -> Item:
    record = validate(path, line, MultiArithRecord, raw, keep=("question", "final_ans"))
    answer = _number(record.final_ans)
    if answer is None:
        fail(path, line, f"final_ans must be a number, not {str(record.final_ans)[:40]!r}")
    return Item(str(line), line, "multiarith", record.question.strip(), "number", answer)


def _number(value: str | int | float) -> str | None:
    """A whole number as its digits ("5.0" and 5.0 are "5"); None for anything else."""
    text = str(value).strip().replace(",", "")
    if text.endswith(".0"):
        text = text[:-2]
    return text if _INTEGER.fullmatch(text) else None


def _json_list(path: Path, text: str) -> Rows:
    """A JSON list of objects, each with the line it starts on."""
    decoder = json.JSONDecoder()
    rows: Rows = []
    pos = text.index("[") + 1
    line = text.count("\n", 0, pos) + 1
    while True:
        start = pos
        pos = _skip_space(text, pos)
        line += text.count("\n", start, pos)
        if pos >= len(text):
            fail(path, line, "the file ends before its list closes (truncated?)")
        if text[pos] == "]" and not rows:
            break
        try:
            record, end = decoder.raw_decode(text, pos)
            loads(text[pos:end])  # refuses duplicate keys
        except json.JSONDecodeError as error:
            fail(path, error.lineno, f"not valid JSON ({error.msg} at column {error.colno})")
        except ValueError as error:
            fail(path, line, str(error))
        if not isinstance(record, dict):
            fail(path, line, f"each element must be a JSON object, not {type(record).__name__}")
        rows.append((line, record))
        line += text.count("\n", pos, end)
        after = _skip_space(text, end)
        line += text.count("\n", end, after)
        if after >= len(text):
            fail(path, line, "the file ends before its list closes (truncated?)")
        if text[after] == "]":
            break
        if text[after] != ",":
            fail(path, line, f"expected ',' or ']' after an element, not {text[after]!r}")
        pos = after + 1
    return rows


def _skip_space(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] in " \t\r\n":
        pos += 1
    return pos


def _unzip(path: Path) -> tuple[str, bytes]:
    """The one data file (CSV, JSON Lines or JSON) a zip archive holds."""
    try:
        with zipfile.ZipFile(path) as archive:
            members = [
                info
                for info in archive.infolist()
                if not info.is_dir()
                and not info.filename.startswith("__MACOSX/")
                and info.filename.lower().endswith((".csv", ".jsonl", ".json"))
            ]
            if len(members) != 1:
                names = ", ".join(info.filename for info in archive.infolist()[:10]) or "nothing"
                fail(path, 1, f"expected one CSV or JSON file in the archive, found: {names}")
            [member] = members
            if member.file_size > MAX_MEMBER_BYTES:
                fail(
                    path,
                    1,
                    f"{member.filename} unpacks to {member.file_size} bytes, over the limit of "
                    f"{MAX_MEMBER_BYTES} bytes",
                )
            return member.filename, archive.read(member)
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, RuntimeError) as error:
        fail(path, 1, f"not a readable zip archive ({str(error)[:80] or type(error).__name__})")


def _parquet_rows(path: Path) -> Rows:
    try:
        import pyarrow
        import pyarrow.parquet as parquet
    except ImportError:
        raise UsageError(
            f"{path}: a Parquet file; reading it needs pyarrow: pip install -e '.[datasets]'"
        ) from None
    try:
        table = parquet.read_table(path)
    except (pyarrow.ArrowException, OSError) as error:
        fail(
            path, 1, f"not a readable Parquet file ({str(error).splitlines()[0][:80] if str(error) else ''})"
        )
    return list(enumerate(table.to_pylist(), start=1))
