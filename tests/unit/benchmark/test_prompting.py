"""Prompting conditions are a type and shared steps: a task supplies questions, answers and worked
reasoning; a condition renders them, and a new condition is one new step that runs any task."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from benchmark.errors import UsageError
from benchmark.prompting import (
    PROMPTINGS,
    REASONING_MAX_TOKENS,
    ZERO_SHOT_STOP,
    Exemplars,
    Prompt,
    Prompting,
    Question,
    Shot,
    reasons,
)
from benchmark.schemas import Instance
from tasks import create, load_file


class Deliberate(Prompting):
    """A toy condition, defined here and nowhere else: the worked examples, then an instruction of
    its own after the question; the model reasons until a blank line."""

    name = "deliberate"
    reasons = True

    def render(self, exemplars: Exemplars, question: Question) -> Prompt:
        context = exemplars.few_shot(reasoning=True)
        return Prompt(f"{context}{question.text} Let's work it out.", ("\n\n",), len(context))


@pytest.mark.parametrize(
    ("name", "thinks", "budget"),
    [("plain", False, 12), ("cot", True, REASONING_MAX_TOKENS), ("cot_zeroshot", True, REASONING_MAX_TOKENS)],
)
def test_each_condition_knows_whether_it_reasons_its_budget_and_its_scoring(
    name: str, thinks: bool, budget: int
) -> None:
    step = Prompting.named(name)
    assert step.name == name and step.reasons is thinks and reasons(name) is thinks
    assert step.logprob_scoring is not thinks  # after generated reasoning, class log-probs say nothing
    assert step.max_tokens(12) == budget
    assert step.max_tokens(500) == 500  # an item's own larger budget is kept


def test_an_unknown_condition_is_a_usage_error_and_does_not_reason() -> None:
    with pytest.raises(UsageError, match=r"unknown prompting 'sometimes'; known: plain, cot, cot_zeroshot"):
        Prompting.named("sometimes")
    assert not reasons("sometimes")  # a run's condition this installation does not know


def test_a_task_supplies_answers_and_reasoning_and_the_steps_choose_what_to_show() -> None:
    shots = (Shot("Q: 1+1?\nA:", answer=" 2", reasoning=" 1 + 1 = 2. The answer is 2."),)
    exemplars = Exemplars(shots)
    question = Question("0", "Q: 2+2?\nA:", "number", "4", 5)
    plain = Prompting.named("plain").render(exemplars, question)
    cot = Prompting.named("cot").render(exemplars, question)
    zero = Prompting.named("cot_zeroshot").render(exemplars, question)
    assert plain == Prompt("Q: 1+1?\nA: 2\n\nQ: 2+2?\nA:", ("\n",), len("Q: 1+1?\nA: 2\n\n"))
    worked = "Q: 1+1?\nA: 1 + 1 = 2. The answer is 2.\n\n"
    assert cot == Prompt(worked + "Q: 2+2?\nA:", ("\n",), len(worked))
    assert zero == Prompt("Q: 2+2?\nA: Let's think step by step.", tuple(ZERO_SHOT_STOP), 0)
    # A task's own instruction follows the question under few-shot reasoning and replaces the trigger
    # under zero-shot; an example with no plain answer is shown only under reasoning.
    own = Exemplars((Shot("Q: 3+3?\nA:", reasoning=" 6. The answer is 6."),), "Add carefully.")
    assert Prompting.named("plain").render(own, question).text == "Q: 2+2?\nA:"
    assert Prompting.named("cot").render(own, question).text.endswith("Q: 2+2?\nA: Add carefully.")
    assert Prompting.named("cot_zeroshot").render(own, question).text == "Q: 2+2?\nA: Add carefully."


@pytest.mark.parametrize("spec", ["word_problems", "hindsight_neglect:lang=zh-TW", "arithmetic"])
def test_a_new_condition_is_one_step_that_runs_any_task_unedited(spec: str) -> None:
    task = create(spec)
    toy = list(task.under(Deliberate(), 0, 5))
    cot_name = "cot" if "cot" in task.promptings else "plain"
    reference = task.instances(0, 5, cot_name)
    assert [(i.item_id, i.target, i.classes) for i in toy] == [
        (i.item_id, i.target, i.classes) for i in reference
    ]  # the very same items: a paired comparison
    for item in toy:
        assert item.prompting == "deliberate" and item.prompt.endswith(" Let's work it out.")
        assert item.stop == ["\n\n"] and item.stated_answer and not item.logprob_scoring
        assert item.max_tokens >= REASONING_MAX_TOKENS and item.target_continuation is None
    if cot_name == "cot":  # the worked examples are the task's, shown as few-shot cot shows them
        assert toy[0].prompt[: toy[0].shared_prefix] == reference[0].prompt[: reference[0].shared_prefix]


def test_a_registered_condition_is_known_by_name_and_a_task_runs_only_those_it_lists(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setitem(PROMPTINGS, "deliberate", Deliberate())
    assert isinstance(Prompting.named("deliberate"), Deliberate) and reasons("deliberate")
    path = tmp_path / "t.yaml"
    items = [{"kind": "choice", "id": "q", "prompt": "Is it wise?\nAnswer:", "classes": [" Y", " N"],
              "answer_index": 1}]  # fmt: skip
    path.write_text(yaml.safe_dump({"items": items}), encoding="utf-8")
    task = load_file(path)
    with pytest.raises(UsageError, match="has no prompting 'deliberate'"):
        task.instances(0, None, "deliberate")
    [item] = task.under(Prompting.named("deliberate"), 0, None)
    assert isinstance(item, Instance) and item.prompt == "Is it wise?\nAnswer: Let's work it out."


def test_the_cli_selects_conditions_by_whether_they_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    from benchmark.runconfig import select_promptings

    monkeypatch.setitem(PROMPTINGS, "deliberate", Deliberate())
    available = ("plain", "cot", "cot_zeroshot", "deliberate")
    assert select_promptings("t", available, "cot") == ("cot", "cot_zeroshot", "deliberate")
    assert select_promptings("t", available, "plain") == ("plain",)
    assert select_promptings("t", available, "both") == available
