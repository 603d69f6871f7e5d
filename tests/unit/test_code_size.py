"""Sizes one can hold in one's head: no module of bench's packages or perf/ over 500 lines, no function or
method over 60 (from its `def` line to its last line, nested functions counted in their own right too).
A long one is split by responsibility, not exempted; each offender is named by file:line."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.conftest import ROOT

PACKAGES = ("benchmark", "providers", "tasks", "reports", "perf")
MAX_MODULE_LINES = 500
MAX_FUNCTION_LINES = 60


def _sources(root: Path) -> list[Path]:
    return [path for package in PACKAGES for path in sorted((root / package).rglob("*.py"))]


def _long_modules(paths: list[Path], root: Path) -> list[str]:
    found = []
    for path in paths:
        lines = len(path.read_text(encoding="utf-8").splitlines())
        if lines > MAX_MODULE_LINES:
            found.append(f"{path.relative_to(root)}:1: {lines} lines (at most {MAX_MODULE_LINES})")
    return found


def _long_functions(paths: list[Path], root: Path) -> list[str]:
    found = []
    for path in paths:
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                lines = (node.end_lineno or node.lineno) - node.lineno + 1
                if lines > MAX_FUNCTION_LINES:
                    where = f"{path.relative_to(root)}:{node.lineno}"
                    found.append(f"{where}: {node.name} has {lines} lines (at most {MAX_FUNCTION_LINES})")
    return sorted(found)


def test_the_scan_names_a_long_module_and_a_long_function_by_file_and_line(tmp_path: Path) -> None:
    lines = [f"x{n} = {n}\n" for n in range(MAX_FUNCTION_LINES - 1)]
    short = "def short():\n" + "".join("    " + line for line in lines)  # exactly the limit
    long = "\n\nclass C:\n    async def long(self):\n" + "".join("        " + line for line in lines)
    long += "        pass\n"  # one line over
    padding = "\n" * (MAX_MODULE_LINES - 2 * MAX_FUNCTION_LINES - 4)
    module = tmp_path / "reports" / "big.py"
    module.parent.mkdir()
    module.write_text(short + long + padding)
    paths = _sources(tmp_path)
    assert paths == [module]
    assert _long_functions(paths, tmp_path) == [
        f"reports/big.py:{MAX_FUNCTION_LINES + 4}: long has 61 lines (at most 60)"
    ]
    assert _long_modules(paths, tmp_path) == []  # 500 lines is within the limit
    module.write_text(short + long + padding + "\n")
    assert _long_modules(paths, tmp_path) == ["reports/big.py:1: 501 lines (at most 500)"]


def test_no_module_is_over_500_lines() -> None:
    found = _long_modules(_sources(ROOT), ROOT)
    assert not found, "split these by responsibility:\n" + "\n".join(found)


def test_no_function_is_over_60_lines() -> None:
    found = _long_functions(_sources(ROOT), ROOT)
    assert not found, "split these by responsibility:\n" + "\n".join(found)
