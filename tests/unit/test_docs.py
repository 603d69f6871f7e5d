"""The documentation holds together: README.md is a short front page that names every page of docs/,
every relative link of README.md and docs/ reaches a file and a heading that are there, the test
command it gives is the one CI runs, its picture of a report is a small image, and docs/tasks.md's trap
file loads as written. (The other examples the pages show are run by the tests of what they document:
test_entry_points, test_scorers, test_analyses, test_api, test_published_analyses.)"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.helpers.docs import anchor, anchors, broken_links, links, page, section

PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


@pytest.mark.parametrize("path", PAGES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_every_relative_link_reaches_a_file_and_heading_that_are_there(path: Path) -> None:
    assert broken_links(path) == []


def test_a_missing_file_or_heading_is_a_broken_link_with_its_line(tmp_path: Path) -> None:
    (tmp_path / "other.md").write_text("# Other\n\n## Two words\n", encoding="utf-8")
    (tmp_path / "page.md").write_text(
        "# Page\n\n"
        "[fine](other.md#two-words), [fine too](#page), [a site](https://example.org/x.md)\n"
        "[gone](missing.md) and ![gone too](images/none.png)\n"
        "[no heading](other.md#three-words)\n"
        "```\n[in code](missing.md)\n```\n"
        "`[in a code span](missing.md)`\n",
        encoding="utf-8",
    )
    assert broken_links(tmp_path / "page.md") == [
        "page.md:4: missing.md (no such file)",
        "page.md:4: images/none.png (no such file)",
        "page.md:5: other.md#three-words (no heading with that anchor)",
    ]


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("Providers (vLLM, TGI, OpenAI, Hugging Face)", "providers-vllm-tgi-openai-hugging-face"),
        ("`bench run`", "bench-run"),
        ("Reproduce the seed's curves on a GPU", "reproduce-the-seeds-curves-on-a-gpu"),
        ("Nothing is bought twice, nothing is lost", "nothing-is-bought-twice-nothing-is-lost"),
    ],
)
def test_a_heading_s_anchor_is_the_one_github_gives_it(title: str, expected: str) -> None:
    assert anchor(title) == expected


def test_a_repeated_heading_gets_a_numbered_anchor_and_code_is_no_heading() -> None:
    text = "# Notes\n\n## Notes\n\n```bash\n# a comment\n```\n"
    assert anchors(text) == {"notes", "notes-1"}


def test_the_readme_is_a_short_front_page_that_names_every_docs_page() -> None:
    readme = page("README.md")
    assert len(readme.split("\n")) < 200
    linked = {target.partition("#")[0] for _, target in links(readme)}
    assert {f"docs/{p.name}" for p in PAGES[1:]} <= linked


def test_the_readme_test_command_is_the_one_ci_runs() -> None:
    blocks = re.findall(r"```bash\n(.*?)```", section("README.md", "## Two commands"), re.DOTALL)
    assert [b.strip() for b in blocks] == [
        "python3 -m venv .venv && . .venv/bin/activate && pip install -e '.[local]' && bench run",
        "pip install -e '.[local,server,openai,anthropic,hf,datasets,dev]' && ruff check . && mypy && pytest",
    ]
    assert blocks[1].strip() in (ROOT / ".ci" / "run").read_text(encoding="utf-8").split("\n")


def test_the_picture_of_a_report_is_a_small_png() -> None:
    (image,) = [t for _, t in links(page("README.md")) if t.startswith("docs/images/")]
    data = (ROOT / image).read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) < 300_000


def test_a_section_ends_at_the_next_heading_of_its_level_or_the_page_s_end() -> None:
    write = section("docs/extending.md", "## Write a provider", through="## Write a task")
    assert write.startswith("## Write a provider\n") and "## Write a task\n" in write
    assert "## Write a scorer" not in write and "# bench_doubler/task.py" in write
    heading = "### What the analyses say about Pythia on the prize tasks"
    text = page("docs/reproducing.md")
    assert section("docs/reproducing.md", heading) == text[text.index(heading) :]


def test_the_trap_file_of_docs_tasks_loads_as_written_and_a_wrong_label_is_refused(tmp_path: Path) -> None:
    from benchmark.errors import UsageError
    from tasks.files import load_task_file

    text = section("docs/tasks.md", "## Adding a trap question")
    (yaml,) = re.findall(r"```yaml\n(.*?)```", text, re.DOTALL)
    (tmp_path / "my_traps.yaml").write_text(yaml, encoding="utf-8")
    task = load_task_file(tmp_path / "my_traps.yaml")
    assert (task.name, task.version) == ("my_traps", "1")
    assert [(item.id, item.target) for item in task.items] == [("david", " N"), ("other", " N")]
    (tmp_path / "wrong.yaml").write_text(yaml.replace("label: N ", "label: Y "), encoding="utf-8")
    with pytest.raises(UsageError, match=r"wrong\.yaml:\d+: label Y contradicts the expected value"):
        load_task_file(tmp_path / "wrong.yaml")
