"""Everything a run saves to disk, as pydantic models.

These are the contract of a run directory: `manifest.json`, `samples.jsonl` and `summary.json` are
instances of the models below, and every later tool (reports, comparisons, outside scripts) reads them.

The records of one run directory and their field descriptions (the documentation of its files) are
kept in one place, at the bottom layer, where every other module can import them. Two parts live in
modules of their own, imported from there: the base `Record` with the wording of pydantic errors
(benchmark/records.py), and the run's settings, `RunSettings`, beside the code that builds them
(benchmark/settings.py).
"""

from __future__ import annotations

import typing
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Annotated, Literal

from pydantic import Field

from benchmark.records import Record
from benchmark.settings import RunSettings

SCHEMA_VERSION = 12
"""Bumped when a saved record changes (2: Sample.cached, Manifest.resumed_at; 3: Sample.sent and
chat_template, ModelInfo.error; 4: Sample.task_params and truncated, TaskInfo.max_tokens, one scoring
mode per summary row, Manifest.settings; 5: summary rows nest their typed results: shape, step, gains,
calibration, continuous; 6: Manifest.settings.threads; 7: a model's training checkpoint: hub_id,
revision and tokens on ModelInfo, Sample and SummaryRow, SummaryRow.shape_over_tokens,
Manifest.settings.sizes and checkpoints; 8: TaskInfo.dataset; 9: TaskInfo.file_sha256, and summary.json
is an object of rows and curves, each curve's results keyed by analysis name, the rows no longer carrying
them; 10: TaskInfo.scorer, the scorer's name and declared measures; 11: Manifest.settings.provider_options,
the provider's own options given, in place of settings.api, weights, dtype and threads, which older
runs' settings are read into; 12: Manifest.settings.max_attempts); readers accept older versions and
refuse run directories from a newer one."""

AnswerType = Literal["number", "choice", "text"]
ScoringMode = Literal["logprob", "generate"]


HubId = Annotated[
    str | None,
    Field(
        description="The Hugging Face Hub model this is (org/name, without a revision), for matching "
        "published results; None when unknown (a local file, an API model, runs before schema 7)."
    ),
]
Revision = Annotated[
    str | None,
    Field(
        description="The Hub revision (training checkpoint) asked for, e.g. step143000; None: the "
        "repository's default (main) or no revision. The commit it resolved to is in details."
    ),
]
Tokens = Annotated[
    float | None,
    Field(
        description="Training tokens the model had seen at this revision (a family file states it); "
        "None when not stated: the model is on no training-tokens axis."
    ),
]
"""A model's identity for matching published results and its place on the training-tokens axis: the
same three fields, described once, in ModelInfo, Sample and SummaryRow."""

MIN_LOGPROB = -1e6
"""The lowest log-probability (in nats) bench takes from a backend or a samples file: far below any real
one (a thousand tokens at -20 nats each is -2e4); a lower value is a broken answer, not a score."""
MAX_LOGPROB = 1e-3
"""A log-probability is at most 0; this much above it is a backend's rounding (float32 log-softmax),
anything more is not a log-probability."""
MAX_METRIC = 1e6
"""The largest magnitude of a continuous measure (digit_accuracy and edit_distance lie in [0, 1],
target_logprob in [MIN_LOGPROB, MAX_LOGPROB])."""
MAX_ITEM_COST_USD = 1e15
"""The most one sample may cost: above what bench can compute (two token counts of at most 2**53 each
at the highest price a price table may state, 10,000 dollars per million tokens, cost 1.8e14), and low
enough that no sum of costs overflows. A larger cost in a samples file was not written by bench."""
LogProb = Annotated[float, Field(ge=MIN_LOGPROB, le=MAX_LOGPROB, allow_inf_nan=False)]
Metric = Annotated[float, Field(ge=-MAX_METRIC, le=MAX_METRIC, allow_inf_nan=False)]
Cost = Annotated[float, Field(ge=0, le=MAX_ITEM_COST_USD, allow_inf_nan=False)]


class ModelInfo(Record):
    """One model (one size) of a run."""

    provider: str = Field(description="Provider adapter that served the model (local, scripted, ...).")
    model: str = Field(description="Model id as given on the command line (path, repo:file or name).")
    label: str = Field(description="Short name shown in tables and plots.")
    params: int | None = Field(
        description="Parameter count; for local models counted from the GGUF tensors. None when unknown."
    )
    scripted: bool = Field(description="True for the scripted test provider: not a real model.")
    supports_logprobs: bool = Field(description="Whether the provider scores given continuations.")
    details: dict[str, str] = Field(
        default_factory=dict, description="Provider-specific facts (file, sha256, architecture, ...)."
    )
    family: str | None = Field(default=None, description="Model family (from --family), if any.")
    variant: str | None = Field(default=None, description="base or instruct, where the family says.")
    size_rank: int | None = Field(default=None, description="Size rank where sizes are undisclosed.")
    hub_id: HubId = None
    revision: Revision = None
    tokens: Tokens = None
    error: str | None = Field(
        default=None,
        description="Why this size was not run (it cannot fit in memory); None when it ran. The sweep "
        "goes on with the other sizes, and a resumed run tries it again.",
    )


class DatasetSource(Record):
    """Where a published task's items came from: the Hub dataset, the commit its files were read at and
    each file's sha256 (`tasks/published`)."""

    repo: str = Field(description="Hugging Face Hub dataset id (repo_type dataset), e.g. openai/gsm8k.")
    config: str | None = Field(default=None, description="Config (subset) of the dataset, where it has one.")
    splits: list[str] = Field(description="Splits read, in order (their items concatenated).")
    revision: str = Field(description="The commit the files were read at (the Hub cache's snapshot).")
    files: dict[str, str] = Field(description="Each data file read (path in the repository) and its sha256.")
    items: int = Field(description="Items the files hold (all of them, whatever --limit took).")
    license: str = Field(description="License as the catalog records it (the dataset card's, where seen).")
    citation: str = Field(description="What to cite for the items.")


SCHEMA_9_CONTINUOUS = "digit_accuracy"
"""The continuous counterpart of exact match in runs of schema 9 and older, which record no scorer: the
number scorer's (`benchmark.scoring.NumberScorer.continuous`), the only one bench had; other tasks'
samples carry no such measure."""


class ScorerInfo(Record):
    """What a task's scorer declares (`benchmark.scoring.Scorer`), recorded so that reports read it
    without importing the task."""

    name: str = Field(description="The scorer's name: a built-in (number, choice, text) or an entry point.")
    metrics: dict[str, str] = Field(
        default_factory=dict,
        description="The continuous measures its samples carry (`Sample.metrics`), each with what it "
        "measures.",
    )
    continuous: str | None = Field(
        default=None,
        description="Of `metrics`, the continuous counterpart of exact match, read by the mirage check "
        "(does it rise smoothly where accuracy jumps?); None for none.",
    )


class TaskInfo(Record):
    """One task of a run, with the version of its prompts, data and scoring."""

    name: str = Field(description="Task name as selected with --task.")
    version: str = Field(description="Bumped whenever prompts, data or scoring change.")
    promptings: list[str] = Field(description="Prompting conditions run for this task (plain, cot).")
    chance: float = Field(description="Accuracy of guessing: 1/classes for choice tasks, ~0 for exact match.")
    params: dict[str, str] = Field(default_factory=dict, description="Task parameters (digits, shots, ...).")
    max_tokens: dict[str, int] = Field(
        default_factory=dict,
        description="Generation budget (tokens) per prompting condition: no item has a larger one "
        "(arithmetic sizes each item's budget to its answer: this is the widest answer's). A chain of "
        "thought that reaches its item's budget before stating an answer is an extraction failure.",
    )
    dataset: DatasetSource | None = Field(
        default=None,
        description="Published tasks: the Hub dataset, commit and file sha256 the items were read from; "
        "None for generated tasks and task files.",
    )
    file_sha256: str | None = Field(
        default=None,
        description="Task files: the sha256 of the file's bytes, checked on resume whatever version the "
        "file declares (an edited file under an unchanged version is refused); None for other tasks "
        "and runs of schema 8 and older.",
    )
    scorer: ScorerInfo | None = Field(
        default=None,
        description="The scorer that read the generated answers, with the measures it declares; None in "
        "runs of schema 9 and older (see `continuous_measure`).",
    )

    def continuous_measure(self) -> str | None:
        """The measure that is exact match's continuous counterpart for this task: its scorer's
        declaration; in runs that record no scorer, the one measure of that kind bench had then."""
        return self.scorer.continuous if self.scorer is not None else SCHEMA_9_CONTINUOUS


class Manifest(Record):
    """`manifest.json`: what was run, with what, and when."""

    schema_version: int = Field(
        default=SCHEMA_VERSION, strict=True, description="Version of this record format (an integer)."
    )
    tool_version: str = Field(description="Version of bench that wrote the run.")
    command: list[str] = Field(description="The command line, as typed (argv), secrets as ***; for people.")
    settings: RunSettings | None = Field(
        default=None,
        description="The run's options, typed: what --resume reads. None in runs written before schema 4 "
        "(--resume then reads the command line).",
    )
    seed: int = Field(description="Seed of item generation and bootstrap intervals.")
    limit: int | None = Field(description="Items per task and prompting condition; None means all.")
    tasks: list[TaskInfo] = Field(description="Tasks with their versions.")
    models: list[ModelInfo] = Field(description="Models in the order they were run.")
    started_at: datetime = Field(description="UTC start time.")
    finished_at: datetime | None = Field(default=None, description="UTC end time; None while running.")
    resumed_at: list[datetime] = Field(
        default_factory=list, description="UTC times the run was resumed (bench run --resume)."
    )


class Instance(Record):
    """One rendered prompt of one item under one prompting condition: what a provider is asked."""

    task: str = Field(description="Task name.")
    prompting: str = Field(description="Prompting condition (plain, cot).")
    item_id: str = Field(description="Item id, stable for a seed; shared by the item's promptings.")
    prompt: str = Field(description="The exact text sent to the model.")
    answer_type: AnswerType = Field(
        description="number: exact match of the final number; choice: one of classes; "
        "text: exact match of the first line of the response, stripped."
    )
    target: str = Field(description="The correct answer (a number, or the correct class).")
    classes: list[str] | None = Field(default=None, description="Answer classes of a choice item.")
    answer_index: int | None = Field(default=None, description="Index of the correct class.")
    max_tokens: int = Field(description="Generation budget.")
    stop: list[str] = Field(default_factory=list, description="Stop sequences for generation.")
    shared_prefix: int = Field(
        default=0, description="Characters at the start of the prompt shared by every item (exemplars)."
    )
    logprob_scoring: bool = Field(
        default=True,
        description="Choice items: score by class log-probs where the provider has them. False for "
        "chain-of-thought items, whose answer comes after generated reasoning.",
    )
    target_continuation: str | None = Field(
        default=None,
        description="The correct answer written as the model would continue the prompt (e.g. ' 1053'); "
        "its log-probability is recorded where the provider gives log-probs.",
    )
    stated_answer: bool = Field(
        default=False,
        description="Chain of thought: the answer follows generated reasoning and must be stated ('The "
        "answer is X'); a response cut off by max_tokens before it states one is an extraction failure "
        "(truncated), not the last number of unfinished reasoning.",
    )


class Sample(Record):
    """One line of `samples.jsonl`: one (model, task, prompting, item) and how it was scored."""

    model: str = Field(description="Label of the model (ModelInfo.label).")
    provider: str = Field(description="Provider adapter.")
    params: int | None = Field(description="Parameter count of the model, if known.")
    scripted: bool = Field(description="True when a scripted provider answered: not a real model.")
    family: str | None = Field(default=None, description="Model family, if any.")
    variant: str | None = Field(default=None, description="base or instruct, where known.")
    size_rank: int | None = Field(default=None, description="Size rank where sizes are undisclosed.")
    hub_id: HubId = None
    revision: Revision = None
    tokens: Tokens = None
    task: str = Field(description="Task name.")
    task_params: dict[str, str] = Field(
        default_factory=dict,
        description="Parameters of the task's variant (TaskInfo.params: digits, lang, ...); two variants "
        "of one task are separate rows and curves. Empty in runs written before schema 3.",
    )
    task_version: str = Field(description="Task version.")
    prompting: str = Field(description="Prompting condition.")
    item_id: str = Field(description="Item id.")
    prompt: str = Field(description="The exact prompt text.")
    sent: str | None = Field(
        default=None,
        description="The text the model was given when a chat template wrapped the prompt (instruct "
        "models); None: the prompt itself.",
    )
    chat_template: bool = Field(default=False, description="Whether a chat template wrapped the prompt.")
    response: str | None = Field(description="Raw generated text; None when scored by log-probs only.")
    extracted: str | None = Field(description="Answer read from the response; None when none was found.")
    target: str = Field(description="Correct answer.")
    correct: bool = Field(description="Whether the extracted answer equals the target.")
    extraction_failed: bool = Field(description="No answer could be read from the response.")
    truncated: bool = Field(
        default=False,
        description="An extraction failure because the chain of thought reached max_tokens before it "
        "stated an answer.",
    )
    scoring: ScoringMode = Field(description="logprob: argmax over class log-probs; generate: text.")
    class_logprobs: dict[str, LogProb] | None = Field(
        default=None, description="Log-probability of each class after the prompt (logprob scoring)."
    )
    prompt_tokens: int | None = Field(default=None, description="Tokens in the prompt.")
    completion_tokens: int | None = Field(default=None, description="Tokens generated or scored.")
    latency_s: float = Field(description="Wall time of the provider call(s) for this sample.")
    cached: bool = Field(
        default=False,
        description="True when every answer of this sample came from the response cache (no model call).",
    )
    cost_usd: Cost | None = Field(
        default=None,
        description="Estimated cost from providers/prices.yaml; None when the model has no price.",
    )
    error: str | None = Field(
        default=None, description="Why no answer was obtained after the retry budget; None on success."
    )
    metrics: dict[str, Metric] = Field(
        default_factory=dict,
        description="Continuous measures: those the task's scorer declares (`TaskInfo.scorer.metrics`; "
        "numbers: digit_accuracy and edit_distance, normalized, 0 is identical), and target_logprob "
        "(log-probability of the correct answer, where available).",
    )


class PointCheck(Record):
    """One size of a run held against the published number for the same model (Hub id and revision)."""

    model: str = Field(description="The run's model label.")
    params: float = Field(description="Parameters, as the published curve gives them.")
    revision: str | None = Field(default=None, description="The model's revision (training checkpoint).")
    tokens: float | None = Field(default=None, description="Training tokens at that revision, if published.")
    published: float = Field(description="Published accuracy, as a fraction.")
    published_n: int | None = Field(description="Items the published number was measured on, if known.")
    source: str = Field(description="Where the published number is printed or stored.")
    n: int = Field(description="Items this run scored.")
    correct: int = Field(description="Items this run answered correctly.")
    accuracy: float = Field(description="This run's accuracy.")
    ci_low: float = Field(description="Lower end of the run's 95% Wilson interval.")
    ci_high: float = Field(description="Upper end of the run's 95% Wilson interval.")
    difference: float = Field(description="Run minus published accuracy.")
    low: float = Field(
        description="Lower end of the difference's 95% interval (Newcombe's hybrid score interval when "
        "published_n is known, else the run's Wilson interval minus the published value)."
    )
    high: float = Field(description="Upper end of the difference's 95% interval.")
    differs: bool = Field(
        description="The difference's interval at the curve's family-wise level (Bonferroni) excludes 0."
    )


class Reproduction(Record):
    """Whether a run reproduces a published curve (reports/references.yaml) at the sizes it shares."""

    reference: str = Field(description="Key of the reference in reports/references.yaml.")
    curve: str = Field(description="Name of the published curve.")
    kind: Literal["reproduces", "differs", "inconclusive", "not comparable"]
    text: str = Field(description="The verdict as reports print it.")
    level: float = Field(description="Confidence level of each size's interval (0.95).")
    family_level: float = Field(description="Level of each size's interval in the verdict (Bonferroni).")
    margin: float = Field(description="A reproduction's intervals must lie within ± this of the published.")
    problems: list[str] = Field(
        default_factory=list, description="Why the numbers are not comparable (empty when they are)."
    )
    points: list[PointCheck] = Field(description="The sizes compared, by size.")


class SummaryRow(Record):
    """One row of `summary.json`: accuracy of one model on one task variant under one prompting
    condition and one scoring mode."""

    task: str
    task_params: dict[str, str] = Field(default_factory=dict, description="The task variant's parameters.")
    task_version: str
    prompting: str
    model: str
    provider: str
    params: int | None
    scripted: bool
    family: str | None = None
    variant: str | None = None
    size_rank: int | None = None
    hub_id: HubId = None
    revision: Revision = None
    tokens: Tokens = None
    n: int = Field(description="Items scored.")
    correct: int = Field(description="Items answered correctly.")
    accuracy: float | None = Field(description="correct / n; None when no item was answered.")
    ci_low: float | None = Field(description="Lower end of the 95% Wilson score interval of accuracy.")
    ci_high: float | None = Field(description="Upper end of the 95% Wilson score interval of accuracy.")
    chance: float
    extraction_failures: int = Field(
        description="Items whose answer could not be read; included in n and not correct, shown apart."
    )
    truncated: int = Field(
        default=0,
        description="Of the extraction failures, chains of thought cut off by the token limit "
        "(TaskInfo.max_tokens) before they stated an answer.",
    )
    errors: int = Field(description="Items with no answer after the retry budget; not in n.")
    scoring: ScoringMode = Field(
        description="How this row's items were scored: logprob (argmax of class log-probs) or generate "
        "(the answer read from generated text). A row, a curve and a comparison never mix the two."
    )
    prompt_tokens: int = Field(default=0, description="Prompt tokens of this row's samples, where reported.")
    completion_tokens: int = Field(default=0, description="Generated or scored tokens, where reported.")
    cost_usd: float | None = Field(default=None, description="Estimated cost; None when no price is known.")
    reproduction: Reproduction | None = Field(
        default=None,
        description="Rows whose model (Hub id and revision) is a point of a published curve on this task: "
        "whether the run reproduces that curve (reports/reproduction.py).",
    )
    metrics: dict[str, float] = Field(
        default_factory=dict,
        description="Mean of each continuous measure over the answered items: the samples' own, and for "
        "items scored by class log-probs target_logprob (the correct class's log-probability, renormalised "
        "over the classes) and brier_score (multi-class Brier score).",
    )

    @classmethod
    def columns(cls, rows: Sequence[SummaryRow] = ()) -> list[str]:
        """The columns of `flat()` for a table of `rows`: a nested result's fields as `name.field` (e.g.
        `cot_gain.p`), then each continuous measure any of the rows has as `metric_*`."""
        names = []
        for name, field in cls.model_fields.items():
            if name != "metrics":
                nested = _record_in(field.annotation)
                names += [f"{name}.{sub}" for sub in nested.model_fields] if nested else [name]
        return names + [f"metric_{m}" for m in sorted({m for row in rows for m in row.metrics})]

    def flat(self) -> dict[str, object]:
        """One level of columns for tables (summary.csv, `load_run`'s DataFrame): nested results spread
        over `name.field` columns (None where the row has none), continuous measures as `metric_*`."""
        data = self.model_dump(mode="json")
        out: dict[str, object] = {}
        for column in self.columns():
            name, _, sub = column.partition(".")
            out[column] = (data[name] or {}).get(sub) if sub else data[name]
        out.update({f"metric_{k}": v for k, v in sorted(self.metrics.items())})
        return out


def _record_in(annotation: object) -> type[Record] | None:
    """The record class of a field typed `SomeRecord | None`, else None."""
    for candidate in typing.get_args(annotation) or (annotation,):
        if isinstance(candidate, type) and issubclass(candidate, Record):
            return candidate
    return None


def utc_now() -> datetime:
    return datetime.now(UTC)
