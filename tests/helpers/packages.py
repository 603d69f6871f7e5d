"""A package of another author, installed for a test: its modules and a dist-info with its entry points
on a folder that the `bench` subprocess gets on its PYTHONPATH; and the packages the "Write a ..."
sections of docs/extending.md show."""

from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path

from tests.conftest import ROOT
from tests.helpers.docs import section


def _install(root: Path, package: str, files: dict[str, str], groups: dict[str, dict[str, str]]) -> None:
    """What `pip install` of a package leaves on sys.path: its modules and a dist-info with its entry
    points."""
    for path, source in files.items():
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(source, encoding="utf-8")
    for folder in {root / Path(p).parts[0] for p in files if len(Path(p).parts) > 1}:
        (folder / "__init__.py").touch()
    info = root / f"{package.replace('-', '_')}-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {package}\nVersion: 0.1\n")
    lines = [
        f"[{group}]\n" + "".join(f"{k} = {v}\n" for k, v in points.items())
        for group, points in groups.items()
    ]
    (info / "entry_points.txt").write_text("\n".join(lines))


def _env(root: Path, **extra: str) -> dict[str, str]:
    return {"PYTHONPATH": f"{ROOT}{os.pathsep}{root}", **extra}


def readme_package(title: str, last: str | None = None) -> tuple[dict[str, str], dict[str, dict[str, str]]]:
    """The package of docs/extending.md's section `## {title}` (through section `last`, if given):
    {path: source} from its python blocks (each opening with `# PATH`), and the entry points of its
    toml block."""
    text = section("docs/extending.md", f"## {title}", None if last is None else f"## {last}")
    files = {}
    for block in re.findall(r"```python\n(.*?)```", text, re.DOTALL):
        first, _, _ = block.partition("\n")
        files[first.removeprefix("# ").strip()] = block
    (toml,) = re.findall(r"```toml\n(.*?)```", text, re.DOTALL)
    return files, tomllib.loads(toml)["project"]["entry-points"]
