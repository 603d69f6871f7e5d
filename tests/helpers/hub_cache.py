"""A Hugging Face Hub dataset cache laid out by a test, as huggingface_hub writes it, for the published
tasks' real download path run offline (HF_HUB_CACHE pointing at it, HF_HUB_OFFLINE=1)."""

from __future__ import annotations

import hashlib
import io
import zipfile
from pathlib import Path

COMMIT = "1" * 40


def zipped(name: str, text: str) -> bytes:
    """A zip holding one file `name` with `text` (Michaelov & Bergen's copies are such zips)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(name, text)
    return buffer.getvalue()


def lay_out(cache: Path, repo: str, files: dict[str, bytes], commit: str = COMMIT) -> Path:
    """A Hub cache entry as huggingface_hub writes it: refs/main names the commit; the snapshot's files
    are links into blobs/ named by their hash. Returns the snapshot folder."""
    root = cache / ("datasets--" + repo.replace("/", "--"))
    (root / "refs").mkdir(parents=True, exist_ok=True)
    (root / "refs" / "main").write_text(commit)
    for name, data in files.items():
        blob = root / "blobs" / hashlib.sha256(data).hexdigest()
        blob.parent.mkdir(parents=True, exist_ok=True)
        blob.write_bytes(data)
        link = root / "snapshots" / commit / name
        link.parent.mkdir(parents=True, exist_ok=True)
        link.unlink(missing_ok=True)
        link.symlink_to(Path("../" * (len(Path(name).parts) + 1)) / "blobs" / blob.name)
    return root / "snapshots" / commit
