"""Running one queued job, whichever queue hands it over: its row says what to ingest."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable
from pathlib import Path

from rag_service.db.models import Collection, IngestRun
from rag_service.errors import NotFoundError
from rag_service.indexing import IngestSummary, NotClaimedError, ProgressCallback, ingest_folder
from rag_service.leases import TERMINAL, Claim
from rag_service.runtime import Runtime
from rag_service.storage import local_folder_for


class SourceUnreadableError(Exception):
    """The job's folder is not readable where it runs (a sync path not mounted on this worker)."""


def run_job(
    runtime: Runtime,
    job_id: int,
    *,
    cancel: threading.Event,
    progress: ProgressCallback | None = None,
    on_start: Callable[[], None] | None = None,
    wait: bool = True,
    load_indexes: bool = True,
) -> IngestSummary:
    """Ingest what the job's row names into its collection (indexing.ingest_folder, which claims the row)."""
    with runtime.sessions() as session:
        run = session.get(IngestRun, job_id)
        if run is None:
            raise NotFoundError(f"no job {job_id}")
        collection = session.get(Collection, run.collection_id)
        if collection is None:
            raise NotFoundError(f"job {job_id}: its collection was deleted")
        source, sync, name = run.source, run.sync, collection.name
        if run.status in TERMINAL:  # a late duplicate: no need to fetch its originals (the claim would say so)
            raise NotClaimedError(Claim.GONE)
    folder = local_folder_for(runtime.settings, source)
    if not Path(folder).is_dir():
        raise SourceUnreadableError(
            f"{source} is not a folder readable on {socket.gethostname()}, where the job runs: every worker must "
            "see the synced folder at the same path (mount it there), and uploads must be in a shared "
            "RAG_UPLOADS_PATH or in RAG_UPLOADS_URL"
        )
    return ingest_folder(
        runtime,
        name,
        Path(folder),
        sync=sync,
        run_id=job_id,
        progress=progress,
        cancel=cancel,
        on_start=on_start,
        wait=wait,
        load_indexes=load_indexes,
    )
