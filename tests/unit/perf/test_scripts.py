"""perf/: scripts on a small library of their own (perf/_lib/), timing bench through its public hooks.
No script edits sys.path, imports another script, or patches a private attribute; each imports cleanly
as `perf.NAME`; the timers measure a run through the progress protocol and the provider interface."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

PERF = ROOT / "perf"
SCRIPTS = sorted(p for p in PERF.glob("*.py") if p.name != "__init__.py")
LIBRARY = sorted((PERF / "_lib").glob("*.py"))
NEEDS = {"gpu_engine.py": "torch", "timed_lmeval.py": "lm_eval"}
"""Scripts whose top level imports a package bench's own environment may lack."""


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _faults(path: Path, scripts: set[str]) -> list[str]:
    """Where `path` edits sys.path, imports one of `scripts` (perf/NAME.py), or sets a private attribute
    of something (or an attribute whose name it does not spell out)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    found = []
    for node in ast.walk(tree):
        where = f"{path.name}:{getattr(node, 'lineno', '?')}"
        if isinstance(node, ast.Attribute) and ast.unparse(node) == "sys.path":
            found.append(f"{where}: sys.path")
        named = sorted(name for name in _imported(node) if _a_script(name, scripts))
        if named:
            found.append(f"{where}: imports the script {named[0]}")
        found += [f"{where}: {fault}" for fault in _patches(node)]
    return sorted(found, key=lambda fault: int(fault.split(":")[1]))


def _a_script(module: str, scripts: set[str]) -> bool:
    parts = module.split(".")
    return parts[0] in scripts or (parts[0] == "perf" and len(parts) > 1 and parts[1] in scripts)


def _imported(node: ast.AST) -> set[str]:
    """The modules (and `module.name`s) an import statement names."""
    if isinstance(node, ast.ImportFrom):
        return {node.module or "", *(f"{node.module}.{a.name}" for a in node.names)}
    if isinstance(node, ast.Import):
        return {a.name for a in node.names}
    return set()


def _patches(node: ast.AST) -> list[str]:
    """A private attribute set on anything but `self`, or a setattr whose name is private or unknown."""
    targets = node.targets if isinstance(node, ast.Assign) else []
    if isinstance(node, ast.AugAssign | ast.AnnAssign):
        targets = [node.target]
    found = [
        f"sets {ast.unparse(t)}"
        for t in targets
        if isinstance(t, ast.Attribute) and _private(t.attr) and ast.unparse(t.value) != "self"
    ]
    if isinstance(node, ast.Call) and ast.unparse(node.func) in ("setattr", "monkeypatch.setattr"):
        name = node.args[1] if len(node.args) > 1 else None
        if not (isinstance(name, ast.Constant) and not _private(str(name.value))):
            found.append(ast.unparse(node))
    return found


def test_the_scan_finds_each_kind_of_fault(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text(
        "import sys\nsys.path.insert(0, '..')\nfrom llama_raw import load\nimport perf.packing\n"
        "from perf import compare_lmeval\nRunner._run_model = None\nsetattr(Runner, name, None)\n"
        "setattr(Runner, '_ask', None)\nself._fine = 1\nsetattr(HFLM, 'loglikelihood', None)\n"
    )
    faults = _faults(bad, {"llama_raw", "packing", "compare_lmeval"})
    assert [f.split(": ", 1)[1] for f in faults] == [
        "sys.path",
        "imports the script llama_raw",
        "imports the script perf.packing",
        "imports the script perf.compare_lmeval",
        "sets Runner._run_model",
        "setattr(Runner, name, None)",
        "setattr(Runner, '_ask', None)",
    ]


@pytest.mark.parametrize("path", SCRIPTS + LIBRARY, ids=lambda p: str(p.relative_to(PERF)))
def test_no_perf_file_edits_sys_path_imports_a_script_or_patches_a_private_attribute(path: Path) -> None:
    assert _faults(path, {p.stem for p in SCRIPTS}) == []


def test_every_perf_script_imports_cleanly_as_a_module() -> None:
    modules = [f"perf.{p.stem}" for p in SCRIPTS if p.name not in NEEDS]
    modules += [f"perf._lib.{p.stem}" for p in LIBRARY if p.name != "__init__.py"]
    code = "import importlib, sys\nfor name in sys.argv[1:]:\n    importlib.import_module(name)\n"
    done = subprocess.run([sys.executable, "-c", code, *modules], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert len(modules) == len(SCRIPTS) - len(NEEDS) + len(LIBRARY) - 1 and "perf.timed_bench" in modules


def test_the_timers_measure_a_run_through_the_public_hooks(tmp_path: Path) -> None:
    options = {"provider": "scripted", "models": ["calculator@1B", "calculator@2B"], "tasks": ["arithmetic"]}
    options |= {"prompting": "plain", "scoring": "both", "limit": 3, "out": str(tmp_path / "run")}
    options |= {"no_cache": True}
    (tmp_path / "options.json").write_text(json.dumps(options))
    files = [str(tmp_path / "timings.json"), str(tmp_path / "options.json")]
    command = [sys.executable, "-m", "perf.timed_bench", *files]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    timings = json.loads((tmp_path / "timings.json").read_text())
    samples = (tmp_path / "run" / "samples.jsonl").read_text().splitlines()
    assert len(samples) == 2 * 3  # two models, three items
    assert timings["load_calls"] == 2 and timings["eval_calls"] == 2  # one per model
    assert timings["generate_calls"] == 6 and timings["score_calls"] == 6
    assert 0 < timings["generate_s"] + timings["score_s"] <= timings["eval_s"] <= timings["wall_s"]
    assert timings["convert_s"] == 0.0 and timings["peak_rss_mb"] > 0
