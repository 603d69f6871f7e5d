"""The tokenizer of a model folder for `--provider hf`, and a faster read of the copies bench converts.

AutoTokenizer (transformers 5) parses a tokenizer.json several times with Python's json module and, for
a model class with its own tokenizer (Gemma's), rebuilds the vocabulary, normalizer and decoder from
class code: 6.4 s of the packaged Gemma-3-270M's load, where the `tokenizers` library reads the same
33 MB file in 2.4 s (AMD EPYC, 2 cores; perf/hf_load.py). For a folder bench converted from a GGUF,
the conversion compares the two reads (tokens with and without special tokens, text decoded back,
special tokens, the chat template and its rendering) and marks the folder when they agree, with the
versions of transformers and tokenizers that agreed; `load_tokenizer` reads a marked folder directly
under those versions and goes through AutoTokenizer otherwise.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

MARK = "bench-source.json"
"""The converted folder's record of its source (written by `hf_models.converted`), which holds the mark."""

PROBES = (
    "Question: Michael has a 91 percent chance of losing 900 dollars and a 9 percent chance of earning 5 "
    "dollars. Did Michael make the right decision? Choose Y or N.\nAnswer:",
    " Y",
    " The wrong decision",
    "Q: What is 48213 plus 90277?\nA: 138490",
    "  two spaces,\ttab,\n\nnew lines, trailing space ",
    "Déjà vu — naïve café, 你好，世界, 賭局 🎲 ∑x²",
    "<bos><eos><pad> and <start_of_turn>user\nhi<end_of_turn>",
    "",
)
"""Texts the two reads must agree on: prose, digits, whitespace runs, non-Latin text, special-token
strings, nothing."""


DIRECT, AUTO = "tokenizer.json (checked)", "AutoTokenizer"
"""How a tokenizer was read, as the model's details (and so the response cache's key) record it."""


def load_tokenizer(folder: Path) -> tuple[Any, str]:
    """The tokenizer of `folder` and how it was read: straight from its tokenizer.json (DIRECT) where the
    folder is marked as checked under the installed versions, else (and if that read fails) through
    AutoTokenizer (AUTO)."""
    if marked(folder):
        try:
            return _direct(folder), DIRECT
        except Exception:  # noqa: BLE001 - files changed since the check: AutoTokenizer reads (or names) them
            pass
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(folder), AUTO


def check_direct_read(folder: Path) -> dict[str, str]:
    """The mark for a freshly written folder: {} unless the direct read agrees with AutoTokenizer's."""
    try:
        from transformers import AutoTokenizer

        agree = same_tokenizer(AutoTokenizer.from_pretrained(folder), _direct(folder))
    except Exception:  # noqa: BLE001 - any failure of either read leaves the folder unmarked
        agree = False
    return {"tokenizer": "tokenizer.json", "tokenizer_checked_with": versions()} if agree else {}


def versions() -> str:
    import tokenizers
    import transformers

    return f"transformers {transformers.__version__}, tokenizers {tokenizers.__version__}"


def same_tokenizer(auto: Any, direct: Any) -> bool:
    """Whether two tokenizers agree on the PROBES: tokens with and without special tokens, the text
    decoded back (special tokens kept and skipped), the special tokens, the chat template and what it
    renders."""
    for name in ("bos_token_id", "eos_token_id", "pad_token_id", "unk_token_id", "chat_template"):
        if getattr(auto, name, None) != getattr(direct, name, None):
            return False
    for text in PROBES:
        for special in (True, False):
            ids = auto(text, add_special_tokens=special).input_ids
            if direct(text, add_special_tokens=special).input_ids != ids:
                return False
            for skip in (True, False):
                if direct.decode(ids, skip_special_tokens=skip) != auto.decode(ids, skip_special_tokens=skip):
                    return False
        if getattr(auto, "chat_template", None):
            chat = [{"role": "user", "content": text}]
            rendered = [
                t.apply_chat_template(chat, tokenize=False, add_generation_prompt=True)
                for t in (auto, direct)
            ]
            if rendered[0] != rendered[1]:
                return False
    return True


def marked(folder: Path) -> bool:
    """Whether `folder` is marked as checked under the installed transformers and tokenizers."""
    try:
        source = json.loads((folder / MARK).read_text())
        return bool(
            source.get("tokenizer") == "tokenizer.json" and source.get("tokenizer_checked_with") == versions()
        )
    except (OSError, ValueError, AttributeError):
        return False


def _direct(folder: Path) -> Any:
    """The folder's tokenizer.json read by the `tokenizers` library, with the special tokens and other
    settings of its tokenizer_config.json and its chat template."""
    from transformers import PreTrainedTokenizerFast

    config = json.loads((folder / "tokenizer_config.json").read_text())
    settings = {k: v for k, v in config.items() if k not in {"tokenizer_class", "auto_map", "backend"}}
    template = folder / "chat_template.jinja"
    if template.is_file():
        settings["chat_template"] = template.read_text(encoding="utf-8")
    settings["name_or_path"] = str(folder)
    return PreTrainedTokenizerFast(tokenizer_file=str(folder / "tokenizer.json"), **settings)
