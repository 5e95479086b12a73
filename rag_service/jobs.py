"""Ingest jobs as the API sees them: submit, state, progress, cancel, whichever queue runs them.

A job is an `ingest_runs` row, the one record of its state: `queued` until it is claimed (leases.py), then
`running`, then `done`, `failed`, `cancelled`, or `interrupted` when its process died (an interrupted upload
job is queued again, once, when a server or worker starts: jobqueue/resume.py). The queue that runs it
is chosen by the settings (jobqueue/): the API process's own threads, or Celery workers on any machine. Any
replica shows any job from its row (at most a second behind), and a cancel asked for on any replica reaches
the process running it through that row.
"""

from __future__ import annotations

import logging
from pathlib import Path

from sqlalchemy import select, update

from rag_service.collections import find_collection
from rag_service.db.models import Collection, IngestRun, utcnow
from rag_service.errors import NotFoundError
from rag_service.indexing import close_dead_runs, start_run
from rag_service.jobqueue import build_job_queue
from rag_service.jobqueue.base import TERMINAL, JobState, state_from_row
from rag_service.jobqueue.resume import AFTER_SERVER_RESTART, resume_interrupted
from rag_service.runtime import Runtime
from rag_service.storage import build_originals_store

__all__ = ["TERMINAL", "JobManager", "JobState"]
log = logging.getLogger(__name__)


class JobManager:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.queue = build_job_queue(runtime)
        self.originals = build_originals_store(runtime.settings)

    @property
    def ingested_files(self) -> int:
        return getattr(self.queue, "ingested_files", 0)

    @property
    def embedded_chunks(self) -> int:
        return getattr(self.queue, "embedded_chunks", 0)

    def start(self) -> None:
        self.queue.start()
        try:
            resume_interrupted(self.runtime, self.queue.name, self.queue.enqueue, AFTER_SERVER_RESTART)
        except Exception:  # the server still serves; the jobs stay interrupted, as their rows say
            log.exception("resuming interrupted upload jobs failed")

    def stop(self) -> None:
        self.queue.stop()

    def submit(self, collection_name: str, folder: Path | str, *, sync: bool) -> JobState:
        with self.runtime.sessions() as session:
            collection = find_collection(session, collection_name)
        source = str(folder)
        run_id = start_run(self.runtime, collection, source, sync=sync, queue=self.queue.name)
        state = JobState(
            id=run_id,
            collection=collection.name,
            source=source,
            created_at=utcnow(),
            upload=self.originals.is_upload_source(source),
        )
        self.queue.enqueue(state)
        return state

    def pending_for(self, collection_name: str) -> bool:
        """Whether the collection has a job queued or running, in any process."""
        with self.runtime.sessions() as session:
            collection = find_collection(session, collection_name)
            return (
                session.scalar(
                    select(IngestRun.id)
                    .where(IngestRun.collection_id == collection.id, IngestRun.status.in_(("queued", "running")))
                    .limit(1)
                )
                is not None
            )

    def get(self, job_id: int) -> JobState:
        return self.snapshot(job_id)[1]

    def snapshot(self, job_id: int) -> tuple[int, JobState]:
        """(version, state) for event streams: live from this process's queue when it holds the job, else from
        its row (a row that still says queued or running of a process that died is marked interrupted first)."""
        live = self.queue.live(job_id)
        if live is not None and live[1].status != "queued":
            return live
        with self.runtime.sessions() as session:
            run = session.get(IngestRun, job_id)
            if run is None:
                raise NotFoundError(f"no job {job_id}")
            collection_id, status = run.collection_id, run.status
        if live is not None:
            if status not in TERMINAL:
                return live
            self.queue.cancel(job_id)  # still waiting here, but cancelled from another replica: let it go
        if status in ("queued", "running"):
            close_dead_runs(self.runtime, collection_id)
        with self.runtime.sessions() as session:
            run = session.get(IngestRun, job_id)
            if run is None:
                raise NotFoundError(f"no job {job_id}")
            collection = session.get(Collection, run.collection_id)
            state = state_from_row(
                run, collection.name if collection else "", upload=self.originals.is_upload_source(run.source)
            )
        return state.version, state

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
        """Flag the row (the process running the job, on any machine, stops at its next check; a queued job is
        cancelled at once), and stop it here if this process holds it."""
        with self.runtime.sessions() as session:
            if session.get(IngestRun, job_id) is None:
                raise NotFoundError(f"no job {job_id}")
            session.execute(
                update(IngestRun)
                .where(IngestRun.id == job_id, IngestRun.status.not_in(TERMINAL))
                .values(cancel_requested=True)
                .execution_options(synchronize_session=False)
            )
            session.execute(
                update(IngestRun)
                .where(IngestRun.id == job_id, IngestRun.status == "queued")
                .values(status="cancelled", finished_at=utcnow())
                .execution_options(synchronize_session=False)
            )
            session.commit()
        self.queue.cancel(job_id)
        return self.get(job_id)
