"""Watched folders: a collection set to watch its server-side folder is re-synced soon after files change.

Polling a fingerprint (paths, sizes, mtimes) works on every filesystem, network mounts included, and costs
one directory walk per interval.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
from pathlib import Path

from sqlalchemy import select

from rag_service.db.models import Collection
from rag_service.jobs import JobManager
from rag_service.runtime import Runtime

log = logging.getLogger(__name__)


def folder_fingerprint(root: Path) -> str:
    digest = hashlib.sha256()
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(filenames):
            try:
                stat = os.stat(os.path.join(dirpath, name))
            except OSError:
                continue
            digest.update(f"{dirpath}/{name}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()


class FolderWatcher:
    def __init__(self, runtime: Runtime, jobs: JobManager) -> None:
        self.runtime, self.jobs = runtime, jobs
        self.interval = runtime.settings.watch_interval_seconds
        self._seen: dict[int, str] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="folder-watcher", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def remember(self, collection_id: int, folder: Path) -> None:
        """Record the folder as synced now, so the watcher does not queue the sync just submitted again."""
        self._seen[collection_id] = folder_fingerprint(folder)

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.check_once()
            except Exception:  # a watcher that dies silently would be worse than one that logs and goes on
                log.exception("folder watch failed")

    def check_once(self) -> None:
        with self.runtime.sessions() as session:
            watched = session.execute(
                select(Collection.id, Collection.name, Collection.source_path).where(Collection.watch.is_(True))
            ).all()
        for collection_id, name, source in watched:
            folder = Path(source or "")
            if not folder.is_dir():
                continue
            fingerprint = folder_fingerprint(folder)
            if self._seen.get(collection_id) == fingerprint or self.jobs.pending_for(name):
                continue
            # Unseen (the server just started) counts as changed: edits made while it was down are picked up.
            log.info("collection %s: %s changed, syncing", name, folder)
            self.jobs.submit(name, folder, sync=True)
            self._seen[collection_id] = fingerprint
