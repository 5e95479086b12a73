"""Originals in S3-compatible object storage (AWS S3, MinIO): RAG_UPLOADS_URL=s3://bucket/prefix.

An original is the object <prefix>/<collection id>/<relative path>. Ingest reads a local mirror of a collection's
objects (data_dir/originals-cache/<collection id>), brought up to date from the listing's size and ETag: only new
or changed objects are downloaded, and an unchanged object keeps its local file and mtime, so ingest's size and
mtime check passes it over without reading it. Keys are checked by the uploads' path rules before they name a
local file; an object whose key could escape the mirror is skipped with a warning.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import re
import shutil
import stat
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlsplit

from ingest.walk import IGNORE_FILE
from rag_service.errors import InvalidInputError, StorageUnavailableError
from rag_service.settings import Settings
from rag_service.storage.paths import safe_relative_path

log = logging.getLogger(__name__)

CACHE_DIR = "originals-cache"
STAGING_DIR = "originals-staging"
DOWNLOAD_CHUNK = 1024 * 1024
DELETE_BATCH = 1000  # the most keys one DeleteObjects request takes
# A changed object's new local mtime is at least this far past the old one: the filesystem clock is coarse, and
# ingest must not take a changed file of the same size for the unchanged one.
MTIME_STEP_NS = 1_000_000
CREDENTIAL_CODES = {"InvalidAccessKeyId", "SignatureDoesNotMatch", "AccessDenied", "InvalidToken", "ExpiredToken"}


@lru_cache(maxsize=8)
def _client(endpoint_url: str, access_key_id: str, secret_access_key: str, region: str) -> Any:
    """One client per configuration: building one loads botocore's service model, and clients are thread-safe."""
    try:
        import boto3
        from botocore.config import Config
    except ImportError as exc:
        raise StorageUnavailableError(
            "RAG_UPLOADS_URL is an s3:// URL but boto3 is not installed: pip install 'rag-service[s3]'"
        ) from exc
    config = Config(
        # MinIO and most self-hosted servers answer only path-style URLs; AWS picks its own style.
        s3={"addressing_style": "path" if endpoint_url else "auto"},
        connect_timeout=5,
        read_timeout=60,
        retries={"max_attempts": 3, "mode": "standard"},
    )
    return boto3.session.Session().client(
        "s3",
        endpoint_url=endpoint_url or None,
        aws_access_key_id=access_key_id or None,
        aws_secret_access_key=secret_access_key or None,
        region_name=region or None,
        config=config,
    )


@dataclass(frozen=True)
class _Object:
    key: str
    size: int
    etag: str


class S3View:
    """A collection's objects as the upload checks see them: keys are names, not paths on a disk."""

    def __init__(self, store: S3Store, objects: dict[str, _Object]) -> None:
        self.store = store
        self.objects = objects
        self.folders = {parent.as_posix() for rel in objects for parent in PurePosixPath(rel).parents}

    def ignore_files(self) -> list[tuple[str, str]]:
        found: list[tuple[str, str]] = []
        for rel, obj in sorted(self.objects.items()):
            path = PurePosixPath(rel)
            if path.name == IGNORE_FILE:
                prefix = path.parent.as_posix()
                text = self.store.read(obj.key).decode("utf-8", errors="replace")
                found.append(("" if prefix == "." else prefix + "/", text))
        return found

    def is_file(self, relative: str) -> bool:
        return relative in self.objects

    def is_dir(self, relative: str) -> bool:
        return relative in self.folders

    def has_files(self) -> bool:
        return bool(self.objects)

    def escapes(self, relative: str) -> bool:
        return False  # a key is stored as it is named; there is no symlink to follow


@contextmanager
def _exclusive(lock_file: Path) -> Iterator[None]:
    """One mirror update per collection at a time on this machine (threads and processes alike)."""
    with open(lock_file, "a+") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


class S3Store:
    def __init__(self, settings: Settings) -> None:
        parsed = urlsplit(settings.uploads_url)
        if parsed.scheme != "s3" or not parsed.netloc:
            raise StorageUnavailableError(
                f"RAG_UPLOADS_URL must look like s3://bucket/prefix, not {settings.uploads_url!r}"
            )
        self.settings = settings
        self.bucket = parsed.netloc
        self.prefix = parsed.path.strip("/")
        self.url = f"s3://{self.bucket}/{self.prefix}" if self.prefix else f"s3://{self.bucket}"
        self.where = settings.s3_endpoint_url or "AWS S3"
        self.staging_root = settings.data_dir.resolve() / STAGING_DIR
        self.client = _client(
            settings.s3_endpoint_url, settings.s3_access_key_id, settings.s3_secret_access_key, settings.s3_region
        )
        self._source = re.compile(re.escape(self.url) + r"/(\d+)")

    def _prefix(self, collection_id: int) -> str:
        return f"{self.prefix}/{collection_id}/" if self.prefix else f"{collection_id}/"

    @contextmanager
    def _reaching(self, action: str) -> Iterator[None]:
        """botocore's errors as one sentence for the caller (a 503 at upload, the job's error in a worker)."""
        from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

        try:
            yield
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", ""))
            log.warning("object storage refused %s: %s", action, exc)
            if code == "NoSuchBucket":
                message = f"object storage at {self.where} has no bucket {self.bucket!r} (RAG_UPLOADS_URL)"
            elif code in CREDENTIAL_CODES or code == "403":
                message = (
                    f"object storage at {self.where} refused the credentials ({code}) while {action}: "
                    "check RAG_S3_ACCESS_KEY_ID and RAG_S3_SECRET_ACCESS_KEY"
                )
            else:
                message = f"object storage at {self.where} failed while {action}: {code or type(exc).__name__}"
            raise StorageUnavailableError(message) from exc
        except NoCredentialsError as exc:
            raise StorageUnavailableError(
                "no object storage credentials: set RAG_S3_ACCESS_KEY_ID and RAG_S3_SECRET_ACCESS_KEY"
            ) from exc
        except BotoCoreError as exc:
            log.warning("object storage unreachable while %s: %s", action, exc)
            raise StorageUnavailableError(
                f"object storage unreachable at {self.where} while {action}: {type(exc).__name__}"
            ) from exc

    def _relative(self, key: str, prefix: str) -> str | None:
        """The key's path under the collection, or None (with a warning) where it is not a safe relative path."""
        rel = key[len(prefix) :]
        if not rel or rel.endswith("/"):
            return None  # a folder marker some consoles write
        try:
            safe = safe_relative_path(rel).as_posix()
        except InvalidInputError as exc:
            log.warning("skipping object %r in %s: %s", key, self.url, exc)
            return None
        if safe != rel:  # ./a.md, a//b.md, a\b.md: another key's local file, or none an upload makes
            log.warning("skipping object %r in %s: not a plain relative path", key, self.url)
            return None
        return rel

    def _objects(self, collection_id: int) -> dict[str, _Object]:
        prefix = self._prefix(collection_id)
        found: dict[str, _Object] = {}
        with self._reaching("listing the collection's originals"):
            for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix):
                for item in page.get("Contents", []):
                    rel = self._relative(item["Key"], prefix)
                    if rel is not None:
                        found[rel] = _Object(item["Key"], int(item["Size"]), str(item["ETag"]))
        # A name that is a file and a folder prefix too cannot be both on a disk: the folder's files are kept.
        folders = {parent.as_posix() for rel in found for parent in PurePosixPath(rel).parents}
        for rel in sorted(folders & found.keys()):
            log.warning("skipping object %r in %s: other objects use it as a folder", found.pop(rel).key, self.url)
        return found

    def read(self, key: str) -> bytes:
        with self._reaching("reading the collection's originals"):
            return bytes(self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read())

    def stored(self, collection_id: int) -> S3View:
        return S3View(self, self._objects(collection_id))

    def save(self, collection_id: int, staged_root: Path) -> None:
        prefix = self._prefix(collection_id)
        try:
            with self._reaching("storing the upload"):
                for staged in sorted(p for p in staged_root.rglob("*") if p.is_file()):
                    with open(staged, "rb") as body:
                        key = prefix + staged.relative_to(staged_root).as_posix()
                        self.client.put_object(Bucket=self.bucket, Key=key, Body=body)
        finally:
            shutil.rmtree(staged_root, ignore_errors=True)

    def source(self, collection_id: int) -> str:
        return f"{self.url}/{collection_id}"

    def is_upload_source(self, source: str) -> bool:
        return self._source.fullmatch(source) is not None

    def materialize(self, source: str, work_dir: Path) -> Path:
        match = self._source.fullmatch(source)
        if match is None:
            raise InvalidInputError(f"{source!r} is not under RAG_UPLOADS_URL ({self.url})")
        collection_id = int(match.group(1))
        cache = work_dir.resolve() / CACHE_DIR
        (cache / str(collection_id)).mkdir(parents=True, exist_ok=True)
        folder = (cache / str(collection_id)).resolve()
        manifest_path = cache / f"{collection_id}.json"
        with _exclusive(cache / f"{collection_id}.lock"):
            objects = self._objects(collection_id)
            known = {rel: entry for rel, entry in _read_manifest(manifest_path).items() if rel in objects}
            _remove_strays(folder, objects)
            try:
                for rel, obj in sorted(objects.items()):
                    target = folder / rel
                    if not target.resolve().is_relative_to(folder):  # a symlink someone left in the mirror
                        log.warning("skipping object %r in %s: its local path leaves the mirror", obj.key, self.url)
                        continue
                    entry = known.get(rel)
                    if entry and entry["etag"] == obj.etag and entry["size"] == obj.size and _as_left(target, entry):
                        continue
                    known[rel] = self._download(obj, target, cache, entry)
            finally:  # what was brought down so far stays known, so a retry does not fetch it again
                _write_manifest(manifest_path, known)
        return folder

    def _download(self, obj: _Object, target: Path, cache: Path, previous: dict[str, Any] | None) -> dict[str, Any]:
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = cache / f".{uuid.uuid4().hex}.part"  # outside the mirror: ingest never sees half a file
        try:
            with self._reaching("reading the collection's originals"):
                response = self.client.get_object(Bucket=self.bucket, Key=obj.key)
                with open(partial, "wb") as handle:
                    for chunk in response["Body"].iter_chunks(DOWNLOAD_CHUNK):
                        handle.write(chunk)
            mtime_ns = max(time.time_ns(), (previous["mtime_ns"] + MTIME_STEP_NS) if previous else 0)
            os.utime(partial, ns=(mtime_ns, mtime_ns))
            os.replace(partial, target)
        finally:
            partial.unlink(missing_ok=True)
        # The listing's ETag: should the object have changed since, the next listing differs and fetches it again.
        return {"etag": obj.etag, "size": target.stat().st_size, "mtime_ns": mtime_ns}

    def delete(self, collection_id: int, relative_path: str) -> None:
        with self._reaching("deleting an original"):
            self.client.delete_object(Bucket=self.bucket, Key=self._prefix(collection_id) + relative_path)

    def delete_collection(self, collection_id: int) -> None:
        prefix = self._prefix(collection_id)
        with self._reaching("deleting the collection's originals"):
            keys = [
                item["Key"]
                for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix)
                for item in page.get("Contents", [])
            ]
            for start in range(0, len(keys), DELETE_BATCH):
                batch = [{"Key": key} for key in keys[start : start + DELETE_BATCH]]
                self.client.delete_objects(Bucket=self.bucket, Delete={"Objects": batch, "Quiet": True})
        # This machine's mirror goes too; other workers' mirrors are refreshed (emptied) by their next listing.
        cache = self.settings.data_dir / CACHE_DIR
        shutil.rmtree(cache / str(collection_id), ignore_errors=True)
        (cache / f"{collection_id}.json").unlink(missing_ok=True)


def _as_left(target: Path, entry: dict[str, Any]) -> bool:
    """Whether the mirrored file is still the one the manifest recorded (not replaced or touched locally)."""
    try:
        info = target.lstat()
    except OSError:
        return False
    return stat.S_ISREG(info.st_mode) and info.st_size == entry["size"] and info.st_mtime_ns == entry["mtime_ns"]


def _remove_strays(folder: Path, objects: dict[str, _Object]) -> None:
    """Local files whose objects are gone, then the folders left empty (so a name can become a folder)."""
    for dirpath, dirnames, filenames in os.walk(folder, topdown=False):
        here = Path(dirpath)
        for name in filenames + [d for d in dirnames if (here / d).is_symlink()]:
            path = here / name
            if path.relative_to(folder).as_posix() not in objects or path.is_symlink():
                path.unlink()
        if here != folder:
            with suppress(OSError):  # not empty: it holds mirrored files
                here.rmdir()


def _read_manifest(path: Path) -> dict[str, dict[str, Any]]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}  # none yet, or damaged: every object is fetched again
    return data if isinstance(data, dict) else {}


def _write_manifest(path: Path, entries: dict[str, dict[str, Any]]) -> None:
    partial = path.with_name(f".{path.name}.{uuid.uuid4().hex}")
    partial.write_text(json.dumps(entries, sort_keys=True), encoding="utf-8")
    os.replace(partial, path)
