"""Tiny randomly initialised models of real architectures, written with `save_pretrained` (no download):
enough to test the transformers engine's batching, masks, sweeps and chat templates in seconds."""

from __future__ import annotations

import string
from pathlib import Path
from typing import Any

CHAT_TEMPLATE = (
    "{{ bos_token }}{% for m in messages %}<|{{ m['role'] }}|>\n{{ m['content'] }}\n{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>\n{% endif %}"
)
"""A small chat template of the usual shape (a turn marker, the message, the assistant's marker)."""


def tokenizer(chat_template: str | None = None) -> Any:
    """A character-level tokenizer (printable ASCII) that puts a BOS before every text."""
    from tokenizers import Tokenizer, models, processors
    from transformers import PreTrainedTokenizerFast

    specials = ["<pad>", "<bos>", "<eos>", "<unk>"]
    vocab = {token: n for n, token in enumerate(specials + list(string.printable))}
    core = Tokenizer(models.BPE(vocab=vocab, merges=[], unk_token="<unk>"))
    core.post_processor = processors.TemplateProcessing(
        single="<bos> $A", special_tokens=[("<bos>", vocab["<bos>"])]
    )
    wrapped = PreTrainedTokenizerFast(
        tokenizer_object=core, bos_token="<bos>", eos_token="<eos>", pad_token="<pad>", unk_token="<unk>"
    )
    if chat_template is not None:
        wrapped.chat_template = chat_template
    return wrapped


def config(architecture: str, vocab_size: int, hidden: int = 32, positions: int = 8192) -> Any:
    """A small config of `architecture`: gemma3 (sliding window of 8 tokens beside full layers), llama,
    qwen2, gpt_neox or gpt2; `positions` is its context."""
    import transformers

    ids = {"bos_token_id": 1, "eos_token_id": 2, "pad_token_id": 0}
    if architecture == "gemma3":
        return transformers.Gemma3TextConfig(
            vocab_size=vocab_size,
            hidden_size=hidden,
            intermediate_size=2 * hidden,
            num_hidden_layers=3,
            num_attention_heads=2,
            num_key_value_heads=1,
            head_dim=16,
            sliding_window=8,
            layer_types=["sliding_attention", "full_attention", "sliding_attention"],
            max_position_embeddings=positions,
            **ids,
        )
    common = {"vocab_size": vocab_size, "hidden_size": hidden, "num_hidden_layers": 2, **ids}
    if architecture == "gpt2":
        return transformers.GPT2Config(
            vocab_size=vocab_size, n_embd=hidden, n_layer=2, n_head=2, n_positions=positions, **ids
        )
    if architecture == "gpt_neox":
        return transformers.GPTNeoXConfig(
            **common, intermediate_size=2 * hidden, num_attention_heads=2, max_position_embeddings=positions
        )
    cls = {"llama": transformers.LlamaConfig, "qwen2": transformers.Qwen2Config}[architecture]
    heads = {"num_attention_heads": 4, "num_key_value_heads": 2}
    return cls(**common, intermediate_size=2 * hidden, max_position_embeddings=positions, **heads)


def write(
    folder: Path,
    architecture: str = "llama",
    hidden: int = 32,
    chat: bool = False,
    seed: int = 0,
    positions: int = 8192,
) -> Path:
    """A tiny model and its tokenizer in `folder` (created); `chat` gives the tokenizer a chat template."""
    import torch
    from transformers import AutoModelForCausalLM

    tok = tokenizer(CHAT_TEMPLATE if chat else None)
    torch.manual_seed(seed)
    model = AutoModelForCausalLM.from_config(config(architecture, len(tok), hidden, positions))
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(folder)
    tok.save_pretrained(folder)
    return folder
