"""Uploaded files and zip archives, checked and stored under the collection's upload folder.

Everything is checked before anything is written: relative paths only (no `..`, no absolute or drive paths,
no symlink entries), file count, total size, and for archives their expanded size and compression ratio
(zip bombs). Files are written to a staging folder first and moved into place only when all succeeded.
"""

from __future__ import annotations

import os
import shutil
import stat
import uuid
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from rag_service.errors import InvalidInputError, ServiceError
from rag_service.settings import Settings

COPY_CHUNK = 1024 * 1024


class TooLargeError(ServiceError):
    code = "too_large"
    status = 413


@dataclass
class IncomingFile:
    filename: str  # as the client sent it: a relative path such as docs/setup/linux.md
    stream: BinaryIO
    size: int


def safe_relative_path(name: str) -> PurePosixPath:
    """A client-supplied path made relative and checked; anything that could escape the folder is refused."""
    cleaned = name.replace("\\", "/").strip()
    if not cleaned:
        raise InvalidInputError("a file has an empty name")
    if cleaned.startswith("/") or (len(cleaned) > 1 and cleaned[1] == ":"):
        raise InvalidInputError(f"absolute paths are not allowed: {name!r}")
    parts = [p for p in cleaned.split("/") if p not in ("", ".")]
    if any(p == ".." for p in parts):
        raise InvalidInputError(f"paths with '..' are not allowed: {name!r}")
    if not parts or any("\x00" in p for p in parts):
        raise InvalidInputError(f"invalid path: {name!r}")
    return PurePosixPath(*parts)


def upload_root(settings: Settings, collection_id: int) -> Path:
    return (settings.uploads_dir / str(collection_id)).resolve()


def _check_archive(archive: zipfile.ZipFile, settings: Settings, compressed_size: int) -> list[zipfile.ZipInfo]:
    members = [info for info in archive.infolist() if not info.is_dir()]
    expanded = 0
    for info in members:
        mode = info.external_attr >> 16
        if stat.S_ISLNK(mode):
            raise InvalidInputError(f"symlinks are not allowed in archives: {info.filename!r}")
        safe_relative_path(info.filename)
        expanded += info.file_size
    limit = int(settings.max_archive_expanded_mb * 1024 * 1024)
    if expanded > limit:
        raise TooLargeError(f"archive expands to {expanded} bytes, over the limit of {limit}")
    if compressed_size and expanded / compressed_size > settings.max_archive_ratio:
        raise TooLargeError(
            f"archive compression ratio {expanded / compressed_size:.0f}:1 is over the limit of "
            f"{settings.max_archive_ratio:.0f}:1 (a zip bomb?)"
        )
    return members


def _copy_limited(source: BinaryIO, target: Path, budget: list[int]) -> None:
    """Copy while counting: sizes declared in headers are not trusted."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target, "wb") as handle:
        while chunk := source.read(COPY_CHUNK):
            budget[0] -= len(chunk)
            if budget[0] < 0:
                raise TooLargeError("upload expands past its size limit")
            handle.write(chunk)


def _check_conflicts(paths: list[PurePosixPath], root: Path) -> None:
    """A path used as a file and as a folder (in this upload, or against what is stored) is refused up front."""
    files = {p.as_posix() for p in paths}
    folders = {parent.as_posix() for p in paths for parent in p.parents if parent.as_posix() != "."}
    for name in sorted(files & folders):
        raise InvalidInputError(f"{name!r} is both a file and a folder in this upload")
    for name in sorted(files):
        if not (root / name).resolve().is_relative_to(root):
            raise InvalidInputError(f"path escapes the upload folder: {name!r}")
        if (root / name).is_dir():
            raise InvalidInputError(f"{name!r} is already a folder in this collection's uploads")
    for name in sorted(folders):
        if (root / name).is_file():
            raise InvalidInputError(f"{name!r} is already a file in this collection's uploads")


def store_upload(settings: Settings, collection_id: int, files: Iterable[IncomingFile]) -> list[str]:
    """Check and store the files (and the contents of .zip files); return the stored relative paths."""
    files = list(files)
    if not files:
        raise InvalidInputError("no files in the upload")
    max_bytes = int(settings.max_upload_mb * 1024 * 1024)
    total = sum(f.size for f in files)
    if total > max_bytes:
        raise TooLargeError(f"upload is {total} bytes, over the limit of {max_bytes}")
    plan: list[tuple[IncomingFile, PurePosixPath, list[zipfile.ZipInfo] | None, zipfile.ZipFile | None]] = []
    count = 0
    try:
        for incoming in files:
            relative = safe_relative_path(incoming.filename)
            if relative.suffix.lower() == ".zip":
                try:
                    archive = zipfile.ZipFile(incoming.stream)
                except zipfile.BadZipFile as exc:
                    raise InvalidInputError(f"{incoming.filename}: not a valid zip archive") from exc
                members = _check_archive(archive, settings, incoming.size)
                plan.append((incoming, relative, members, archive))
                count += len(members)
            else:
                plan.append((incoming, relative, None, None))
                count += 1
        if count > settings.max_upload_files:
            raise TooLargeError(f"upload has {count} files, over the limit of {settings.max_upload_files}")
        root = upload_root(settings, collection_id)
        planned: list[PurePosixPath] = []
        for _, relative, members, _ in plan:
            if members is None:
                planned.append(relative)
            else:  # an archive's files go under its own name's folder: docs.zip → docs/...
                planned.extend(relative.with_suffix("") / safe_relative_path(info.filename) for info in members)
        _check_conflicts(planned, root)
        staging = settings.uploads_dir.resolve() / ".staging" / uuid.uuid4().hex
        staging.mkdir(parents=True)
        try:
            budget = [int(settings.max_archive_expanded_mb * 1024 * 1024) + max_bytes]
            targets = iter(planned)
            try:
                for incoming, _, members, archive in plan:
                    if archive is None or members is None:
                        _copy_limited(incoming.stream, staging / next(targets), budget)
                        continue
                    for info in members:
                        with archive.open(info) as source:
                            _copy_limited(source, staging / next(targets), budget)
            except (OSError, zipfile.BadZipFile, EOFError) as exc:  # names the filesystem refuses, damaged members
                raise InvalidInputError(f"cannot store the upload: {exc}") from exc
            stored = sorted({p.as_posix() for p in planned})  # a name sent twice: the later copy wins
            for relative_name in stored:
                target = root / relative_name
                target.parent.mkdir(parents=True, exist_ok=True)
                os.replace(staging / relative_name, target)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        return stored
    finally:
        for _, _, _, archive in plan:
            if archive is not None:
                archive.close()
