"""Upload jobs whose process stopped mid-ingest, taken up again when a server or worker starts.

An upload's files are stored before its job runs (uploads.py), so a job interrupted by a killed server still has
everything it needs; without this its files would wait for the collection's next upload. On start, the runs of
dead processes are closed as `interrupted` first (indexing.close_dead_runs), then each interrupted upload job
whose originals are still stored is queued again under its own id, once (`RAG_JOB_RESUMES`), with a note saying
so. A conditional update makes one process of several that start together resume each; the claim that then
runs it skips the files already committed (no duplicate chunks) and counts the attempt, as for a worker's
takeover. A job followed by a later job of the same uploads is left as it is: that one walks the same stored
files (and was resumed itself, or finished, or was cancelled by someone since).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from sqlalchemy import select, update

from rag_service.db.models import Collection, IngestRun, utcnow
from rag_service.indexing import close_dead_runs
from rag_service.jobqueue.base import JobState, state_from_row
from rag_service.leases import run_owner
from rag_service.runtime import Runtime
from rag_service.storage import build_originals_store

log = logging.getLogger(__name__)

AFTER_SERVER_RESTART = "interrupted when its process stopped; resumed after the server restarted"
AFTER_WORKER_START = "interrupted when its process stopped; resumed when a worker started"


def resume_interrupted(
    runtime: Runtime, queue_name: str, enqueue: Callable[[JobState], None], note: str = AFTER_SERVER_RESTART
) -> list[int]:
    """Queue again, through `enqueue`, each interrupted upload job that may be resumed; their ids."""
    closed = close_dead_runs(runtime)
    if closed:
        log.warning("%d ingest runs of stopped processes marked interrupted", closed)
    limit = runtime.settings.job_resumes
    if limit <= 0:
        return []
    store = build_originals_store(runtime.settings)
    with runtime.sessions() as session:
        candidates = session.execute(
            select(IngestRun.id, IngestRun.collection_id, IngestRun.source, IngestRun.resumes)
            .where(IngestRun.status == "interrupted", IngestRun.resumes < limit)
            .order_by(IngestRun.id.desc())
        ).all()
    resumed: list[int] = []
    for run_id, collection_id, source, resumes in candidates:
        if not store.is_upload_source(source) or not store.stored(collection_id).has_files():
            continue
        with runtime.sessions() as session:
            later = session.scalar(
                select(IngestRun.id)
                .where(IngestRun.collection_id == collection_id, IngestRun.source == source, IngestRun.id > run_id)
                .limit(1)
            )
            if later is not None:
                continue
            won = session.execute(
                update(IngestRun)
                .where(IngestRun.id == run_id, IngestRun.status == "interrupted", IngestRun.resumes == resumes)
                .values(
                    status="queued",
                    resumes=resumes + 1,
                    resumed_at=utcnow(),
                    note=note,
                    error=None,
                    finished_at=None,
                    current="",
                    cancel_requested=False,
                    queue=queue_name,
                    # while queued in-process the row names this process, so a later start can tell it is dead
                    owner=None if queue_name == "celery" else run_owner(),
                )
                .execution_options(synchronize_session=False)
            ).rowcount
            session.commit()
            if not won:  # another process that started with this one took it
                continue
            run = session.get(IngestRun, run_id, populate_existing=True)
            collection = session.get(Collection, collection_id)
            if run is None or collection is None:
                continue
            state = state_from_row(run, collection.name, upload=True)
        log.warning("ingest job %s (collection %r): %s", run_id, state.collection, note)
        enqueue(state)
        resumed.append(run_id)
    return resumed
