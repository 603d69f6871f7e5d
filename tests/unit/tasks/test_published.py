"""Published tasks by name (tasks/published): read from a Hugging Face Hub cache that each test lays out
itself (`datasets--ORG--NAME/refs/main` and `snapshots/<commit>/<file>`), through huggingface_hub with
HF_HUB_OFFLINE=1, recorded (commit, sha256) in the manifest and pinned on the machine."""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path

import pytest

import tasks as task_registry
from benchmark.errors import UsageError
from benchmark.schemas import Manifest, Sample
from tasks.published import hub, pins
from tasks.published.catalog import catalog
from tasks.published.task import PublishedTask
from tests.helpers.hub_cache import COMMIT, lay_out, zipped

OTHER_COMMIT = "2" * 40
RUN_ISP = ("run", "--provider", "scripted", "--task", "isp_hindsight_neglect")
"""A scripted run of Michaelov & Bergen's hindsight-neglect copy, read from the test's Hub cache."""

# The prize's JSONL (inverse-scaling/*): classes a list, extra fields ignored.
PRIZE_JSONL = "".join(
    json.dumps({"prompt": f"Question {n}: play the gamble?\nAnswer:", "classes": [" Y", " N"],
                "answer_index": n % 2, "round": 1}) + "\n"
    for n in range(4)
)  # fmt: skip
# Michaelov & Bergen's copies: a zip holding the prize's CSV, classes written "[' Y', ' N']".
MB_CSV = "prompt,classes,answer_index\n" + "".join(
    f"\"Question {n}: was it right?\nAnswer:\",\"[' Y', ' N']\",{n % 2}\n" for n in range(5)
)
GSM8K_JSONL = "".join(
    json.dumps({"question": f"Ann has {n} apples and buys 1,000 more. How many?",
                "answer": f"{n} + 1000 = {n + 1000}.\n#### {n + 1000:,}"}) + "\n"
    for n in range(1, 4)
)  # fmt: skip
MULTIARITH_TRAIN = json.dumps(
    [{"question": "Tom had 3 pens and got 2. How many?", "final_ans": "5"},
     {"question": "Sue had 9 cups and broke 4. How many?", "final_ans": "5.0"}], indent=1
)  # fmt: skip
MULTIARITH_TEST = json.dumps([{"question": "A box has 6 eggs; 2 boxes?", "final_ans": "12"}], indent=1)


def hindsight_copy(cache: Path, csv: str = MB_CSV) -> Path:
    files = {"test.zip": zipped("hindsight-neglect_classification.csv", csv), "README.md": b"card"}
    return lay_out(cache, "jmichaelov/inverse_scaling_prize-hindsight_neglect", files)


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """An offline Hub cache and a bench cache of this test's own (also for in-process calls)."""
    values = {
        "HF_HUB_CACHE": str(tmp_path / "hub"),
        "HF_HUB_OFFLINE": "1",
        "BENCH_CACHE_DIR": str(tmp_path / "bench-cache"),
    }
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    return values


def task(spec: str) -> PublishedTask:
    created = task_registry.create(spec)
    assert isinstance(created, PublishedTask)
    return created


def test_the_catalog_names_each_published_task_with_its_source() -> None:
    entries = catalog()
    isp = {n for n in entries if n.startswith("isp_")}
    names = "sig_figs resisting_correction repetitive_algebra pattern_matching_suppression modus_tollens"
    names += " into_the_unknown redefine neqa memo_trap hindsight_neglect"
    assert isp == {f"isp_{t}" for t in names.split()}
    assert entries["isp_hindsight_neglect"].repo == "jmichaelov/inverse_scaling_prize-hindsight_neglect"
    assert entries["isp_hindsight_neglect"].items == 315
    assert entries["inverse_scaling_memo_trap"].repo == "Albertmade/memo-trap"
    assert [s.name for s in entries["multiarith"].splits] == ["train", "test"]
    assert (entries["gsm8k"].repo, entries["gsm8k"].config, entries["gsm8k"].items) == (
        "openai/gsm8k",
        "main",
        1319,
    )
    for entry in entries.values():
        assert entry.name in task_registry.TASKS
        # a classification task of the prize has no chain-of-thought framing published
        assert entry.promptings == ["plain"] if entry.reader == "prize" else "cot" in entry.promptings


def test_a_run_reads_the_hub_cache_and_records_commit_and_sha256(bench, env, tmp_path: Path) -> None:
    snapshot = hindsight_copy(Path(env["HF_HUB_CACHE"]))
    out = tmp_path / "run"
    args = (*RUN_ISP, "--limit", "3", "--out", str(out))
    result = bench(*args, env=env)
    assert result.code == 0, result.err
    manifest = Manifest.model_validate_json((out / "manifest.json").read_text())
    [info] = manifest.tasks
    assert info.params == {"spacing": "prize"}
    assert info.dataset is not None
    assert info.dataset.repo == "jmichaelov/inverse_scaling_prize-hindsight_neglect"
    assert info.dataset.revision == COMMIT
    assert info.dataset.files == {
        "test.zip": hashlib.sha256((snapshot / "test.zip").read_bytes()).hexdigest()
    }
    assert info.dataset.items == 5 and info.dataset.splits == ["test"]
    samples = [Sample.model_validate_json(x) for x in (out / "samples.jsonl").read_text().splitlines()]
    assert {s.item_id for s in samples} == {"test-00001", "test-00002", "test-00003"}
    assert samples[0].prompt.startswith("Question 0: was it right?\nAnswer:")
    # the first use pinned the commit and the file's sha256 on this machine
    pin = pins.read_pin("isp_hindsight_neglect", "1")
    assert pin is not None and (pin.revision, pin.files) == (COMMIT, info.dataset.files)
    assert "5 items, not the 315" in result.err  # a copy of another size is said, not hidden


def test_absent_dataset_is_one_line_and_exit_2_within_seconds(bench, env, tmp_path: Path) -> None:
    start = time.monotonic()
    result = bench(
        "run", "--provider", "scripted", "--task", "isp_memo_trap", "--out", str(tmp_path / "r"), env=env
    )
    assert result.code == 2 and "Traceback" not in result.err
    [line] = result.err.strip().splitlines()
    assert "isp_memo_trap needs jmichaelov/inverse_scaling_prize-memo_trap" in line
    assert "not in the cache" in line and env["HF_HUB_CACHE"] in line
    assert time.monotonic() - start < 20
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize(
    ("csv", "where", "reason"),
    [
        (
            MB_CSV[: MB_CSV.rindex("\n", 0, -1) + 20],
            ":10: ",
            "fields",
        ),  # cut off mid-record (records take 2 lines)
        (MB_CSV.replace(",1\n", ",7\n", 1), ":4: ", "answer_index 7 is out of range"),
    ],
)
def test_a_truncated_or_malformed_file_is_one_line_with_file_and_line(
    bench, env, tmp_path: Path, csv: str, where: str, reason: str
) -> None:
    hindsight_copy(Path(env["HF_HUB_CACHE"]), csv)
    result = bench(*RUN_ISP, "--out", str(tmp_path / "r"), env=env)
    assert result.code == 2 and "Traceback" not in result.err
    [line] = result.err.strip().splitlines()
    assert "test.zip!hindsight-neglect_classification.csv" + where in line and reason in line
    assert pins.read_pin("isp_hindsight_neglect", "1") is None  # nothing pinned from a bad file


def test_other_bytes_under_the_same_version_are_refused_until_unpinned(bench, env, tmp_path: Path) -> None:
    hindsight_copy(Path(env["HF_HUB_CACHE"]))
    run = (*RUN_ISP, "--limit", "2")
    assert bench(*run, "--out", str(tmp_path / "a"), env=env).code == 0
    hindsight_copy(Path(env["HF_HUB_CACHE"]), MB_CSV.replace("Question 1", "Question one"))
    refused = bench(*run, "--out", str(tmp_path / "b"), env=env)
    assert refused.code == 2 and "Traceback" not in refused.err
    [line] = refused.err.strip().splitlines()
    assert "isp_hindsight_neglect version 1" in line and "test.zip has other bytes" in line
    assert "bench tasks unpin isp_hindsight_neglect" in line
    assert not (tmp_path / "b").exists()
    unpinned = bench("tasks", "unpin", "isp_hindsight_neglect", env=env)
    assert unpinned.code == 0 and "removed 1 pin" in unpinned.out
    assert bench(*run, "--out", str(tmp_path / "c"), env=env).code == 0


def test_a_resumed_run_checks_the_recorded_sha256(bench, env, tmp_path: Path) -> None:
    hindsight_copy(Path(env["HF_HUB_CACHE"]))
    out = tmp_path / "run"
    run = (*RUN_ISP, "--limit", "2", "--out", str(out))
    assert bench(*run, env=env).code == 0
    hindsight_copy(Path(env["HF_HUB_CACHE"]), MB_CSV.replace("Question 1", "Question one"))
    assert bench("tasks", "unpin", "isp_hindsight_neglect", env=env).code == 0  # even so
    resumed = bench("run", "--resume", str(out), env=env)
    assert resumed.code == 2 and "Traceback" not in resumed.err
    line = resumed.err.strip().splitlines()[-1]  # after the note that the copy is not 315 items
    assert "isp_hindsight_neglect" in line and "test.zip" in line and "sha256" in line


def test_a_damaged_pin_is_one_line(bench, env, tmp_path: Path) -> None:
    hindsight_copy(Path(env["HF_HUB_CACHE"]))
    path = pins.pin_path("isp_hindsight_neglect", "1")
    path.parent.mkdir(parents=True)
    path.write_text('{"task": "isp_hindsight_neglect", "vers')
    result = bench(*RUN_ISP, "--out", str(tmp_path / "r"), env=env)
    assert result.code == 2 and "Traceback" not in result.err
    expected = (
        f"{path}: damaged dataset pin (not valid JSON); delete it (bench tasks unpin isp_hindsight_neglect)"
    )
    assert result.err.strip().splitlines() == [f"bench: error: {expected} to pin afresh"]


def test_spacing_lm_eval_0_3_puts_one_more_space_before_each_class(env) -> None:
    hindsight_copy(Path(env["HF_HUB_CACHE"]))
    prize = task("isp_hindsight_neglect").instances(0, 2, "plain")
    old = task("isp_hindsight_neglect:spacing=lm-eval-0.3").instances(0, 2, "plain")
    assert [i.classes for i in prize] == [[" Y", " N"]] * 2
    assert [i.classes for i in old] == [["  Y", "  N"]] * 2
    assert [(i.target, i.answer_index) for i in old] == [("  Y", 0), ("  N", 1)]
    assert [i.prompt for i in old] == [i.prompt for i in prize]
    assert task("isp_hindsight_neglect:spacing=lm-eval-0.3").info(["plain"]).params == {
        "spacing": "lm-eval-0.3"
    }
    with pytest.raises(UsageError, match="spacing must be one of prize, lm-eval-0.3"):
        task("isp_hindsight_neglect:spacing=lm-eval")


def test_the_prize_jsonl_copy_is_read_from_its_train_split(env) -> None:
    lay_out(Path(env["HF_HUB_CACHE"]), "inverse-scaling/hindsight-neglect-10shot",
            {"hindsight-neglect-10shot.jsonl": PRIZE_JSONL.encode()})  # fmt: skip
    published = task("inverse_scaling_hindsight_neglect_10shot")
    items = published.instances(0, None, "plain")
    assert [(i.item_id, i.target) for i in items] == [
        ("train-00001", " Y"),
        ("train-00002", " N"),
        ("train-00003", " Y"),
        ("train-00004", " N"),
    ]
    info = published.info(["plain"])
    assert info.dataset is not None and list(info.dataset.files) == ["hindsight-neglect-10shot.jsonl"]
    assert info.chance == 0.5


def test_gsm8k_takes_the_number_after_the_four_hashes_and_wei_et_al_exemplars(env) -> None:
    lay_out(Path(env["HF_HUB_CACHE"]), "openai/gsm8k", {"main/test.jsonl": GSM8K_JSONL.encode()})
    gsm8k = task("gsm8k")
    plain, cot = gsm8k.instances(0, None, "plain"), gsm8k.instances(0, None, "cot")
    assert [i.target for i in plain] == ["1001", "1002", "1003"]
    assert plain[0].prompt.startswith("Q: There are 15 trees in the grove.")
    assert "\nA: The answer is 6.\n\n" in plain[0].prompt
    assert "\nA: There are 15 trees originally." in cot[0].prompt and cot[0].stated_answer
    assert plain[0].prompt.count("Q: ") == 9 and plain[0].prompt.endswith("How many?\nA:")
    assert [i.item_id for i in plain] == [i.item_id for i in cot]  # the same items, paired


def test_gsm8k_parquet_is_read_with_pyarrow(env, tmp_path: Path) -> None:
    pq = pytest.importorskip("pyarrow.parquet")
    import pyarrow

    rows = [json.loads(line) for line in GSM8K_JSONL.splitlines()]
    pq.write_table(pyarrow.Table.from_pylist(rows), tmp_path / "t.parquet")
    files = {"main/test-00000-of-00001.parquet": (tmp_path / "t.parquet").read_bytes()}
    lay_out(Path(env["HF_HUB_CACHE"]), "openai/gsm8k", files)
    assert [i.target for i in task("gsm8k").instances(0, None, "plain")] == ["1001", "1002", "1003"]


def test_multiarith_concatenates_train_and_test(env) -> None:
    files = {"train.json": MULTIARITH_TRAIN.encode(), "test.json": MULTIARITH_TEST.encode()}
    lay_out(Path(env["HF_HUB_CACHE"]), "ChilleD/MultiArith", files)
    multiarith = task("multiarith")
    items = multiarith.instances(0, None, "plain")
    assert [(i.item_id, i.target) for i in items] == [
        ("train-00001", "5"),
        ("train-00002", "5"),
        ("test-00003", "12"),
    ]
    for prompting in multiarith.promptings:  # counted without rendering, and within the announced budget
        assert multiarith.count(0, 10**20, prompting) == multiarith.item_count(0) == 3
        assert multiarith.count(0, 2, prompting) == len(multiarith.instances(0, 2, prompting)) == 2
        limit = multiarith.generation_limit(prompting)
        assert all(i.max_tokens <= limit for i in multiarith.instances(0, None, prompting))


@pytest.mark.parametrize(
    "cut",
    [MULTIARITH_TRAIN[:-10], MULTIARITH_TRAIN.rstrip("]\n ")],  # inside its last element; after it
)
def test_a_truncated_json_list_is_one_line_with_its_line(env, cut: str) -> None:
    files = {"train.json": cut.encode(), "test.json": MULTIARITH_TEST.encode()}
    snapshot = lay_out(Path(env["HF_HUB_CACHE"]), "ChilleD/MultiArith", files)
    with pytest.raises(UsageError, match=rf"^{snapshot / 'train.json'}:\d+: "):
        task("multiarith").instances(0, None, "plain")


def test_a_revision_without_the_expected_files_lists_what_it_has(env) -> None:
    lay_out(
        Path(env["HF_HUB_CACHE"]),
        "ChilleD/MultiArith",
        {"train.json": MULTIARITH_TRAIN.encode(), "x.txt": b""},
    )
    with pytest.raises(
        UsageError, match=r"has no file for split 'test' \(tried test.json, .*\); it has: train.json, x.txt$"
    ):
        task("multiarith").instances(0, None, "plain")


def test_a_prompting_a_task_does_not_support_is_refused_naming_those_it_does(
    bench, env, tmp_path: Path
) -> None:
    result = bench("run", "--provider", "scripted", "--task", "isp_memo_trap", "--prompting", "cot",
                   "--out", str(tmp_path / "r"), env=env)  # fmt: skip
    assert result.code == 2
    assert result.err.strip() == "bench: error: task 'isp_memo_trap' has no prompting 'cot'; it has: plain"


def test_tasks_list_shows_source_license_and_size(bench, env) -> None:
    result = bench("tasks", "list", env={**env, "COLUMNS": "400"})
    assert result.code == 0, result.err
    [row] = [line for line in result.out.splitlines() if "│ isp_hindsight_neglect " in line]
    for cell in (
        "jmichaelov/inverse_scaling_prize-hindsight_neglect",
        "315",
        "cc-by-4.0",
        "plain",
        "spacing=prize",
    ):
        assert cell in row
    [gsm8k] = [line for line in result.out.splitlines() if "│ gsm8k " in line]
    assert "openai/gsm8k (main)" in gsm8k and "1319" in gsm8k and "plain, cot," in gsm8k


def test_tasks_show_says_what_it_would_download_when_not_cached(bench, env) -> None:
    result = bench("tasks", "show", "isp_hindsight_neglect", env=env)
    assert result.code == 0 and "Traceback" not in result.err
    assert "source: jmichaelov/inverse_scaling_prize-hindsight_neglect, split test, 315 items" in result.out
    assert (
        "not in the Hub cache" in result.out
        and "downloads jmichaelov/inverse_scaling_prize-hindsight_neglect" in result.out
    )
    assert "Answer:" not in result.out


def test_tasks_show_gives_the_first_prompt_when_cached(bench, env) -> None:
    hindsight_copy(Path(env["HF_HUB_CACHE"]))
    result = bench("tasks", "show", "isp_hindsight_neglect", env=env)
    assert result.code == 0, result.err
    assert f"read at commit {COMMIT}" in result.out
    assert "Question 0: was it right?" in result.out


def test_the_hub_cache_follows_hf_home_and_hf_hub_cache(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("HF_HUB_CACHE", raising=False)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "home"))
    assert hub.hub_cache() == tmp_path / "home" / "hub"
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "elsewhere"))
    assert hub.hub_cache() == tmp_path / "elsewhere"


UNREACHABLE = "http://127.0.0.1:9"
"""A Hub endpoint nothing listens on: the connection is refused at once."""


def test_an_unreachable_hub_leaves_the_cache_to_answer(bench, env, tmp_path: Path) -> None:
    online = {**env, "HF_HUB_OFFLINE": "0", "HF_ENDPOINT": UNREACHABLE}
    start = time.monotonic()
    absent = bench(
        "run", "--provider", "scripted", "--task", "gsm8k", "--out", str(tmp_path / "a"), env=online
    )
    assert absent.code == 2 and time.monotonic() - start < 30
    [line] = absent.err.strip().splitlines()
    assert "gsm8k needs openai/gsm8k" in line and "the Hub is unreachable; connect once" in line
    hindsight_copy(Path(env["HF_HUB_CACHE"]))
    args = (*RUN_ISP, "--limit", "2")
    cached = bench(*args, "--out", str(tmp_path / "b"), env=online)
    assert cached.code == 0, cached.err


def test_a_data_file_that_is_not_a_regular_file_is_never_read(env) -> None:
    """A link in the cache to a device (or a folder) would be read forever (/dev/zero) or fail oddly."""
    snapshot = lay_out(
        Path(env["HF_HUB_CACHE"]), "ChilleD/MultiArith", {"test.json": MULTIARITH_TEST.encode()}
    )
    (snapshot / "train.json").symlink_to("/dev/zero")
    with pytest.raises(UsageError, match=r"train.json is not a regular file; delete it from the cache"):
        task("multiarith").instances(0, None, "plain")


def test_a_key_given_twice_in_the_catalog_is_one_line(tmp_path: Path) -> None:
    from tasks.published.catalog import Catalog, _read

    bad = tmp_path / "catalog.yaml"
    bad.write_text("tasks: []\ntasks: []\n", encoding="utf-8")
    with pytest.raises(UsageError, match=r"catalog.yaml:2: duplicate key 'tasks'"):
        _read(bad, Catalog)
