"""bench's transformers engine (`--provider hf`) on a GPU, against a plain one-item-at-a-time transformers
loop: scoring and generation tokens/s, from one run. No download: the model is Gemma-3-1B's shape
(26 layers, hidden 1152, a 262,144-token vocabulary, sliding windows of 512 beside full layers) with
random weights, which compute exactly as much as the real ones.

    python -m perf.gpu_engine                 # a few minutes on one GPU
    python -m perf.gpu_engine --tiny          # a 2-layer model on the CPU: checks that the script runs

Scoring: `--items` items of the 10-shot trap's shape (a ~700-token prefix every item shares, ~60 tokens
of its own, two 1-2 token classes), bench's engine in its groups against one forward pass of prompt +
class per class (what lm-evaluation-harness's `hf` model does, batch 1). Generation: `--items` prompts
of ~100 tokens, 64 greedy tokens each, bench's groups against `model.generate` one prompt at a time.
Prints tokens/s (prompt tokens evaluated, or tokens generated) and the ratio, with the GPU's name.
"""

from __future__ import annotations

import argparse
import asyncio
import string
import tempfile
import time
from pathlib import Path
from typing import Any

import torch


def tokenizer() -> Any:
    """A character-level tokenizer (printable ASCII; a BOS before every text): ids fit any vocabulary."""
    from tokenizers import Tokenizer, models, processors
    from transformers import PreTrainedTokenizerFast

    specials = ["<pad>", "<bos>", "<eos>", "<unk>"]
    vocab = {token: n for n, token in enumerate(specials + list(string.printable))}
    core = Tokenizer(models.BPE(vocab=vocab, merges=[], unk_token="<unk>"))
    core.post_processor = processors.TemplateProcessing(single="<bos> $A", special_tokens=[("<bos>", 1)])
    return PreTrainedTokenizerFast(
        tokenizer_object=core, bos_token="<bos>", eos_token="<eos>", pad_token="<pad>", unk_token="<unk>"
    )


def gemma_1b(tiny: bool) -> Any:
    from transformers import Gemma3TextConfig

    if tiny:
        shape = {"hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2, "head_dim": 32}
        shape |= {"layer_types": ["sliding_attention", "full_attention"], "vocab_size": 4096}
    else:  # google/gemma-3-1b-pt's config
        shape = {"hidden_size": 1152, "intermediate_size": 6912, "num_hidden_layers": 26, "head_dim": 256}
        shape |= {"vocab_size": 262144}
        shape["layer_types"] = [
            "full_attention" if (n + 1) % 6 == 0 else "sliding_attention" for n in range(26)
        ]
    return Gemma3TextConfig(
        **shape,
        num_attention_heads=4,
        num_key_value_heads=1,
        sliding_window=512,
        max_position_embeddings=32768,
        bos_token_id=1,
        eos_token_id=2,
        pad_token_id=0,
    )


def write_model(folder: Path, tiny: bool, dtype: Any) -> None:
    from transformers import AutoModelForCausalLM

    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_config(gemma_1b(tiny), dtype=dtype)
    model.save_pretrained(folder)
    tokenizer().save_pretrained(folder)


def items(count: int) -> tuple[str, list[str]]:
    shared = "".join(
        f"Example {n}: a gamble with a {n}% chance to win ${n * 3} was played. Y\n" for n in range(12)
    )
    return shared, [
        shared + f"Item {n}: a bet with a {n % 90}% chance to lose $50; was it right?" for n in range(count)
    ]


def timed(call: Any) -> tuple[Any, float]:
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    start = time.perf_counter()
    out = call()
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    return out, time.perf_counter() - start


def _scoring(engine: Any, count: int) -> None:
    """Two-class scoring with a shared prefix: bench's groups against one forward pass per class."""
    from providers.base import ScoreRequest

    model, tok = engine.model, engine.tokenizer
    shared, prompts = items(count)
    classes = (" Y", " N")
    score = [ScoreRequest(p, classes, len(shared)) for p in prompts]
    group = engine.batch_size
    asyncio.run(engine.score_many(score[:group]))  # warm-up
    _, ours = timed(
        lambda: [asyncio.run(engine.score_many(score[i : i + group])) for i in range(0, len(score), group)]
    )
    tokens = sum(len(tok(p).input_ids) + 1 for p in prompts) * len(classes)

    def plain_scoring() -> None:
        with torch.inference_mode():
            for prompt in prompts:
                for text in classes:
                    ids = torch.tensor([tok(prompt + text).input_ids], device=model.device)
                    model(ids).logits.float().log_softmax(-1)

    _, theirs = timed(plain_scoring)
    print(f"scoring: {len(prompts)} items x {len(classes)} classes ({tokens} tokens as lm-eval counts them)")
    print(f"  bench groups of {group}: {ours:.1f} s; one at a time: {theirs:.1f} s")
    print(f"  bench {theirs / ours:.1f}x faster")
    print(f"  tokens/s (lm-eval's count): bench {tokens / ours:.0f}, one at a time {tokens / theirs:.0f}")


def _generation(engine: Any, count: int) -> None:
    """Greedy generation: bench's groups against model.generate one prompt at a time."""
    from providers.base import GenerateRequest

    model, tok = engine.model, engine.tokenizer
    group = engine.batch_size
    short = [f"Q: what is {n} plus {n * 7}? Explain step by step." * 3 for n in range(count)]
    generate = [GenerateRequest(p, 64) for p in short]
    outs, ours = timed(
        lambda: [
            g
            for i in range(0, len(generate), group)
            for g in asyncio.run(engine.generate_many(generate[i : i + group]))
        ]
    )
    made = sum(g.completion_tokens or 0 for g in outs)

    def plain_generation() -> int:
        count = 0
        with torch.inference_mode():
            for prompt in short:
                ids = torch.tensor([tok(prompt).input_ids], device=model.device)
                out = model.generate(ids, max_new_tokens=64, do_sample=False, pad_token_id=0)
                count += out.shape[1] - ids.shape[1]
        return count

    theirs_made, theirs = timed(plain_generation)
    print(f"generation: {len(short)} prompts, up to 64 greedy tokens each")
    print(f"  bench groups of {group}: {made} tokens in {ours:.1f} s = {made / ours:.0f} tokens/s")
    rate = theirs_made / theirs
    print(f"  model.generate one at a time: {theirs_made} tokens in {theirs:.1f} s = {rate:.0f} tokens/s")
    print(f"  ratio (tokens/s): {(made / ours) / (theirs_made / theirs):.1f}x")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--items", type=int, default=256)
    parser.add_argument("--tiny", action="store_true", help="a 2-layer model on whatever device there is")
    args = parser.parse_args()
    from providers.base import ProviderOptions
    from providers.hf import HFProvider, device_and_dtype

    device, dtype = device_and_dtype("auto")
    name = torch.cuda.get_device_name(0) if device == "cuda" else "CPU"
    print(
        f"device: {name}; dtype {dtype}; model: {'tiny' if args.tiny else 'Gemma-3-1B shape'}, random weights"
    )
    with tempfile.TemporaryDirectory() as tmp:
        write_model(Path(tmp), args.tiny, dtype)
        engine = HFProvider.from_spec(tmp, ProviderOptions())
        _scoring(engine, args.items)
        _generation(engine, args.items)
        engine.close()


if __name__ == "__main__":
    main()
