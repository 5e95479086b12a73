"""Background ingest jobs: a queue worked by one thread, live progress, cancellation.

One worker means ingests never interleave (embedding already uses every core), and a queued job waits its
turn. A job is an `ingest_runs` row; its live progress is kept in memory and written to the row at the end.
"""

from __future__ import annotations

import logging
import queue
import threading
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select

from rag_service.collections import find_collection
from rag_service.db.models import Collection, IngestRun, utcnow
from rag_service.errors import NotFoundError
from rag_service.indexing import IngestSummary, ingest_folder, start_run
from rag_service.runtime import Runtime

log = logging.getLogger(__name__)

TERMINAL = ("done", "failed", "cancelled")


@dataclass
class JobState:
    id: int
    collection: str
    source: str
    status: str = "queued"
    files_total: int = 0
    files_done: int = 0
    chunks_embedded: int = 0
    current: str = ""
    failures: list[dict[str, str]] = field(default_factory=list)
    summary: dict[str, Any] | None = None
    error: str | None = None
    created_at: datetime | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    version: int = 0  # bumped on every change, so event streams send only what is new

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "collection": self.collection,
            "source": self.source,
            "status": self.status,
            "files_total": self.files_total,
            "files_done": self.files_done,
            "chunks_embedded": self.chunks_embedded,
            "current": self.current,
            "failures": self.failures,
            "summary": self.summary,
            "error": self.error,
            "created_at": self.created_at.isoformat() if self.created_at else None,
            "started_at": self.started_at.isoformat() if self.started_at else None,
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
        }


@dataclass
class _Queued:
    state: JobState
    folder: Path
    sync: bool
    cancel: threading.Event = field(default_factory=threading.Event)


class JobManager:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self._queue: queue.Queue[_Queued | None] = queue.Queue()
        self._jobs: dict[int, _Queued] = {}
        self._lock = threading.Lock()
        self._worker: threading.Thread | None = None
        self.ingested_files = 0
        self.embedded_chunks = 0

    def start(self) -> None:
        self._close_orphans()
        self._worker = threading.Thread(target=self._work, name="ingest-worker", daemon=True)
        self._worker.start()

    def stop(self) -> None:
        with self._lock:
            for job in self._jobs.values():
                job.cancel.set()
        self._queue.put(None)
        if self._worker is not None:
            self._worker.join(timeout=30)

    def _close_orphans(self) -> None:
        """Runs left queued or running by a previous process will never finish: say so."""
        with self.runtime.sessions() as session:
            for run in session.scalars(select(IngestRun).where(IngestRun.status.in_(("queued", "running")))):
                run.status, run.error, run.finished_at = "failed", "interrupted: the server stopped", utcnow()
            session.commit()

    def submit(self, collection_name: str, folder: Path, *, sync: bool) -> JobState:
        with self.runtime.sessions() as session:
            collection = find_collection(session, collection_name)
        run_id = start_run(self.runtime, collection, str(folder))
        state = JobState(id=run_id, collection=collection.name, source=str(folder), created_at=utcnow())
        job = _Queued(state=state, folder=folder, sync=sync)
        with self._lock:
            self._jobs[run_id] = job
        self._queue.put(job)
        return state

    def pending_for(self, collection_name: str) -> bool:
        with self._lock:
            return any(
                j.state.collection == collection_name and j.state.status in ("queued", "running")
                for j in self._jobs.values()
            )

    def get(self, job_id: int) -> JobState:
        with self._lock:
            job = self._jobs.get(job_id)
        if job is not None:
            return job.state
        with self.runtime.sessions() as session:
            run = session.get(IngestRun, job_id)
            if run is None:
                raise NotFoundError(f"no job {job_id}")
            collection = session.get(Collection, run.collection_id)
            return JobState(
                id=run.id,
                collection=collection.name if collection else "",
                source=run.source,
                status=run.status,
                files_total=run.files_total,
                files_done=run.files_done,
                chunks_embedded=run.chunks_embedded,
                failures=list(run.failures or []),
                error=run.error,
                created_at=run.created_at,
                started_at=run.started_at,
                finished_at=run.finished_at,
            )

    def cancel(self, job_id: int) -> JobState:
        with self._lock:
            job = self._jobs.get(job_id)
        if job is None:
            return self.get(job_id)  # finished in an earlier process, or NotFoundError
        job.cancel.set()
        if job.state.status == "queued":
            self._finish(job, "cancelled")
        return job.state

    def _update(self, job: _Queued, **values: Any) -> None:
        with self._lock:
            for key, value in values.items():
                setattr(job.state, key, value)
            job.state.version += 1

    def _finish(self, job: _Queued, status: str, error: str | None = None) -> None:
        self._update(job, status=status, error=error, finished_at=utcnow())
        with self.runtime.sessions() as session:
            run = session.get(IngestRun, job.state.id)
            if run is not None and run.status not in TERMINAL:
                run.status, run.error, run.finished_at = status, error, utcnow()
                session.commit()

    def _work(self) -> None:
        while True:
            job = self._queue.get()
            if job is None:
                return
            if job.cancel.is_set() or job.state.status != "queued":
                continue
            self._run(job)

    def _run(self, job: _Queued) -> None:
        self._update(job, status="running", started_at=utcnow())

        def progress(summary: IngestSummary, current: str) -> None:
            self._update(
                job,
                files_total=summary.files_total,
                files_done=summary.files_done,
                chunks_embedded=summary.chunks_embedded,
                failures=list(summary.failed),
                current=current,
            )

        try:
            summary = ingest_folder(
                self.runtime,
                job.state.collection,
                job.folder,
                sync=job.sync,
                run_id=job.state.id,
                progress=progress,
                cancel=job.cancel,
            )
        except Exception as exc:  # the job fails, the server goes on
            log.exception("ingest job %s failed", job.state.id)
            self._finish(job, "failed", f"{type(exc).__name__}: {exc}")
            return
        self.ingested_files += summary.added + summary.updated
        self.embedded_chunks += summary.chunks_embedded
        self._update(job, summary=summary.to_dict(), failures=list(summary.failed))
        self._finish(job, summary.status)

    def snapshot(self, job_id: int) -> tuple[int, dict[str, Any]]:
        """(version, state) for event streams; jobs of earlier processes come from the database."""
        with self._lock:
            job = self._jobs.get(job_id)
            if job is not None:
                return job.state.version, job.state.to_dict()
        state = self.get(job_id)
        return 0, state.to_dict()
