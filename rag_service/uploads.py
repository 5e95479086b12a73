"""Uploaded files and zip archives, checked, then stored among the collection's originals (rag_service/storage/).

Everything is checked before anything is written: relative paths only (no `..`, no absolute or drive paths,
no symlink entries, names the filesystem can hold), file count, total size, and for archives their expanded
size and compression ratio (zip bombs). A file that ingest would pass over is not stored (ingest/walk.py's
rules): over the per-file size limit the upload is refused (413); an unsupported type, binary content or a
.ragignore match is left out and listed as skipped, and an upload with nothing left is refused (415). So every
stored file becomes a document (or a failed one), which can be deleted. Files are written to a local staging
folder first and handed to the originals store (a folder, or object storage) only when all succeeded; the checks
against what is already stored ask the store. Error messages name the upload's own paths only.
"""

from __future__ import annotations

import shutil
import stat
import uuid
import zipfile
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from ingest.walk import IGNORE_FILE, SNIFF_BYTES, IgnoreRules, hidden, skip_reason
from rag_service.errors import InvalidInputError, ServiceError
from rag_service.settings import Settings
from rag_service.storage import StoredOriginals, build_originals_store
from rag_service.storage.paths import safe_relative_path
from rag_service.storage.paths import shown as _shown

COPY_CHUNK = 1024 * 1024


class TooLargeError(ServiceError):
    code = "too_large"
    status = 413


class NothingToIngestError(ServiceError):
    code = "unsupported_media_type"
    status = 415


@dataclass
class StoredUpload:
    stored: list[str]  # relative paths now under the collection's upload folder
    skipped: list[tuple[str, str]]  # (relative path, why ingest would pass it over): not stored


@dataclass
class IncomingFile:
    filename: str  # as the client sent it: a relative path such as docs/setup/linux.md
    stream: BinaryIO
    size: int


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


def _copy_limited(source: BinaryIO, target: Path, budget: list[int], file_limit: int) -> None:
    """Copy while counting: sizes declared in headers are not trusted."""
    target.parent.mkdir(parents=True, exist_ok=True)
    written = 0
    with open(target, "wb") as handle:
        while chunk := source.read(COPY_CHUNK):
            budget[0] -= len(chunk)
            written += len(chunk)
            if budget[0] < 0:
                raise TooLargeError("upload expands past its size limit")
            if written > file_limit:
                raise TooLargeError(f"a file expands past the per-file limit of {file_limit} bytes (RAG_MAX_FILE_MB)")
            handle.write(chunk)


@dataclass
class _Planned:
    relative: PurePosixPath
    size: int  # as sent or declared; the copy counts again
    open: Callable[[], AbstractContextManager[BinaryIO]]  # from the start, each time
    head: bytes  # the first bytes, for the binary check


def _plain(incoming: IncomingFile, relative: PurePosixPath) -> _Planned:
    head = incoming.stream.read(SNIFF_BYTES)
    incoming.stream.seek(0)

    def reopen() -> AbstractContextManager[BinaryIO]:
        incoming.stream.seek(0)
        return nullcontext(incoming.stream)  # the request's file: closed with the form, not here

    return _Planned(relative, incoming.size, reopen, head)


def _member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, relative: PurePosixPath) -> _Planned:
    with archive.open(info) as member:
        head = member.read(SNIFF_BYTES)
    return _Planned(relative, info.file_size, lambda: archive.open(info), head)


def _ignore_rules(existing: StoredOriginals, planned: list[_Planned]) -> IgnoreRules:
    """The .ragignore files already stored and those in this upload, as the next ingest's walk will see them."""
    rules = IgnoreRules()
    for prefix, text in existing.ignore_files():
        rules.add(prefix, text)
    for item in planned:
        if item.relative.name == IGNORE_FILE:
            with item.open() as handle:
                text = handle.read(1024 * 1024).decode("utf-8", errors="replace")
            prefix = item.relative.parent.as_posix()
            rules.add("" if prefix == "." else prefix + "/", text)
    return rules


def _select(
    settings: Settings, existing: StoredOriginals, planned: list[_Planned]
) -> tuple[list[_Planned], list[tuple[str, str]]]:
    """What to store and what ingest would pass over (not stored); a file over the per-file size limit refuses
    the whole upload, as its sender surely meant it to be read."""
    rules = _ignore_rules(existing, planned)
    kept: list[_Planned] = []
    skipped: list[tuple[str, str]] = []
    for item in planned:
        rel = item.relative.as_posix()
        if item.relative.name == IGNORE_FILE and not hidden(item.relative.parent.as_posix()):
            kept.append(item)  # not a document: the rules the next ingest's walk applies
            continue
        if hidden(rel):
            skipped.append((rel, "hidden file or folder"))
            continue
        reason = skip_reason(
            rel, item.size, item.head, settings.max_file_bytes, lambda r, _: rules.ignored_or_under_ignored(r)
        )
        if reason is not None and reason.startswith("larger than"):
            raise TooLargeError(
                f"{_shown(rel)} is {item.size} bytes, over the per-file limit of {settings.max_file_bytes} bytes "
                "(RAG_MAX_FILE_MB): ingest would skip it"
            )
        if reason:
            skipped.append((rel, reason))
        else:
            kept.append(item)
    if not any(item.relative.name != IGNORE_FILE for item in kept):
        listed = "; ".join(f"{_shown(p)}: {r}" for p, r in skipped[:5]) or "no files"
        raise NothingToIngestError(f"nothing in this upload can be ingested ({listed})")
    return kept, skipped


def _check_conflicts(paths: list[PurePosixPath], existing: StoredOriginals) -> None:
    """A path used as a file and as a folder (in this upload, or against what is stored) is refused up front."""
    files = {p.as_posix() for p in paths}
    folders = {parent.as_posix() for p in paths for parent in p.parents if parent.as_posix() != "."}
    for name in sorted(files & folders):
        raise InvalidInputError(f"{_shown(name)} is both a file and a folder in this upload")
    try:
        for name in sorted(files):
            if existing.escapes(name):
                raise InvalidInputError(f"path escapes the upload folder: {_shown(name)}")
            if existing.is_dir(name):
                raise InvalidInputError(f"{_shown(name)} is already a folder in this collection's uploads")
        for name in sorted(folders):
            if existing.is_file(name):
                raise InvalidInputError(f"{_shown(name)} is already a file in this collection's uploads")
    except OSError as exc:  # a name the filesystem refuses; the message names the upload's path, not the server's
        raise InvalidInputError(f"cannot store the upload: {exc.strerror}") from exc


def store_upload(settings: Settings, collection_id: int, files: Iterable[IncomingFile]) -> StoredUpload:
    """Check and store the files (and the contents of .zip files) that ingest will read; see the module doc."""
    files = list(files)
    if not files:
        raise InvalidInputError("no files in the upload")
    max_bytes = int(settings.max_upload_mb * 1024 * 1024)
    total = sum(f.size for f in files)
    if total > max_bytes:
        raise TooLargeError(f"upload is {total} bytes, over the limit of {max_bytes}")
    archives: list[zipfile.ZipFile] = []
    planned: list[_Planned] = []
    try:
        for incoming in files:
            relative = safe_relative_path(incoming.filename)
            if relative.suffix.lower() != ".zip":
                planned.append(_plain(incoming, relative))
                continue
            try:
                archive = zipfile.ZipFile(incoming.stream)
            except zipfile.BadZipFile as exc:
                raise InvalidInputError(f"{_shown(incoming.filename)}: not a valid zip archive") from exc
            archives.append(archive)
            members = _check_archive(archive, settings, incoming.size)
            # An archive's files go under its own name's folder: docs.zip → docs/...
            folder = relative.with_suffix("")
            try:
                planned.extend(_member(archive, info, folder / safe_relative_path(info.filename)) for info in members)
            except (zipfile.BadZipFile, EOFError, RuntimeError) as exc:
                raise InvalidInputError(f"{_shown(incoming.filename)}: a damaged member ({exc})") from exc
        if len(planned) > settings.max_upload_files:
            raise TooLargeError(f"upload has {len(planned)} files, over the limit of {settings.max_upload_files}")
        store = build_originals_store(settings)
        existing = store.stored(collection_id)
        kept, skipped = _select(settings, existing, planned)
        _check_conflicts([item.relative for item in kept], existing)
        staging = store.staging_root / uuid.uuid4().hex
        staging.mkdir(parents=True)
        try:
            budget = [int(settings.max_archive_expanded_mb * 1024 * 1024) + max_bytes]
            for item in kept:
                try:
                    with item.open() as source:
                        _copy_limited(source, staging / item.relative, budget, settings.max_file_bytes)
                except (OSError, zipfile.BadZipFile, EOFError) as exc:  # names the filesystem refuses, damaged data
                    reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else type(exc).__name__
                    raise InvalidInputError(f"cannot store {_shown(item.relative.as_posix())}: {reason}") from exc
            stored = sorted({item.relative.as_posix() for item in kept})  # a name sent twice: the later copy wins
            store.save(collection_id, staging)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        return StoredUpload(stored=stored, skipped=skipped)
    finally:
        for archive in archives:
            archive.close()
