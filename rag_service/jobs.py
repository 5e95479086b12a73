"""Background ingest jobs: a few worker threads, never two jobs of one collection at once, live progress,
cancellation.

A job is an `ingest_runs` row, the one record of its state (another process may run jobs later): `queued`
until its collection's lock is held, then `running`, then `done`, `failed`, `cancelled`, or `interrupted` when
its process died. Live progress is kept in memory for event streams and written to the row at most a second
behind. One collection's long job leaves the other workers to the other collections.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select

from rag_service.collections import find_collection
from rag_service.db.models import Collection, IngestRun, utcnow
from rag_service.errors import NotFoundError
from rag_service.indexing import IngestSummary, close_dead_runs, ingest_folder, start_run
from rag_service.runtime import Runtime
from rag_service.storage import local_folder_for

log = logging.getLogger(__name__)

TERMINAL = ("done", "failed", "cancelled", "interrupted")
UPLOAD_SOURCE = "upload"


@dataclass
class JobState:
    id: int
    collection: str
    source: str  # the folder on the server (not shown to every caller: see to_dict)
    status: str = "queued"
    files_total: int = 0
    files_done: int = 0
    files_read: int = 0  # read and split, ahead of files_done (embedded and written)
    chunks_split: int = 0
    chunks_embedded: int = 0
    current: str = ""
    failures: list[dict[str, str]] = field(default_factory=list)
    skipped: list[dict[str, str]] = field(default_factory=list)  # passed over by the walk, with why
    summary: dict[str, Any] | None = None
    error: str | None = None
    created_at: datetime | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    upload: bool = False  # files uploaded through the API, stored under the data dir
    version: int = 0  # bumped on every change, so event streams send only what is new

    def to_dict(self, *, show_path: bool = False) -> dict[str, Any]:
        """The job as the API shows it: an upload's source is "upload"; a synced folder's path is shown only
        to callers who may write the collection (they chose it), else "sync"."""
        source = UPLOAD_SOURCE if self.upload else (self.source if show_path else "sync")
        return {
            "id": self.id,
            "collection": self.collection,
            "source": source,
            "status": self.status,
            "files_total": self.files_total,
            "files_done": self.files_done,
            "files_read": max(self.files_read, self.files_done),
            "chunks_split": self.chunks_split,
            "chunks_embedded": self.chunks_embedded,
            "current": self.current,
            "failures": self.failures,
            "skipped": self.skipped,
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
        self._pending: list[_Queued] = []  # in submission order
        self._running: set[str] = set()  # collections with a job on a worker
        self._jobs: dict[int, _Queued] = {}
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._stopping = False
        self._workers: list[threading.Thread] = []
        self.ingested_files = 0
        self.embedded_chunks = 0

    def start(self) -> None:
        closed = close_dead_runs(self.runtime)
        if closed:
            log.warning("%d ingest runs of stopped processes marked interrupted", closed)
        for n in range(max(1, self.runtime.settings.job_workers)):
            worker = threading.Thread(target=self._work, name=f"ingest-worker-{n}", daemon=True)
            worker.start()
            self._workers.append(worker)

    def stop(self) -> None:
        with self._wake:
            self._stopping = True
            for job in self._jobs.values():
                job.cancel.set()
            self._wake.notify_all()
        for worker in self._workers:
            worker.join(timeout=30)

    def submit(self, collection_name: str, folder: Path, *, sync: bool) -> JobState:
        with self.runtime.sessions() as session:
            collection = find_collection(session, collection_name)
        run_id = start_run(self.runtime, collection, str(folder))
        state = JobState(
            id=run_id,
            collection=collection.name,
            source=str(folder),
            created_at=utcnow(),
            upload=self._is_upload(str(folder)),
        )
        job = _Queued(state=state, folder=folder, sync=sync)
        with self._wake:
            self._jobs[run_id] = job
            self._pending.append(job)
            self._wake.notify_all()
        return state

    def _is_upload(self, source: str) -> bool:
        return Path(source).is_relative_to(self.runtime.settings.uploads_dir.resolve())

    def pending_for(self, collection_name: str) -> bool:
        with self._lock:
            return any(
                j.state.collection == collection_name and j.state.status in ("queued", "running")
                for j in self._jobs.values()
            )

    def get(self, job_id: int) -> JobState:
        """A copy of the job's state: this process's jobs from memory, others from their row (a row that still
        says queued or running of a process that died is marked interrupted first)."""
        with self._lock:
            job = self._jobs.get(job_id)
            if job is not None:
                return replace(job.state, failures=list(job.state.failures), skipped=list(job.state.skipped))
        with self.runtime.sessions() as session:
            run = session.get(IngestRun, job_id)
            if run is None:
                raise NotFoundError(f"no job {job_id}")
            collection_id, status = run.collection_id, run.status
        if status in ("queued", "running"):
            close_dead_runs(self.runtime, collection_id)
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
                summary=(
                    {"added": run.added, "updated": run.updated, "unchanged": run.unchanged, "deleted": run.deleted}
                    if run.status in TERMINAL
                    else None
                ),
                error=run.error,
                created_at=run.created_at,
                started_at=run.started_at,
                finished_at=run.finished_at,
                upload=self._is_upload(run.source),
            )

    def latest(self, collection_name: str) -> JobState | None:
        """The collection's newest job (this process's, another's, or the CLI's), for the upload panel after a
        reload; None when it never had one."""
        with self.runtime.sessions() as session:
            collection = find_collection(session, collection_name)
            newest = session.scalar(
                select(IngestRun.id)
                .where(IngestRun.collection_id == collection.id)
                .order_by(IngestRun.id.desc())
                .limit(1)
            )
        return self.get(newest) if newest is not None else None

    def cancel(self, job_id: int) -> JobState:
        with self._lock:
            job = self._jobs.get(job_id)
        if job is None:
            return self.get(job_id)  # finished in an earlier process, or NotFoundError
        job.cancel.set()
        with self._wake:
            queued = job in self._pending
            if queued:
                self._pending.remove(job)
        if queued:
            self._finish(job, "cancelled")
        return self.get(job_id)

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

    def _next(self) -> _Queued | None:
        """The oldest queued job whose collection has none running; the caller holds the lock."""
        for job in self._pending:
            if job.state.collection not in self._running:
                self._pending.remove(job)
                self._running.add(job.state.collection)
                return job
        return None

    def _work(self) -> None:
        while True:
            with self._wake:
                job = self._next()
                while job is None and not self._stopping:
                    self._wake.wait()
                    job = self._next()
                if self._stopping:
                    if job is not None:
                        self._running.discard(job.state.collection)
                    return
            try:
                if not job.cancel.is_set():
                    self._run(job)
            finally:
                with self._wake:
                    self._running.discard(job.state.collection)
                    self._wake.notify_all()

    def _run(self, job: _Queued) -> None:
        def started() -> None:  # the collection's lock is held: from here on the job is running
            self._update(job, status="running", started_at=utcnow())

        def progress(summary: IngestSummary, current: str) -> None:
            self._update(
                job,
                files_total=summary.files_total,
                files_done=summary.files_done,
                files_read=summary.files_read,
                chunks_split=summary.chunks_split,
                chunks_embedded=summary.chunks_embedded,
                failures=list(summary.failed),
                skipped=list(summary.skipped),
                current=current,
            )

        try:
            summary = ingest_folder(
                self.runtime,
                job.state.collection,
                local_folder_for(self.runtime.settings, str(job.folder)),
                sync=job.sync,
                run_id=job.state.id,
                progress=progress,
                cancel=job.cancel,
                on_start=started,
            )
        except Exception as exc:  # the job fails, the server goes on
            log.exception("ingest job %s failed", job.state.id)
            self._finish(job, "failed", f"{type(exc).__name__}: {exc}")
            return
        self.ingested_files += summary.added + summary.updated
        self.embedded_chunks += summary.chunks_embedded
        self._update(job, summary=summary.to_dict(), failures=list(summary.failed))
        self._finish(job, summary.status)

    def snapshot(self, job_id: int) -> tuple[int, JobState]:
        """(version, state) for event streams; jobs of earlier processes come from the database."""
        with self._lock:
            job = self._jobs.get(job_id)
            if job is not None:
                return job.state.version, replace(
                    job.state, failures=list(job.state.failures), skipped=list(job.state.skipped)
                )
        return 0, self.get(job_id)
