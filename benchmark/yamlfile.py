"""One YAML document read from a user's file (task files, family files), with `PATH:LINE: reason` errors.

The document comes back both as nodes, which know their lines, and as plain data. Every problem,
including the ones PyYAML's constructors raise as plain Python errors (`!!bool maybe`, `!!timestamp x`,
an integer of 5,000 digits, nesting hundreds of levels deep), is a `UsageError`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from benchmark.errors import UsageError

# What PyYAML's safe constructors and its recursive composer raise besides YAMLError.
_CONSTRUCT_ERRORS = (
    ValueError, TypeError, LookupError, AttributeError, OverflowError, RecursionError, MemoryError,
)  # fmt: skip


class _Loader(yaml.SafeLoader):
    """The safe loader, remembering the node it constructs last: the one a constructor error is about."""

    node: yaml.Node | None = None

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        self.node = node
        return super().construct_object(node, deep)


def read_yaml(path: Path, text: str) -> tuple[yaml.Node | None, Any]:
    """The file's single document as (root node, data); (None, None) when it holds none."""
    loader: _Loader | None = None
    try:
        loader = _Loader(text)  # checks the characters first
        node = loader.get_single_node()
        return node, (loader.construct_document(node) if node is not None else None)
    except yaml.reader.ReaderError as error:  # a control character: position, not a mark
        line = text.count("\n", 0, error.position) + 1
        reason = f"unacceptable character #x{error.character:04x}: {error.reason}"
        raise UsageError(f"{path}:{line}: not valid YAML ({reason})") from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None) or getattr(error, "context_mark", None)
        problem = getattr(error, "problem", None) or str(error).splitlines()[0]
        line = mark.line + 1 if mark is not None else 1
        raise UsageError(f"{path}:{line}: not valid YAML ({problem})") from None
    except _CONSTRUCT_ERRORS as error:
        failed = loader.node if loader is not None else None
        if isinstance(error, RecursionError | MemoryError):
            reason = "nested too deeply" if isinstance(error, RecursionError) else "too large"
        elif isinstance(failed, yaml.ScalarNode):
            reason = f"cannot read {failed.value[:40]!r} as {failed.tag.rsplit(':', 1)[-1]}"
        else:
            reason = str(error)[:80] or type(error).__name__
        opened = getattr(loader, "marks", None)  # while composing: where the open collections start
        mark = failed.start_mark if failed is not None else opened[-1] if opened else None
        line = mark.line + 1 if mark is not None else 1
        raise UsageError(f"{path}:{line}: not valid YAML ({reason})") from None
    finally:
        if loader is not None:
            loader.dispose()


def check_duplicate_keys(path: Path, root: yaml.Node) -> None:
    """A key given twice in one mapping is an error at its second line (PyYAML keeps the last silently)."""
    stack, seen = [root], set()
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, yaml.MappingNode):
            keys: set[str] = set()
            for key, value in node.value:
                if isinstance(key, yaml.ScalarNode):
                    if key.value in keys:
                        raise UsageError(f"{path}:{key.start_mark.line + 1}: duplicate key {key.value!r}")
                    keys.add(key.value)
                stack.extend((key, value))
        elif isinstance(node, yaml.SequenceNode):
            stack.extend(node.value)
