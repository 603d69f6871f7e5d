"""Imports go one way: the bottom layer (shared types and pure functions) imports nothing of bench above
it; providers, tasks and reports import the bottom layer and their own package, never each other; the
runner, CLI and API on top import anything. Read from the source (every import, function-level ones
too), so a new module lands in a layer on purpose."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.conftest import ROOT

PACKAGES = ("benchmark", "providers", "tasks", "reports")

BOTTOM = {
    f"benchmark.{name}"
    for name in (
        "cache",
        "engine_threads",
        "errors",
        "prompting",
        "records",
        "registry",
        "rundir",
        "schemas",
        "scoring",
        "settings",
        "sizes",
        "terminal",
        "variants",
        "yamlfile",
    )
}
TOP = {
    f"benchmark.{name}"
    for name in (
        "__main__",
        "api",
        "catalog",
        "cli",
        "client",
        "cost",
        "families",
        "interrupts",
        "jobs",
        "outcome",
        "progress",
        "resume",
        "runconfig",
        "runner",
        "sampler",
        "session",
    )
}
TOP.add("benchmark")  # the package: __version__, and run/load_run from api.py


def _module(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return {name for name in found if name.split(".")[0] in PACKAGES}


def _modules() -> dict[str, set[str]]:
    return {
        _module(path): _imports(path)
        for package in PACKAGES
        for path in sorted((ROOT / package).rglob("*.py"))
    }


def _layer(module: str) -> str:
    if module in BOTTOM:
        return "bottom"
    if module in TOP:
        return "top"
    return module.split(".")[0]  # providers, tasks, reports


def test_every_module_of_benchmark_is_in_a_layer() -> None:
    unplaced = [m for m in _modules() if m.split(".")[0] == "benchmark" and m not in BOTTOM | TOP]
    assert not unplaced, f"put these in BOTTOM or TOP of tests/unit/test_layers.py: {unplaced}"


def test_imports_go_one_way() -> None:
    wrong = []
    for module, imported in _modules().items():
        layer = _layer(module)
        for name in imported:
            target = _layer(name) if name in BOTTOM | TOP or name.split(".")[0] != "benchmark" else "top"
            allowed = (
                {"bottom"}
                | ({layer} if layer != "bottom" else set())
                | ({"top", "providers", "tasks", "reports"} if layer == "top" else set())
            )
            if target not in allowed:
                wrong.append(f"{module} ({layer}) imports {name} ({target})")
    assert not wrong, "\n".join(wrong)
