"""The sample browser of report.html: model answers, escaped, with a filter that needs no script."""

from __future__ import annotations

from collections.abc import Iterable
from html import escape

from benchmark.schemas import Sample

MAX_SHOWN = 2000
"""Samples shown in the page (wrong answers first); the rest stay in samples.jsonl."""

STYLE = """
.browser label{margin-right:1em}.samples td{vertical-align:top;font-size:90%}
.samples pre{white-space:pre-wrap;margin:0;max-width:40em}
tr.s.ok td.verdict{color:#2a7}tr.s.wrong td.verdict,tr.s.fail td.verdict,tr.s.error td.verdict{color:#c33}
#f-wrong:checked~table.samples tr.s.ok,#f-fail:checked~table.samples tr.s:not(.fail),
#f-error:checked~table.samples tr.s:not(.error){display:none}
"""


def _kind(sample: Sample) -> str:
    if sample.error is not None:
        return "error"
    if sample.extraction_failed:
        return "fail"
    return "ok" if sample.correct else "wrong"


class SampleBrowser:
    """Picks the samples the page shows (wrong answers, failures and errors first, then correct ones,
    at most MAX_SHOWN) while a run's samples stream past, so a large run is never held in memory."""

    def __init__(self) -> None:
        self.shown: list[Sample] = []
        self.correct_kept: list[Sample] = []
        self.total = 0

    def add(self, sample: Sample) -> None:
        self.total += 1
        if _kind(sample) != "ok":
            if len(self.shown) < MAX_SHOWN:
                self.shown.append(sample)
        elif len(self.correct_kept) < MAX_SHOWN:
            self.correct_kept.append(sample)

    def render(self) -> str:
        return _render(self.shown + self.correct_kept[: MAX_SHOWN - len(self.shown)], self.total)


def render_browser(samples: Iterable[Sample]) -> str:
    browser = SampleBrowser()
    for sample in samples:
        browser.add(sample)
    return browser.render()


def _render(shown: list[Sample], total: int) -> str:
    """A table of samples; radio buttons (CSS only) show all, wrong answers, extraction failures or
    errors. Prompts and responses are model or user text: always escaped, never interpreted."""
    rows = []
    for s in shown:
        kind = _kind(s)
        verdict = {"ok": "correct", "wrong": "wrong", "fail": "no answer found", "error": "error"}[kind]
        answer = s.response if s.response is not None else f"(log-probs) {s.class_logprobs}"
        rows.append(
            f'<tr class="s {kind}"><td>{escape(s.model)}</td><td>{escape(s.task)} · {escape(s.prompting)}'
            f"<br>{escape(s.item_id)}</td><td>{escape(s.target)}</td><td>{escape(str(s.extracted))}</td>"
            f'<td class="verdict">{verdict}{escape(": " + s.error) if s.error else ""}</td>'
            f"<td><pre>{escape(answer[:600])}</pre>"
            f"<details><summary>prompt</summary><pre>{escape(s.prompt[-2000:])}</pre></details></td></tr>"
        )
    note = f"{len(shown)} of {total} samples shown, wrong answers first; all are in samples.jsonl."
    return (
        '<h2>Samples</h2><div class="browser">'
        '<input type="radio" name="f" id="f-all" checked><label for="f-all">all</label>'
        '<input type="radio" name="f" id="f-wrong"><label for="f-wrong">wrong answers</label>'
        '<input type="radio" name="f" id="f-fail"><label for="f-fail">extraction failures</label>'
        '<input type="radio" name="f" id="f-error"><label for="f-error">errors</label>'
        f'<p class="note">{note}</p>'
        '<table class="samples"><tr><th>model</th><th>task · item</th><th>target</th><th>extracted</th>'
        f"<th>verdict</th><th>response</th></tr>{''.join(rows)}</table></div>"
    )
