"""Keeps this process's loaded indexes current with the database's change log, in the background.

Searches apply what is missing themselves (registry.get), so the follower is what keeps that work off the
query path: it polls every `replica_poll_seconds`, and on PostgreSQL it LISTENs for the writers' NOTIFY and
wakes at once. It prunes the log of changes older than `change_log_retention_hours`, and saves a snapshot of
each index that moved (at most every `index_checkpoint_seconds`, and at shutdown), so that a restart or a new
replica applies only the changes after it.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import timedelta

import psycopg
from sqlalchemy.engine import make_url

from rag_service.db.models import utcnow
from rag_service.runtime import Runtime
from rag_service.stores.changelog import NOTIFY_CHANNEL, prune_changes

log = logging.getLogger(__name__)
PRUNE_EVERY_SECONDS = 3600.0


class IndexFollower:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.settings = runtime.settings
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._follow, name="index-follower", daemon=True)
        self._saved: dict[int, tuple[int, float]] = {}  # collection id -> (seq saved, when)
        self._pruned = 0.0
        self._listener: psycopg.Connection | None = None

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)
        self._save_moved(force=True)

    def _follow(self) -> None:
        while not self._stop.is_set():
            try:
                self.runtime.indexes.refresh()
                self._save_moved(force=False)
                self._prune()
            except Exception:  # the database is away for a moment: searches say so; the next round tries again
                log.exception("following the change log failed")
            self._wait()
        self._close_listener()

    def _wait(self) -> None:
        """Until the poll interval passes or, on PostgreSQL, a writer's NOTIFY arrives."""
        poll = self.settings.replica_poll_seconds
        listener = self._listen()
        if listener is None:
            self._stop.wait(poll)
            return
        try:
            for _ in listener.notifies(timeout=poll, stop_after=1):
                pass
        except psycopg.Error:
            self._close_listener()
            self._stop.wait(poll)

    def _listen(self) -> psycopg.Connection | None:
        url = make_url(self.settings.database_url)
        if not self.settings.replica_listen or url.get_backend_name() != "postgresql":
            return None
        if self._listener is None or self._listener.closed:
            try:
                dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
                self._listener = psycopg.connect(dsn, autocommit=True)
                self._listener.execute(f"LISTEN {NOTIFY_CHANNEL}")
            except psycopg.Error:
                log.warning("LISTEN on the database failed; polling every %g s", self.settings.replica_poll_seconds)
                self._listener = None
        return self._listener

    def _close_listener(self) -> None:
        if self._listener is not None:
            self._listener.close()
            self._listener = None

    def _prune(self) -> None:
        """Hourly, drop changes older than the retention (any replica may; deleting twice is harmless)."""
        if time.monotonic() - self._pruned < PRUNE_EVERY_SECONDS:
            return
        self._pruned = time.monotonic()
        cutoff = utcnow() - timedelta(hours=self.settings.change_log_retention_hours)
        with self.runtime.sessions() as session:
            deleted = prune_changes(session, cutoff)
        if deleted:
            log.info("pruned %d change-log rows older than %s", deleted, cutoff.isoformat(timespec="seconds"))

    def _save_moved(self, *, force: bool) -> None:
        now = time.monotonic()
        for collection_id, indexes in self.runtime.indexes.loaded().items():
            seq, when = self._saved.get(collection_id, (-1, 0.0))
            if indexes.seq == seq or (not force and now - when < self.settings.index_checkpoint_seconds):
                continue
            self.runtime.indexes.save(indexes)
            self._saved[collection_id] = (indexes.seq, now)
