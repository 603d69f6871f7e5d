"""Make a smaller real model from a GGUF by keeping only its first transformer blocks (or copy it with
metadata added, such as a chat template).

The registries ship one real model (Gemma-3-270M); a size sweep needs at least two. A Gemma with
fewer blocks is a genuine, smaller llama.cpp model (fewer parameters, a different file), good enough
to test that a sweep loads, orders and reports models by size. Its answers are not a scaling result.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import gguf

_BLOCK = re.compile(r"^blk\.(\d+)\.")


def prune_blocks(source: Path, target: Path, keep: int) -> None:
    """A copy of `source` with its first `keep` transformer blocks."""
    _copy(source, target, keep=keep)


def with_metadata(source: Path, target: Path, extra: dict[str, str]) -> Path:
    """A copy of `source` with string metadata added or replaced (e.g. tokenizer.chat_template)."""
    _copy(source, target, extra=extra)
    return target


def _copy(source: Path, target: Path, keep: int | None = None, extra: dict[str, str] | None = None) -> None:
    reader = gguf.GGUFReader(source)
    arch = str(reader.fields["general.architecture"].contents())
    writer = gguf.GGUFWriter(target, arch=arch, endianess=reader.endianess)
    extra = extra or {}
    for field in reader.fields.values():
        if field.name == "general.architecture" or field.name.startswith("GGUF.") or field.name in extra:
            continue
        value = field.contents()
        if keep is not None and field.name == f"{arch}.block_count":
            value = keep
        elif keep is not None and field.name == "general.name":
            value = f"{value} (first {keep} blocks)"
        kind = field.types[0]
        sub = field.types[-1] if kind == gguf.GGUFValueType.ARRAY else None
        writer.add_key_value(field.name, value, kind, sub_type=sub)
    for name, text in extra.items():
        writer.add_key_value(name, text, gguf.GGUFValueType.STRING)
    tensors = [
        t for t in reader.tensors if keep is None or not (m := _BLOCK.match(t.name)) or int(m.group(1)) < keep
    ]
    for t in tensors:
        writer.add_tensor_info(t.name, t.data.shape, t.data.dtype, t.data.nbytes, t.tensor_type)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_ti_data_to_file()
    for t in tensors:
        writer.write_tensor_data(t.data, tensor_endianess=reader.endianess)
    writer.close()


if __name__ == "__main__":
    prune_blocks(Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3]))
