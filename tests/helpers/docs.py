"""The documentation as tests read it: a page (README.md or docs/NAME.md), a section of it by its heading,
and the relative links it holds, each checked against the files and headings (GitHub's anchors) it
points at. Headings and links inside code blocks are code, not Markdown."""

from __future__ import annotations

import re
from pathlib import Path

from tests.conftest import ROOT

_HEADING = re.compile(r"^(#{1,6}) +(.+?) *#*$")
_LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)(?: +\"[^\"]*\")?\)")
_CODE_SPAN = re.compile(r"`+[^`]*`+")


def page(name: str) -> str:
    """The text of a page, by its path from the repository root (`README.md`, `docs/running.md`)."""
    return (ROOT / name).read_text(encoding="utf-8")


def _prose(text: str) -> list[tuple[int, str]]:
    """(line number, line) of every line outside fenced code blocks."""
    lines, fence = [], ""
    for number, line in enumerate(text.split("\n"), start=1):
        marker = re.match(r"^ {0,3}(`{3,}|~{3,})", line)
        if marker and (not fence or marker.group(1).startswith(fence)):
            fence = "" if fence else marker.group(1)
            continue
        if not fence:
            lines.append((number, line))
    return lines


def headings(text: str) -> list[tuple[int, int, str]]:
    """(line number, level, title) of every heading outside code blocks."""
    found = []
    for number, line in _prose(text):
        match = _HEADING.match(line)
        if match:
            found.append((number, len(match.group(1)), match.group(2)))
    return found


def section(name: str, heading: str, through: str | None = None) -> str:
    """The section of page `name` that opens with the line `heading` (`"## Write a scorer"`), up to the
    next heading of its level or above, or the end of the page; with `through`, up to the end of the
    section that heading opens instead."""
    text = page(name)
    lines = text.split("\n")
    found = headings(text)
    last = heading if through is None else through
    (start,) = [n for n, level, title in found if "#" * level + " " + title == heading]
    (end_of,) = [(n, level) for n, level, title in found if "#" * level + " " + title == last]
    after = [n for n, level, _ in found if n > end_of[0] and level <= end_of[1]]
    stop = after[0] - 1 if after else len(lines)
    return "\n".join(lines[start - 1 : stop])


def anchor(title: str) -> str:
    """The anchor GitHub gives a heading: lower case, punctuation dropped, spaces as hyphens."""
    return re.sub(r"[^\w\- ]", "", title.lower()).replace(" ", "-")


def anchors(text: str) -> set[str]:
    """Every heading's anchor in a page; a repeated one gets -1, -2, ... as on GitHub."""
    seen: dict[str, int] = {}
    result = set()
    for _, _, title in headings(text):
        base = anchor(title)
        count = seen.get(base, 0)
        seen[base] = count + 1
        result.add(base if count == 0 else f"{base}-{count}")
    return result


def links(text: str) -> list[tuple[int, str]]:
    """(line number, target) of every link and image outside code, in the page's order."""
    found = []
    for number, line in _prose(text):
        found += [(number, target) for target in _LINK.findall(_CODE_SPAN.sub("", line))]
    return found


def broken_links(path: Path) -> list[str]:
    """`file:line: target (why)` for every relative link of a Markdown file whose file or heading is
    not there. Links with a scheme (https:, mailto:) are not followed."""
    broken = []
    for number, target in links(path.read_text(encoding="utf-8")):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target):
            continue
        file, _, fragment = target.partition("#")
        linked = (path.parent / file).resolve() if file else path
        where = f"{path.name}:{number}: {target}"
        if not linked.exists():
            broken.append(f"{where} (no such file)")
        elif fragment and linked.suffix != ".md":
            broken.append(f"{where} (an anchor into a file that is not Markdown)")
        elif fragment and fragment not in anchors(linked.read_text(encoding="utf-8")):
            broken.append(f"{where} (no heading with that anchor)")
    return broken
