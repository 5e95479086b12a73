"""Where uploaded originals live: a folder (local, or a shared mount such as NFS) or S3-compatible object storage.

Uploads are checked and staged on the API machine (uploads.py), then handed to the store; an ingest job names its
originals by the store's `source` string and reads them from `local_folder_for`, which on an object store mirrors
them into a local cache first, so a worker on another machine needs no shared disk. A new backend is one module
here and one line in STORES, keyed by RAG_UPLOADS_URL's scheme.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from rag_service.errors import InvalidInputError, StorageUnavailableError
from rag_service.settings import Settings
from rag_service.storage.folder import FolderStore
from rag_service.storage.s3 import S3Store


class StoredOriginals(Protocol):
    """A collection's stored originals as the upload checks see them, before anything of the upload is written."""

    def ignore_files(self) -> list[tuple[str, str]]:
        """(folder prefix, "" or "docs/", and text) of every stored .ragignore."""
        ...

    def is_file(self, relative: str) -> bool: ...

    def is_dir(self, relative: str) -> bool: ...

    def has_files(self) -> bool:
        """Whether any original is stored (an interrupted upload job is resumed only then)."""
        ...

    def escapes(self, relative: str) -> bool:
        """Whether storing at this path would land outside the collection's originals (a symlink on disk)."""
        ...


class OriginalsStore(Protocol):
    staging_root: Path  # where uploads.py stages an upload before `save`; on the same filesystem for the folder store

    def stored(self, collection_id: int) -> StoredOriginals: ...

    def save(self, collection_id: int, staged_root: Path) -> None:
        """Put the files of a finished, checked staging folder into the collection's originals; the staging
        folder is used up."""
        ...

    def source(self, collection_id: int) -> str:
        """What an upload's ingest job names as its source."""
        ...

    def is_upload_source(self, source: str) -> bool: ...

    def materialize(self, source: str, work_dir: Path) -> Path:
        """A local folder holding the originals of `source`, for ingest to walk."""
        ...

    def delete(self, collection_id: int, relative_path: str) -> None:
        """Remove one original; nothing happens if it is not there."""
        ...

    def delete_collection(self, collection_id: int) -> None: ...


STORES: dict[str, type[OriginalsStore]] = {"folder": FolderStore, "s3": S3Store}


def build_originals_store(settings: Settings) -> OriginalsStore:
    """The store the settings choose: RAG_UPLOADS_URL's scheme when it is set, else the uploads folder."""
    kind = "folder"
    if settings.uploads_url:
        kind = settings.uploads_url.split("://", 1)[0] if "://" in settings.uploads_url else ""
        if kind == "folder" or kind not in STORES:
            schemes = ", ".join(f"{k}://..." for k in STORES if k != "folder")
            raise StorageUnavailableError(f"RAG_UPLOADS_URL must be {schemes}, not {settings.uploads_url!r}")
    return STORES[kind](settings)


def local_folder_for(settings: Settings, source: str) -> Path:
    """The local folder an ingest job walks for `source`: an object store's originals mirrored into
    data_dir, a folder (uploads or a synced server folder) as it is."""
    store = build_originals_store(settings)
    if store.is_upload_source(source):
        return store.materialize(source, settings.data_dir)
    if "://" in source:  # an upload made under another RAG_UPLOADS_URL: Path() would read it as a relative folder
        raise InvalidInputError(f"{source!r} is not under RAG_UPLOADS_URL ({settings.uploads_url or 'not set'})")
    return Path(source)
