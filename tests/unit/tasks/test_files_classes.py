"""A choice item's classes in a task file: two classes are two answers as a generated answer is read,
published scores are finite, and checking them takes time linear in their number."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from benchmark.errors import UsageError
from benchmark.schemas import Instance
from benchmark.scoring import score_generation
from tasks.files import load_task_file
from tasks.formats import _check_classes


def error(path: Path) -> str:
    with pytest.raises(UsageError) as info:
        load_task_file(path)
    return str(info.value)


def choice(classes: list[str], answer_index: int = 1, id: str = "a") -> str:
    item = {"kind": "choice", "id": id, "prompt": "Q?", "classes": classes, "answer_index": answer_index}
    return json.dumps(item) + "\n"


@pytest.mark.parametrize("classes", [[" Y", "Y"], ["Y", " Y "], ["Yes", " No", "\tNo\n"], [" Y", " N", "Y"]])
def test_classes_that_differ_only_in_spaces_are_refused_with_file_and_line(
    tmp_path: Path, classes: list[str]
) -> None:
    path = tmp_path / "t.jsonl"
    path.write_text(choice([" A", " B"], id="ok") + choice(classes))
    assert error(path).startswith(f"{path}:2: classes: classes "), error(path)
    assert "differ only in spaces" in error(path)


def test_the_same_classes_in_a_prize_csv_are_refused_too(tmp_path: Path) -> None:
    path = tmp_path / "p.csv"
    path.write_text("prompt,classes,answer_index\nQ?,\"[' Y', 'Y ']\",1\n")
    assert error(path).startswith(f"{path}:2: classes: classes 0 and 1 (' Y' and 'Y ') differ only in spaces")


def test_classes_told_apart_by_their_text_are_read_back_as_themselves(tmp_path: Path) -> None:
    """What the refusal protects: every class a file may hold is read back as itself, so answering
    the target is correct (with " Y" and "Y" the answer "Y" was read as " Y")."""
    path = tmp_path / "t.jsonl"
    path.write_text(choice([" Y", " N", " Yes"]))
    [instance] = load_task_file(path).instances(0, None, "plain")
    for index, cls in enumerate(instance.classes or []):
        target = Instance.model_validate({**instance.model_dump(), "answer_index": index, "target": cls})
        assert score_generation(target, cls.strip()).correct, cls


def bigbench(tmp_path: Path, examples: str) -> Path:
    folder = tmp_path / "bb"
    folder.mkdir(exist_ok=True)
    (folder / "task.json").write_text('{"examples": [' + examples + "]}")
    return folder / "task.json"


@pytest.mark.parametrize(
    ("scores", "named"),
    [
        ('{"four": NaN, "five": 0}', "'four' is nan"),
        ('{"four": 1, "five": NaN}', "'five' is nan"),
        ('{"four": NaN, "five": NaN}', "'four' is nan"),
        ('{"four": Infinity, "five": 0}', "'four' is inf"),
        ('{"four": 1, "five": -Infinity}', "'five' is -inf"),
    ],
)
def test_a_bigbench_score_that_is_not_a_finite_number_is_refused(
    tmp_path: Path, scores: str, named: str
) -> None:
    path = bigbench(tmp_path, '{"input": "2+2", "target_scores": {"x": 1, "y": 0}}, '
                    f'{{"input": "2+2", "target_scores": {scores}}}')  # fmt: skip
    assert error(path) == (f"{path}:1: examples[1]: the score of {named}; give every choice a finite number")


def test_a_bigbench_target_is_its_top_score_whatever_the_order(tmp_path: Path) -> None:
    for scores in ('{"four": 1, "five": 0}', '{"five": 0, "four": 1}'):
        path = bigbench(tmp_path, f'{{"input": "2+2", "target_scores": {scores}}}')
        [item] = load_task_file(path).items
        assert item.target == " four"


class _Counted(str):
    """A class label that counts how often it is hashed and compared."""

    hashed = 0
    compared = 0

    def strip(self, chars: str | None = None) -> _Counted:
        return _Counted(str.strip(self, chars))

    def __hash__(self) -> int:
        _Counted.hashed += 1
        return str.__hash__(self)

    def __eq__(self, other: object) -> bool:
        _Counted.compared += 1
        return str.__eq__(self, other)


def test_classes_are_checked_without_comparing_each_pair() -> None:
    count = 3000
    _Counted.hashed = _Counted.compared = 0
    _check_classes([_Counted(f" c{i}") for i in range(count)])
    assert _Counted.hashed >= count  # each label was looked up once...
    assert _Counted.compared <= count  # ...and not compared with every other (4.5 million times)


def test_an_item_of_100_000_classes_validates_in_seconds(tmp_path: Path) -> None:
    """Linear time: 0.12 s measured on 2 shared CPUs; quadratic took over 60 s. The bound is loose
    for a slow, busy machine."""
    path = tmp_path / "many.jsonl"
    path.write_text(choice([f" c{i}" for i in range(100_000)], answer_index=99_999))
    start = time.perf_counter()
    task = load_task_file(path)
    [instance] = task.instances(0, None, "plain")  # what `bench tasks validate` does
    elapsed = time.perf_counter() - start
    assert instance.target == " c99999"
    assert elapsed < 10, f"{elapsed:.1f} s"
