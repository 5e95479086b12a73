"""Originals in a folder: data_dir/uploads, or RAG_UPLOADS_PATH (a mount every worker shares, such as NFS).

One subfolder per collection id; an upload is staged beside them (same filesystem) and renamed into place, so
ingest never sees half an upload, and a job's source is the subfolder itself.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from ingest.walk import IGNORE_FILE
from rag_service.settings import Settings


def upload_root(settings: Settings, collection_id: int) -> Path:
    return (settings.uploads_dir / str(collection_id)).resolve()


class FolderView:
    """What a collection's upload folder holds, read from the disk as the checks ask."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def ignore_files(self) -> list[tuple[str, str]]:
        found: list[tuple[str, str]] = []
        if self.root.is_dir():
            for path in sorted(self.root.rglob(IGNORE_FILE)):
                prefix = path.parent.relative_to(self.root).as_posix()
                text = path.read_text(encoding="utf-8", errors="replace")
                found.append(("" if prefix == "." else prefix + "/", text))
        return found

    def is_file(self, relative: str) -> bool:
        return (self.root / relative).is_file()

    def is_dir(self, relative: str) -> bool:
        return (self.root / relative).is_dir()

    def has_files(self) -> bool:
        return self.root.is_dir() and any(path.is_file() for path in self.root.rglob("*"))

    def escapes(self, relative: str) -> bool:
        return not (self.root / relative).resolve().is_relative_to(self.root)


class FolderStore:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.staging_root = settings.uploads_dir.resolve() / ".staging"

    def stored(self, collection_id: int) -> FolderView:
        return FolderView(upload_root(self.settings, collection_id))

    def save(self, collection_id: int, staged_root: Path) -> None:
        root = upload_root(self.settings, collection_id)
        for staged in sorted(p for p in staged_root.rglob("*") if p.is_file()):
            target = root / staged.relative_to(staged_root)
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(staged, target)
        shutil.rmtree(staged_root, ignore_errors=True)

    def source(self, collection_id: int) -> str:
        return str(upload_root(self.settings, collection_id))

    def is_upload_source(self, source: str) -> bool:
        return "://" not in source and Path(source).is_relative_to(self.settings.uploads_dir.resolve())

    def materialize(self, source: str, work_dir: Path) -> Path:
        return Path(source)  # already a local (or mounted) folder

    def delete(self, collection_id: int, relative_path: str) -> None:
        original = upload_root(self.settings, collection_id) / relative_path
        if original.is_file():
            original.unlink()

    def delete_collection(self, collection_id: int) -> None:
        shutil.rmtree(self.settings.uploads_dir / str(collection_id), ignore_errors=True)
