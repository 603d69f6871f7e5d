"""What bench shows in a terminal: the progress bar, and `plain`/`shown`, the one
way text from a model, a file or a user reaches the screen.

That text is untrusted: an ESC from a task file could clear the screen or plant a link (OSC 8), and a
`[/bold]` in a model id is rich markup. `plain` writes every control character as an escape (`\\x1b`)
and `shown` also makes rich markup inert, so such text is displayed, never obeyed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from rich.console import Console, RenderableType
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text

# C0 and C1 controls, DEL, and the bidirectional marks and overrides that reorder what is shown.
_OTHER_CONTROLS = "\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
_CONTROL = re.compile(f"[\x00-\x1f{_OTHER_CONTROLS}]")
_CONTROL_BUT_LINES = re.compile(f"[\x00-\x08\x0b-\x1f{_OTHER_CONTROLS}]")  # keeps \t and \n


def _escaped(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def plain(text: str, lines: bool = True) -> str:
    """`text` with each control character written as an escape (ESC as `\\x1b`); newlines and tabs
    are kept when `lines` (a prompt), escaped too when not (a one-line message)."""
    return (_CONTROL_BUT_LINES if lines else _CONTROL).sub(_escaped, text)


def json_plain(text: str) -> str:
    """JSON text with each control character in its strings written as a JSON escape (U+202E as
    `\\u202e`): the same JSON once read, displayed in a terminal, never obeyed. Newlines and tabs
    are kept (JSON writes those inside a string as escapes already)."""
    return _CONTROL_BUT_LINES.sub(lambda match: f"\\u{ord(match.group()):04x}", text)


def no_answer_line(errors: Iterable[str], attempts: int) -> str:
    """The end of a run's line on its items without an answer (`errors`: their samples' `error`), true
    to how each was asked: a failed request up to `attempts` times, a malformed answer
    (`invalid_answer: ...`) once, since asking again would get the same."""
    malformed = failed = 0
    for error in errors:
        if error.startswith("invalid_answer:"):
            malformed += 1
        else:
            failed += 1
    parts = [f"{_items(failed)} no answer after {attempts} attempts"] if failed else []
    if malformed:
        parts.append(f"{_items(malformed)} no answer: a malformed answer, asked once (not retried)")
    return (
        "; ".join(parts) + ": recorded as errors (not counted as wrong); a new run asks for them again, "
        "the rest comes from the cache"
    )


def _items(count: int) -> str:
    return f"{count} item got" if count == 1 else f"{count} items got"


def shown(text: str) -> str:
    """`plain(text)` with rich markup escaped: for text printed through rich (tables, rules)."""
    return escape(plain(text))


class RichProgress:
    """The runner's progress as a rich bar on stderr: the model, what it is working on (task variant,
    prompting, scoring), this model's samples done of all, time spent and an estimate of the time left
    for this model (rich's, from the pace of the last half minute: chain-of-thought items take longer
    than log-prob ones, so it moves as the run does), with retries shown as they happen."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.bar: Progress | None = None
        self.task_id: TaskID | None = None
        self.retries = 0

    def say(self, line: str) -> None:
        """One line above the bar (a message of bench's own: no markup, no highlighting)."""
        self.console.print(line, markup=False, highlight=False)

    def loading(self, model: str) -> None:
        self.say(f"loading {plain(model, lines=False)} …")

    def start_model(self, label: str, total: int) -> None:
        self.bar = _TwoLines(
            TextColumn("{task.description}", markup=False),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("left"),
            TimeRemainingColumn(),
            TextColumn("{task.fields[note]}", markup=False),
            console=self.console,
        )
        self.bar.start()
        self.task_id = self.bar.add_task(plain(label, lines=False), total=total, note="")

    def working_on(self, what: str) -> None:
        if isinstance(self.bar, _TwoLines):
            self.bar.now = plain(what, lines=False)

    def advance(self) -> None:
        if self.bar is not None and self.task_id is not None:
            self.bar.advance(self.task_id)

    def retrying(self, message: str) -> None:
        self.retries += 1
        if self.bar is not None and self.task_id is not None:
            note = f"retries: {self.retries} ({plain(message[:60], lines=False)})"
            self.bar.update(self.task_id, note=note)

    def end_model(self) -> None:
        if self.bar is not None:
            self.bar.stop()


class _TwoLines(Progress):
    """The bar, and under it what the run works on (a line of its own: it is too long to share the
    bar's line in 80 columns)."""

    now = ""

    def get_renderables(self) -> Iterable[RenderableType]:
        yield self.make_tasks_table(self.tasks)
        if self.now:
            yield Text(f"  {self.now}", style="progress.description", no_wrap=True, overflow="ellipsis")


def stdout_console() -> Console:
    """Tables on stdout; when it is a file or a pipe, wide enough not to wrap the columns."""
    console = Console()
    return console if console.is_terminal else Console(width=200)
